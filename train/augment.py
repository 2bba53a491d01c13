"""Augmentation of raw windows (before normalisation), drawn afresh every epoch.

What a microphone next to a speaker adds, each applied to a random share of the windows:
gain (-35..+8 dB), additive noise (10..40 dB SNR), a small room's reverberation (exponentially
decaying noise, RT60 0.2..0.6 s), a band-limited speaker (high-pass 40..120 Hz), a circular time
shift, and mixing with another window of the same class (a second voice of the same genre).
Labels never change, so class weights stay valid.

``PRODUCTION`` adds what differs between one game's soundtrack and another's of the same genre
(mastering, not music), so a model cannot tell packages apart by it: a spectral tilt (±4 dB per
octave), a random band limit (low-pass at 35..95% of Nyquist), dynamic-range compression (ratio
2..8) and longer halls (RT60 up to 1.5 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal


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
    tilt_prob: float = 0.0
    tilt_db_per_octave: tuple[float, float] = (-4.0, 4.0)
    lowpass_prob: float = 0.0
    lowpass_nyquist_share: tuple[float, float] = (0.35, 0.95)
    compress_prob: float = 0.0
    compress_ratio: tuple[float, float] = (2.0, 8.0)
    compress_threshold_db: tuple[float, float] = (-20.0, -6.0)
    """Below each window's envelope peak."""


MICROPHONE = AugmentConfig()
PRODUCTION = AugmentConfig(reverb_prob=0.3, rt60_s=(0.2, 1.5), tilt_prob=0.5, lowpass_prob=0.3,
                           compress_prob=0.3)
PRESETS = {"microphone": MICROPHONE, "production": PRODUCTION}
COMPRESS_ATTACK_S = 0.05  # the compressor's envelope: a moving RMS over this long


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


def equalise(x: np.ndarray, tilt_db_per_octave: np.ndarray, lowpass_hz: np.ndarray | None,
             rate: int) -> np.ndarray:
    """Zero-phase EQ of each window: a spectral tilt pivoting at a quarter of Nyquist
    (``tilt_db_per_octave`` per window; below 1/32 of Nyquist the gain stays flat), and
    where ``lowpass_hz`` is given, a 2nd-order Butterworth-shaped low-pass magnitude."""
    n = x.shape[-1]
    f = np.fft.rfftfreq(n, 1.0 / rate)
    nyquist = rate / 2
    octaves = np.log2(np.maximum(f, nyquist / 32) / (nyquist / 4))
    gain_db = np.asarray(tilt_db_per_octave).reshape(-1, 1) * octaves[None, :]
    response = 10 ** (gain_db / 20)
    if lowpass_hz is not None:
        fc = np.asarray(lowpass_hz).reshape(-1, 1)
        response = response / np.sqrt(1 + (f[None, :] / fc) ** 4)
    return np.fft.irfft(np.fft.rfft(x, axis=-1) * response, n=n, axis=-1)


def compress(x: np.ndarray, ratio: np.ndarray, threshold_db: np.ndarray,
             rate: int) -> np.ndarray:
    """Feed-forward compression: above ``threshold_db`` (relative to each window's loudest
    moment) the moving-RMS envelope's level rises 1/``ratio`` as fast; the window's RMS is kept."""
    width = max(1, int(COMPRESS_ATTACK_S * rate))
    power = ndimage.uniform_filter1d(np.square(x), width, axis=-1, mode="nearest")
    env_db = 10 * np.log10(power + 1e-12)
    thr = env_db.max(axis=-1, keepdims=True) + np.asarray(threshold_db).reshape(-1, 1)
    over = np.maximum(env_db - thr, 0.0)
    out = x * 10 ** (-over * (1 - 1 / np.asarray(ratio).reshape(-1, 1)) / 20)
    return out * _rms(x) / _rms(out)


def _chosen(n: int, prob: float, rng: np.random.Generator) -> np.ndarray:
    """A random share ``prob`` of ``n`` windows (a mask); draws nothing when ``prob`` is 0."""
    return rng.random(n) < prob if prob > 0 else np.zeros(n, dtype=bool)


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
    # Drawn only when enabled, so the default recipe's random stream (and model) is unchanged.
    tilt = _chosen(n, cfg.tilt_prob, rng)
    low = _chosen(n, cfg.lowpass_prob, rng)
    eq = np.flatnonzero(tilt | low)
    if eq.size:
        slopes = np.where(tilt[eq], rng.uniform(*cfg.tilt_db_per_octave, size=eq.size), 0.0)
        cutoff = np.where(low[eq], rng.uniform(*cfg.lowpass_nyquist_share, size=eq.size),
                          np.inf) * rate / 2
        out[eq] = equalise(out[eq], slopes, cutoff, rate)
    comp = np.flatnonzero(_chosen(n, cfg.compress_prob, rng))
    if comp.size:
        out[comp] = compress(out[comp], rng.uniform(*cfg.compress_ratio, size=comp.size),
                             rng.uniform(*cfg.compress_threshold_db, size=comp.size), rate)
    noisy = np.flatnonzero(rng.random(n) < cfg.noise_prob)
    if noisy.size:
        out[noisy] = add_noise(out[noisy], rng.uniform(*cfg.noise_snr_db, size=noisy.size), rng)
    out *= 10 ** (rng.uniform(*cfg.gain_db, size=(n, 1)) / 20)
    return np.clip(out, -1.0, 1.0).astype(np.float32)
