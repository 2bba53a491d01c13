"""Built-in synthetic "genres" for tests and demos (never for accuracy claims).

Each genre is a family of signals generated directly at the model rate, with a random level per
track so loudness is no cue:
- ``classical``: sustained harmonic chords with slow swells and vibrato;
- ``rock``: a kick drum on the beat and a plucked square-wave bass line in eighth notes;
- ``electronic``: pulses of band-passed noise on a fast grid;
- ``genre<k>`` (k >= 3): tone bursts at a tempo and pitch proper to each genre.
"""

from __future__ import annotations

import numpy as np

BASE_LABELS = ("classical", "rock", "electronic")
SYNTHETIC_TRACK_SECONDS = 24.0
SYNTHETIC_TRACKS_PER_GENRE = 12


def synthetic_labels(n_genres: int) -> list[str]:
    return [BASE_LABELS[i] if i < len(BASE_LABELS) else f"genre{i}" for i in range(n_genres)]


def _classical(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / rate
    out = np.zeros(n)
    chord_s = rng.uniform(1.5, 3.0)
    for start in np.arange(0, n / rate, chord_s):
        root = rng.uniform(55.0, 110.0)
        env = np.clip(np.sin(np.pi * np.clip((t - start) / chord_s, 0, 1)), 0, None)
        for ratio in (1.0, 1.25, 1.5, 2.0):
            vib = 1 + 0.004 * np.sin(2 * np.pi * rng.uniform(4, 6) * t)
            for h, amp in ((1, 1.0), (2, 0.4), (3, 0.2)):
                f = root * ratio * h
                if f < rate / 2 - 10:
                    out += env * amp * np.sin(2 * np.pi * f * vib * t + rng.uniform(0, 6.3))
    return out


def _rock(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    beat = int(rate * 60 / rng.uniform(100, 160))
    out = np.zeros(n)
    kick_len = int(0.15 * rate)
    tk = np.arange(kick_len) / rate
    kick = np.sin(2 * np.pi * (60 * tk - 60 * tk**2)) * np.exp(-tk * 30)
    for s in range(0, n - kick_len, beat):
        out[s : s + kick_len] += 1.5 * kick
    eighth = beat // 2
    te = np.arange(eighth) / rate
    for s in range(0, n - eighth, eighth):
        f = rng.choice([41.2, 55.0, 61.7, 73.4, 82.4])
        out[s : s + eighth] += 0.6 * np.sign(np.sin(2 * np.pi * f * te)) * np.exp(-te * 6)
    return out


def _electronic(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    step = int(rate * 60 / rng.uniform(170, 200) / 4)
    noise = rng.standard_normal(n)
    smooth = np.convolve(noise, np.ones(4) / 4, mode="same") - np.convolve(
        noise, np.ones(16) / 16, mode="same")
    gate = np.zeros(n)
    for s in range(0, n, step):
        gate[s : s + step // 2] = np.exp(-np.arange(min(step // 2, n - s)) / (0.3 * step))
    return 3 * smooth * gate


def _bursts(n: int, rate: int, rng: np.random.Generator, k: int) -> np.ndarray:
    period = int(rate * (0.2 + 0.17 * k))
    f = 40.0 + 23.0 * k
    t = np.arange(n) / rate
    gate = ((np.arange(n) % period) < period // 3).astype(float)
    return gate * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))


def synthetic_track(genre: int, rate: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """One track of ``genre`` at ``rate``: float32 mono with a random level and a little noise."""
    n = int(seconds * rate)
    makers = (_classical, _rock, _electronic)
    sig = makers[genre](n, rate, rng) if genre < len(makers) else _bursts(n, rate, rng, genre)
    sig = sig / (np.sqrt(np.mean(sig**2)) + 1e-9)
    sig = sig + 0.05 * rng.standard_normal(n)
    level_db = rng.uniform(-30.0, -6.0)
    return (sig * 10 ** (level_db / 20) * 0.5).astype(np.float32)
