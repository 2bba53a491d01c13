"""Smoothing and decisions: moving average, hysteresis and the silence gate, per source.

A window's probabilities join a moving average over ``smooth_windows`` windows. A genre is declared
only after the smoothed top label has stayed above its threshold for ``min_windows`` consecutive
windows, so one odd window inside a track never flips the decision. Windows below the silence gate
do not enter the average; ``min_windows`` silent windows in a row declare ``silence`` and clear the
average, so the next track starts from a clean slate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from genrecast.daemon.settings import DecisionSettings
from genrecast.daemon.wire.events import SILENCE

RMS_FLOOR = 1e-10  # avoids log(0) for digital silence (-200 dBFS)


def rms_dbfs(window: np.ndarray) -> float:
    """RMS level of a window in dB relative to full scale (a full-scale sine is -3 dBFS)."""
    w = np.asarray(window, dtype=np.float64).ravel()
    rms = float(np.sqrt(np.dot(w, w) / max(w.size, 1)))  # a dot product: 4× cheaper than mean(square)
    return 20.0 * float(np.log10(max(rms, RMS_FLOOR)))


@dataclass(frozen=True)
class Decision:
    """What one window changed."""

    smoothed: np.ndarray
    """Smoothed probabilities after this window (zeros while silent)."""
    silent: bool
    genre: str | None
    """The decided genre after this window (None until the first decision)."""
    changed: bool
    previous: str | None
    confidence: float
    previous_duration_s: float | None


class Smoother:
    """Per-source decision state; ``update`` once per window in stream order."""

    def __init__(self, labels: tuple[str, ...], settings: DecisionSettings) -> None:
        self.labels = labels
        self.settings = settings
        # The last smooth_windows probability rows, as one array used as a ring: the mean is one
        # reduction over it (np.mean over a deque of rows rebuilt an array on every window).
        self._history = np.zeros((max(1, settings.smooth_windows), len(labels)), dtype=np.float64)
        self._count = 0
        self._next = 0
        self._thresholds = np.array([settings.threshold_for(x) for x in labels], dtype=np.float64)
        self.genre: str | None = None
        self._genre_since_s: float | None = None
        self._pending: str | None = None
        self._pending_count = 0

    def set_threshold(self, threshold: float) -> None:
        """A new base threshold for this source (per-label thresholds still take precedence);
        the average and the current decision stay."""
        self.settings = replace(self.settings, threshold=threshold)
        self._thresholds = np.array([self.settings.threshold_for(x) for x in self.labels],
                                    dtype=np.float64)

    def _clear_history(self) -> None:
        self._count = 0
        self._next = 0

    def reset(self) -> None:
        """Forget the average and the pending candidate (after a gap in the stream)."""
        self._clear_history()
        self._pending = None
        self._pending_count = 0

    def update(self, probs: np.ndarray, level_dbfs: float, end_s: float) -> Decision:
        silent = level_dbfs < self.settings.silence_db
        confidence = 1.0
        if silent:
            smoothed = np.zeros(len(self.labels), dtype=np.float64)
            candidate: str | None = SILENCE
        else:
            self._history[self._next] = probs
            self._next = (self._next + 1) % self._history.shape[0]
            self._count = min(self._count + 1, self._history.shape[0])
            smoothed = self._history[: self._count].sum(axis=0) / self._count
            top = int(np.argmax(smoothed))
            confidence = float(smoothed[top])
            candidate = self.labels[top] if smoothed[top] >= self._thresholds[top] else None

        if candidate is None or candidate == self.genre:
            self._pending, self._pending_count = None, 0
        elif candidate == self._pending:
            self._pending_count += 1
        else:
            self._pending, self._pending_count = candidate, 1

        changed = False
        previous = self.genre
        previous_duration: float | None = None
        if self._pending is not None and self._pending_count >= self.settings.min_windows:
            changed = True
            if self._genre_since_s is not None and previous is not None:
                previous_duration = max(0.0, end_s - self._genre_since_s)
            self.genre = self._pending
            self._genre_since_s = end_s
            self._pending, self._pending_count = None, 0
            if self.genre == SILENCE:
                self._clear_history()
        return Decision(
            smoothed=smoothed.astype(np.float32),
            silent=silent,
            genre=self.genre,
            changed=changed,
            previous=previous,
            confidence=min(1.0, confidence),
            previous_duration_s=previous_duration,
        )
