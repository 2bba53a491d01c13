"""The wide model: 16 kHz, a log-mel front end (what every music tagger uses), a small Conv2D.

Front end (fixed, no trainable weight, int8-friendly): 512-sample Hann frames (32 ms) every 256
samples, a real DFT as convolution filters (256 bins to 8 kHz), the L1 magnitude, 64 mel bands
(a fixed matrix), ``log(1 + C·mel)``. Every tensor of it is rounded to the grid full-int8
conversion will give it (architectures.SimulateInt8), so the float model is the int8 model's
twin. Back end: four batch-normalised Conv2D blocks (8, 16, 32, 32 filters) with 2×2 pooling,
global average and max pooling, dense 64, softmax; the log-mel frames are averaged in pairs
first (64-ms steps), which halves the back end's work.

Because the front end is fixed, training runs on its output: each window's log-mel patch is
computed once (``features``), the back end trains on patches (with time and frequency masks as
augmentation), and the two are joined into one model for export (``join``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .architectures import _LAYERS, BN_MOMENTUM, _keras, dft_kernels

log = logging.getLogger(__name__)

WIDE_RATE_HZ = 16000
WIDE_WINDOW = 3 * WIDE_RATE_HZ
FRAME_SAMPLES, HOP_SAMPLES, BINS, MELS = 512, 256, 256, 64
LOG_GAIN = 1.0  # C in log(1 + C·mel): keeps 1 + C·mel under ~30, so its int8 grid is fine (~0.1)
BACKEND_FILTERS = (8, 16, 32, 32)
TIME_POOL = 2


def mel_matrix(rate: int = WIDE_RATE_HZ, bins: int = BINS, mels: int = MELS,
               fmin_hz: float = 30.0) -> np.ndarray:
    """(bins, mels) triangular mel filters (HTK mel scale), each summing to one."""
    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    freqs = np.arange(bins) * rate / (2 * bins)
    edges = hz(np.linspace(mel(np.asarray(fmin_hz)), mel(np.asarray(rate / 2.0)), mels + 2))
    w = np.zeros((bins, mels))
    for m in range(mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        w[:, m] = np.clip(np.minimum(up, down), 0.0, None)
        if w[:, m].sum() == 0:  # a band narrower than a bin: take the nearest bin
            w[int(np.argmin(np.abs(freqs - mid))), m] = 1.0
        w[:, m] /= w[:, m].sum()
    return w.astype(np.float32)


def frames(window: int = WIDE_WINDOW) -> int:
    return (window - FRAME_SAMPLES) // HOP_SAMPLES + 1


def front_end(x: Any, window: int = WIDE_WINDOW) -> Any:
    """(batch, window) → (batch, frames, MELS) log-mel, from int8-friendly ops."""
    keras = _keras()
    layers = keras.layers
    taps = FRAME_SAMPLES // HOP_SAMPLES
    n = frames(window)
    used = (n + taps - 1) * HOP_SAMPLES
    if used < window:
        x = _LAYERS["KeepFirst"](used, name="crop")(x)
    x = layers.Reshape((used // HOP_SAMPLES, HOP_SAMPLES))(x)
    dft = layers.Conv1D(2 * BINS, taps, use_bias=False, trainable=False, name="fixed_dft")
    x = dft(x)
    dft.set_weights([dft_kernels(FRAME_SAMPLES, BINS).reshape(taps, HOP_SAMPLES, 2 * BINS)])
    x = _LAYERS["SimulateInt8"](name="int8_dft")(x)
    x = _LAYERS["L1Magnitude"](name="magnitude")(x)
    x = _LAYERS["SimulateInt8"](name="int8_magnitude")(x)
    mel = layers.Dense(MELS, use_bias=False, trainable=False, name="fixed_mel")
    x = mel(x)
    mel.set_weights([mel_matrix()])
    x = _LAYERS["SimulateInt8"](name="int8_mel")(x)
    x = layers.Rescaling(LOG_GAIN, offset=1.0, name="log_gain")(x)
    # Full int8 quantizes 1 + C·mel on a grid that starts at 0, so 1.0 itself is rounded (to the
    # first step above it, ~1.14): without this rounding in float too, the int8 log-mel was off by
    # 0.21 on average (18 %) and the int8 model lost 10 points of macro recall to float32.
    x = _LAYERS["SimulateInt8"](name="int8_log_input")(x)
    x = _LAYERS["Log"](name="log")(x)
    return _LAYERS["SimulateInt8"](name="int8_log")(x)


def build_front(window: int = WIDE_WINDOW, input_scale: float = 1.0) -> Any:
    keras = _keras()
    inp = keras.Input((window,), name="window")
    x = keras.layers.Rescaling(input_scale)(inp)
    return keras.Model(inp, front_end(x, window), name="wide_front")


def build_back(n_frames: int, n_classes: int) -> Any:
    keras = _keras()
    layers = keras.layers
    inp = keras.Input((n_frames, MELS), name="logmel")
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(inp)
    x = layers.AveragePooling1D(TIME_POOL, name="frame_average")(x)  # 64-ms steps: half the work
    x = layers.Reshape((n_frames // TIME_POOL, MELS, 1))(x)
    for filters in BACKEND_FILTERS:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inp, layers.Dense(n_classes, activation="softmax")(x), name="wide_back")


def join(front: Any, back: Any) -> Any:
    """One model, raw window → probabilities, for export and the daemon."""
    keras = _keras()
    return keras.Model(front.inputs[0], back(front.outputs[0]), name="wide")


def features(front: Any, windows: np.ndarray) -> np.ndarray:
    """Log-mel patches (float16, to keep an hour of windows in memory) of normalised windows."""
    out = front.predict(np.asarray(windows, dtype=np.float32), batch_size=128, verbose=0)
    return out.astype(np.float16)


def mask(batch: np.ndarray, rng: np.random.Generator, max_t: int = 24, max_f: int = 8
         ) -> np.ndarray:
    """SpecAugment-style: one random time band and one mel band per patch set to its mean."""
    out = batch.astype(np.float32, copy=True)
    n, t, f = out.shape
    fill = out.mean(axis=(1, 2), keepdims=True)
    for i in range(n):
        t0, tw = rng.integers(0, t), rng.integers(0, max_t + 1)
        f0, fw = rng.integers(0, f), rng.integers(0, max_f + 1)
        out[i, t0:t0 + tw, :] = fill[i]
        out[i, :, f0:f0 + fw] = fill[i]
    return out


def fit_back(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, n_classes: int,
             epochs: int, patience: int, seed: int, batch_size: int = 64) -> tuple[Any, int, int]:
    """Train the back end on log-mel patches; (model with the best validation weights, epochs
    run, best epoch). Class weights balance the genres."""
    from .fit import EarlyStopping, class_weights, set_determinism

    set_determinism(seed)
    keras = _keras()
    model = build_back(x.shape[1], n_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    weights = class_weights(y, n_classes)
    rng = np.random.default_rng(seed)
    stopping = EarlyStopping(model, patience)
    run = 0
    for epoch in range(epochs):
        run = epoch + 1
        model.fit(mask(x, rng), y, batch_size=batch_size, epochs=1, class_weight=weights,
                  verbose=0, shuffle=True)
        if len(x_val) == 0:  # nothing held out (a tiny corpus): every epoch runs, the last kept
            stopping.keep(run)
            continue
        val_loss = float(model.evaluate(x_val.astype(np.float32), y_val, batch_size=256,
                                        verbose=0)[0])
        log.info("wide epoch %d: validation loss %.3f", run, val_loss)
        if stopping.stop_after(run, val_loss):
            break
    stopping.restore()
    return model, run, stopping.best_epoch
