"""Which hand-made features of a 400 Hz window tell genres apart across packages?

A linear probe (softmax regression on standardised features, class-balanced) scored
leave-one-package-out, as benchmarks/leave_package_out.py scores the network: train without
package P, report the recall of P's genre on P, the mean over a genre's packages, then over
genres. It runs in minutes instead of the network's ten trainings, so a feature idea can be
checked before it is built into a model. Prints one line per feature set.

``--track-norm`` subtracts each track's mean of every feature first (what a stream-level running
mean would do in the daemon: "normalisation beyond level", removing a recording's fixed EQ and
production along with whatever of the genre is constant over the track).

    python benchmarks/feature_probe.py build/recordings5 [--track-norm]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from genrecast.train.cache import AudioCache
from genrecast.train.datasets import load_dataset, package_of
from genrecast.train.leave_out import genre_means, held_out_packages, pooled
from numpy.lib.stride_tricks import sliding_window_view

FRAME, HOP, BANDS = 128, 16, 16  # the models' front-end geometry at 400 Hz; 16 log-spaced bands
ONSET_LAGS = 40  # onset autocorrelation up to 1.6 s (40 frames of 40 ms)
EPS = 1e-9


def features(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-window feature groups of RMS-normalised windows (n × 1200)."""
    x = x.astype(np.float64)
    x /= np.sqrt(np.mean(x**2, axis=1, keepdims=True)) + EPS
    frames = sliding_window_view(x, FRAME, axis=1)[:, ::HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=-1)) ** 2  # n, frames, bins
    log_power = np.log(power + 1e-6)
    edges = np.unique(np.round(np.geomspace(1, power.shape[-1], BANDS + 1)).astype(int))
    bands = np.stack([np.log(power[..., a:b].sum(-1) + 1e-6)
                      for a, b in zip(edges[:-1], edges[1:], strict=True)], axis=-1)
    onset = np.maximum(np.diff(log_power, axis=1), 0).mean(-1)  # spectral flux per frame
    centred = onset - onset.mean(1, keepdims=True)
    energy = np.mean(centred**2, axis=1) + EPS
    autocorr = np.stack([np.mean(centred[:, :-k] * centred[:, k:], axis=1) / energy
                         for k in range(1, ONSET_LAGS)], axis=1)
    # Modulation spectrum: how fast each quarter of the bands' levels changes (0.7-12 Hz).
    level = bands - bands.mean(1, keepdims=True)
    mod = np.abs(np.fft.rfft(level * np.hanning(level.shape[1])[None, :, None], axis=1))[:, 1:]
    quarters = np.array_split(np.arange(bands.shape[-1]), 4)
    modulation = np.log(np.stack([mod[..., q].mean(-1) for q in quarters], -1) + 1e-6)
    spec = log_power - log_power.mean(-1, keepdims=True)
    norms = np.linalg.norm(spec, axis=-1) + EPS
    similarity = np.sum(spec[:, 1:] * spec[:, :-1], axis=-1) / (norms[:, 1:] * norms[:, :-1])
    flatness = np.exp(np.log(power + 1e-12).mean(-1)) / (power.mean(-1) + 1e-12)
    return {
        "band levels": bands.mean(1),
        "band spread": bands.std(1),
        "band flux": np.abs(np.diff(bands, axis=1)).mean(1),
        "onset autocorrelation": np.column_stack([autocorr, onset.mean(1), onset.std(1),
                                                  autocorr.max(1)]),
        "modulation spectrum": modulation.reshape(len(x), -1),
        "stationarity": np.column_stack([similarity.mean(1), similarity.std(1),
                                         flatness.mean(1), flatness.std(1)]),
    }


def fit_softmax(x: np.ndarray, y: np.ndarray, k: int, weight: np.ndarray, l2: float = 1e-3,
                steps: int = 300, lr: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Weighted softmax regression by full-batch Adam."""
    w, b = np.zeros((x.shape[1], k)), np.zeros(k)
    onehot = np.eye(k)[y]
    moments: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros_like(w), np.zeros_like(w)),
                                                    (np.zeros_like(b), np.zeros_like(b))]
    for t in range(1, steps + 1):
        z = x @ w + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) * (weight / weight.sum())[:, None]
        grads = (x.T @ g + l2 * w, g.sum(0))
        for param, grad, (m, v) in zip((w, b), grads, moments, strict=True):
            m[:] = 0.9 * m + 0.1 * grad
            v[:] = 0.999 * v + 0.001 * grad**2
            param -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w, b


def probe_leave_package_out(x: np.ndarray, y: np.ndarray, packages: np.ndarray,
                            targets: dict[str, str], labels: list[str]) -> dict[str, float]:
    """The probe's recall per held-out package, then ``genre: mean`` and ``macro``."""
    out: dict[str, float] = {}
    for package, genre in targets.items():
        train, test = packages != package, packages == package
        mu, sd = x[train].mean(0), x[train].std(0) + EPS
        z = (x - mu) / sd
        counts = np.bincount(y[train], minlength=len(labels))
        w, b = fit_softmax(z[train], y[train], len(labels), 1.0 / counts[y[train]])
        out[package] = float(np.mean((z[test] @ w + b).argmax(1) == labels.index(genre)))
    per_genre, out["macro"] = genre_means(dict(out), targets)
    return {**out, **per_genre}


def per_track_centred(x: np.ndarray, track: np.ndarray) -> np.ndarray:
    """Each track's windows minus that track's mean feature vector."""
    out = x.copy()
    for t in np.unique(track):
        m = track == t
        out[m] -= x[m].mean(0)
    return out


SETS = {
    "band levels (the issue's probe)": ["band levels"],
    "band levels, spread and flux": ["band levels", "band spread", "band flux"],
    "onset autocorrelation (rhythm)": ["onset autocorrelation"],
    "modulation spectrum": ["modulation spectrum"],
    "temporal only (no band levels)": ["band spread", "band flux", "onset autocorrelation",
                                       "modulation spectrum", "stationarity"],
    "all": ["band levels", "band spread", "band flux", "onset autocorrelation",
            "modulation spectrum", "stationarity"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="genre folders (models/rebuild_default.sh)")
    ap.add_argument("--track-norm", action="store_true",
                    help="subtract each track's mean feature vector (stream-level normalisation)")
    args = ap.parse_args()
    started = time.monotonic()
    data = load_dataset(str(args.data), rate=400, window=1200, hop=400, cache=AudioCache())
    every = pooled(data)
    packages = np.asarray([package_of(data.tracks[t]) for t in every.track])
    targets = held_out_packages(data)
    groups = features(every.x)
    genres = sorted(set(targets.values()))
    print(f"{every.x.shape[0]} windows, {len(targets)} held-out packages; "
          f"macro recall and per genre ({', '.join(genres)}); chance 0.20", file=sys.stderr)
    for name, keys in SETS.items():
        x = np.column_stack([groups[k] for k in keys])
        if args.track_norm:
            x = per_track_centred(x, every.track)
        r = probe_leave_package_out(x, every.y, packages, targets, list(data.labels))
        per = " / ".join(f"{r[g]:.2f}" for g in genres)
        print(f"{name:34s} macro {r['macro']:.2f}  ({per})", flush=True)
    print(f"{time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
