"""Augmentation of raw windows (before normalisation), drawn afresh every epoch.

What a microphone next to a speaker adds, each applied to a random share of the windows:
gain (-35..+8 dB), additive noise (10..40 dB SNR), a small room's reverberation (exponentially
decaying noise, RT60 0.2..0.6 s), a band-limited speaker (high-pass 40..120 Hz), a circular time
shift, and mixing with another window of the same class (a second voice of the same genre).
Labels never change, so class weights stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class AugmentConfig:
    gain_db: tuple[float, float] = (-35.0, 8.0)
    noise_prob: float = 0.3
    noise_snr_db: tuple[float, float] = (10.0, 40.0)
    reverb_prob: float = 0.2
    rt60_s: tuple[float, float] = (0.2, 0.6)
    highpass_prob: float = 0.2
    highpass_hz: tuple[float, float] = (40.0, 120.0)
    shift_prob: float = 0.5
    mix_prob: float = 0.15
    mix_gain_db: tuple[float, float] = (-12.0, 0.0)


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=-1, keepdims=True)) + 1e-12


def add_noise(x: np.ndarray, snr_db: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White noise at ``snr_db`` (per window) below each window's RMS."""
    noise = rng.standard_normal(x.shape)
    return x + noise * _rms(x) / 10 ** (np.asarray(snr_db).reshape(-1, 1) / 20)


def room_impulse(rt60_s: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A small room: direct sound plus exponentially decaying noise (-60 dB at ``rt60_s``)."""
    n = max(2, int(rt60_s * rate))
    t = np.arange(n) / rate
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s) * 0.3
    ir[0] = 1.0
    return ir / np.sqrt(np.sum(ir**2))


def reverberate(x: np.ndarray, rt60_s: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    ir = room_impulse(rt60_s, rate, rng)
    return signal.fftconvolve(x, ir[None, :], axes=-1)[:, : x.shape[-1]]


def highpass(x: np.ndarray, cutoff_hz: float, rate: int) -> np.ndarray:
    """A small speaker: 2nd-order Butterworth high-pass (no low bass)."""
    sos = signal.butter(2, cutoff_hz, btype="highpass", fs=rate, output="sos")
    return signal.sosfilt(sos, x, axis=-1)


def augment(x: np.ndarray, y: np.ndarray, rate: int, rng: np.random.Generator,
            cfg: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """A randomly degraded copy of raw windows ``x`` (n × window), float32."""
    out = np.array(x, dtype=np.float64)
    n = out.shape[0]
    if cfg.mix_prob > 0:
        for c in np.unique(y):
            ids = np.flatnonzero(y == c)
            pick = ids[rng.random(ids.size) < cfg.mix_prob]
            partner = rng.choice(ids, size=pick.size)
            g = 10 ** (rng.uniform(*cfg.mix_gain_db, size=(pick.size, 1)) / 20)
            out[pick] += g * x[partner]
    shift = rng.random(n) < cfg.shift_prob
    for i in np.flatnonzero(shift):
        out[i] = np.roll(out[i], rng.integers(out.shape[1]))
    rev = np.flatnonzero(rng.random(n) < cfg.reverb_prob)
    # A few impulse responses per epoch, each shared by a group of windows (fast convolution).
    for group in np.array_split(rev, 8):
        if group.size:
            out[group] = reverberate(out[group], rng.uniform(*cfg.rt60_s), rate, rng)
    hp = np.flatnonzero(rng.random(n) < cfg.highpass_prob)
    for group in np.array_split(hp, 8):
        if group.size:
            out[group] = highpass(out[group], rng.uniform(*cfg.highpass_hz), rate)
    noisy = np.flatnonzero(rng.random(n) < cfg.noise_prob)
    if noisy.size:
        out[noisy] = add_noise(out[noisy], rng.uniform(*cfg.noise_snr_db, size=noisy.size), rng)
    out *= 10 ** (rng.uniform(*cfg.gain_db, size=(n, 1)) / 20)
    return np.clip(out, -1.0, 1.0).astype(np.float32)
