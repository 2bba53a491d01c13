"""What a room and a microphone do to the sound: gains and degradations for evaluation."""

from __future__ import annotations

import numpy as np

from .augment import add_noise, highpass, reverberate

GAINS_DB = (-30.0, -20.0, -10.0, 0.0, 6.0)
EVAL_ROOM_RT60_S = 0.5
EVAL_SPEAKER_HIGHPASS_HZ = 100.0  # a small speaker reproduces little below ~100 Hz


def with_gain(x: np.ndarray, gain_db: float) -> np.ndarray:
    """Raw windows at ``gain_db``, clipped to full scale as a real input would be."""
    return np.clip(x * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32)


def degradations(x: np.ndarray, rate: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Named degraded copies of raw windows (same seed, same copies)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    return {
        "noise_20db_snr": add_noise(x, np.full(n, 20.0), rng).astype(np.float32),
        "noise_10db_snr": add_noise(x, np.full(n, 10.0), rng).astype(np.float32),
        "room_reverb_rt60_0.5s": reverberate(x, EVAL_ROOM_RT60_S, rate, rng).astype(np.float32),
        "speaker_highpass_100hz": highpass(x, EVAL_SPEAKER_HIGHPASS_HZ, rate).astype(np.float32),
    }
