"""Input normalisation named by the model card and applied in float before the model runs.

Why not only inside the graph: a full-int8 model quantizes its *input* tensor with one scale fixed
at conversion, so a window recorded 30 dB quieter than the calibration data keeps only a couple of
int8 steps. Normalising in float first (the same function in training and in the daemon) keeps the
model's input in the range it was calibrated on, whatever the microphone's level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from genrecast.daemon.errors import ModelError

METHODS = ("none", "rms")


@dataclass(frozen=True)
class Normalisation:
    """How a raw window is scaled before it enters the model."""

    method: str = "none"
    """``none``: raw samples in [-1, 1]; ``rms``: each window scaled to ``target_rms``."""
    target_rms: float = 0.1
    """RMS a window is scaled to (``rms`` only)."""
    floor_rms: float = 1e-4
    """Windows quieter than this (about -80 dBFS) are scaled as if they had this RMS, so digital
    silence and hiss are not blown up to full level."""

    def apply(self, windows: np.ndarray) -> np.ndarray:
        """Normalise windows (n × window or one window) in float32."""
        x = np.asarray(windows, dtype=np.float32)
        if self.method == "none":
            return x
        rms = np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=-1, keepdims=True))
        return (x * (self.target_rms / np.maximum(rms, self.floor_rms))).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        if self.method == "none":
            return {"method": "none"}
        return {"method": self.method, "target_rms": self.target_rms, "floor_rms": self.floor_rms}

    @classmethod
    def from_json(cls, data: Any) -> Normalisation:
        if not isinstance(data, dict) or data.get("method") not in METHODS:
            raise ModelError(
                f"model card normalisation {data!r} is not one of {METHODS}; "
                "rebuild the card with this version of genrecast"
            )
        try:
            return cls(
                method=data["method"],
                target_rms=float(data.get("target_rms", 0.1)),
                floor_rms=float(data.get("floor_rms", 1e-4)),
            )
        except (TypeError, ValueError) as exc:
            raise ModelError(f"model card normalisation has a bad number ({exc})") from exc
