"""Sliding windows over a model-rate stream: one window of ``window`` samples every ``hop`` samples.

Training (``chain.audio_to_windows``) and the live daemon (``chain.SourceDSP``) cut their windows
with this same class, so a file streamed through the daemon yields the windows training made.
"""

from __future__ import annotations

import numpy as np


class Windower:
    """Collect samples; yield ``(start_sample, window)`` each time a window is complete.

    The first window covers samples [0, window); the next starts ``hop`` samples later.
    """

    def __init__(self, window: int, hop: int) -> None:
        if window <= 0 or hop <= 0:
            raise ValueError("window and hop must be positive")
        self.window = int(window)
        self.hop = int(hop)
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute index of _buf[0]
        self._next_start = 0  # absolute start index of the next window

    @property
    def samples_seen(self) -> int:
        return self._buf_start + self._buf.size

    @property
    def next_window_end(self) -> int:
        """Absolute index one past the last sample of the next window."""
        return self._next_start + self.window

    def push(self, samples: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Add samples; return the windows they complete, oldest first (copies, float32)."""
        if samples.size:
            self._buf = np.concatenate((self._buf, samples.astype(np.float32, copy=False)))
        out = []
        end = self.samples_seen
        while self._next_start + self.window <= end:
            i = self._next_start - self._buf_start
            out.append((self._next_start, self._buf[i : i + self.window].copy()))
            self._next_start += self.hop
        # Keep only what the next window needs (a hop longer than the window skips samples).
        drop = min(self._next_start - self._buf_start, self._buf.size)
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return out

