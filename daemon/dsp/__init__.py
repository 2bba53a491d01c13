"""The one DSP path shared by training and the live daemon: downmix, resample, window, normalise."""
