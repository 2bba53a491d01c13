"""Leave-one-package-out evaluation: does the model learn the genre, or the package?

For every genre that comes from two or more packages, and every package P of it: train on all
tracks except P's (validation: a share of the remaining tracks of each genre), then measure how
many of P's windows are called P's genre (its recall), as float32 and full int8, at each input
gain. The macro mean over packages of a genre, then over genres, is the headline figure.

Track names carry their package as ``genre/<package>__<track>`` (see models/arrange_recordings.py).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import Dataset, Part, package_of
from .evaluate import converted_classifier, metrics
from .fit import FitConfig, fit
from .robustness import GAINS_DB, with_gain

log = logging.getLogger(__name__)

MODES = ("float32", "int8")


def pooled(data: Dataset) -> Part:
    """Every window of the dataset (train, validation and test) in one Part."""
    parts = (data.train, data.val, data.test)
    return Part(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                np.concatenate([p.track for p in parts]))


def held_out_packages(data: Dataset) -> dict[str, str]:
    """{package: genre} for every package whose genre comes from two or more packages."""
    by_genre: dict[str, set[str]] = {}
    for name, label in zip(data.tracks, data.track_labels, strict=True):
        by_genre.setdefault(data.labels[label], set()).add(package_of(name))
    return {p: g for g, ps in by_genre.items() if len(ps) >= 2 for p in sorted(ps)}


def _select(all_part: Part, track_ids: Sequence[int]) -> Part:
    m = np.isin(all_part.track, np.asarray(track_ids, dtype=np.int64))
    return Part(all_part.x[m], all_part.y[m], all_part.track[m])


def fold(data: Dataset, package: str, seed: int, val_fraction: float = 0.1) -> Dataset:
    """The dataset with ``package``'s tracks as the test set and none of them in training."""
    all_part = pooled(data)
    out_ids = [i for i, n in enumerate(data.tracks) if package_of(n) == package]
    keep = [i for i in range(len(data.tracks)) if i not in set(out_ids)]
    labels = np.asarray([data.track_labels[i] for i in keep])
    present = sorted(set(labels.tolist()))
    assign = ["train"] * len(keep)
    for gi in present:  # validation: val_fraction of each genre's remaining tracks (at least one)
        ids = [k for k in range(len(keep)) if labels[k] == gi]
        order = np.random.default_rng([seed, gi]).permutation(len(ids))
        for rank in range(max(1, round(val_fraction * len(ids)))):
            if len(ids) > 1:
                assign[ids[order[rank]]] = "val"
    train_ids = [keep[k] for k in range(len(keep)) if assign[k] == "train"]
    val_ids = [keep[k] for k in range(len(keep)) if assign[k] == "val"]
    return replace(data, train=_select(all_part, train_ids), val=_select(all_part, val_ids),
                   test=_select(all_part, out_ids),
                   split={"method": f"leave out package {package}"})


def _recall(pred: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, list[int]]:
    return float(np.mean(pred == y)), np.bincount(pred, minlength=n_classes).tolist()


# Longer context, as a subscriber gets it: the daemon's moving average of 5 windows at its 0.5-s
# hop spans the start times of 3 windows at the evaluation's 1-s hop; 30 is half a minute.
SMOOTHED_WINDOWS = (3, 30)


def smoothed_probabilities(probs: np.ndarray, track: np.ndarray, n: int) -> np.ndarray:
    """The causal moving average over each track's last ``n`` windows (windows are contiguous
    per track and in time order, as datasets.py builds them); a track's first windows average
    what there is so far. This is the average of the daemon's Smoother, computed for a whole
    track at once, without its silence gate and hysteresis (the recordings hold no silence)."""
    out = np.empty(probs.shape, dtype=np.float64)
    for t in np.unique(track):
        idx = np.flatnonzero(track == t)
        c = np.cumsum(np.vstack([np.zeros((1, probs.shape[1])), probs[idx]]), axis=0)
        ends = np.arange(1, len(idx) + 1)
        starts = np.maximum(0, ends - n)
        out[idx] = (c[ends] - c[starts]) / (ends - starts)[:, None]
    return out


def smoothed_predictions(probs: np.ndarray, track: np.ndarray, n: int) -> np.ndarray:
    """Top label of ``smoothed_probabilities`` (the recall is of the average's top label, not
    of declared genres)."""
    return smoothed_probabilities(probs, track, n).argmax(axis=1)


def longer_context(probs: np.ndarray, part: Part, labels: Sequence[str]) -> dict[str, Any]:
    """Recall of the smoothed decisions, and how many tracks the majority of windows gets right
    (the card's per-track rule: evaluate.metrics)."""
    out: dict[str, Any] = {f"smoothed_{n}": float(np.mean(
        smoothed_predictions(probs, part.track, n) == part.y)) for n in SMOOTHED_WINDOWS}
    tracks = metrics(probs.argmax(axis=1), part.y, labels, part.track)["tracks"]
    out["tracks_right"] = sum(t["correct"] for t in tracks.values())
    return out


def evaluate_fold(model: Any, data: Dataset, norm: Any, rate: int, seed: int,
                  workdir: Path, gains_db: Sequence[float] = GAINS_DB) -> dict[str, Any]:
    """Recall of the held-out package's genre on its windows, per quantization and gain."""
    out: dict[str, Any] = {}
    k = len(data.labels)
    for mode in MODES:
        clf = converted_classifier(model, mode, norm.apply(data.train.x), seed, data.labels,
                                   rate, norm, workdir / f"{mode}.tflite")
        by_gain = {}
        for g in gains_db:
            probs = clf.predict(with_gain(data.test.x, g))
            recall, counts = _recall(probs.argmax(axis=1), data.test.y, k)
            by_gain[f"{g:+g}"] = {"recall": recall,
                                  "predicted": dict(zip(data.labels, counts, strict=True)),
                                  **(longer_context(probs, data.test, data.labels) if g == 0 else {})}
        out[mode] = by_gain
    return out


def leave_package_out(data: Dataset, cfg: FitConfig, rate: int = 400,
                      packages: Sequence[str] | None = None,
                      progress: Callable[[str], None] | None = None,
                      gains_db: Sequence[float] = GAINS_DB) -> dict[str, Any]:
    """Train once per held-out package; returns per-package and per-genre (macro) recalls."""
    targets = held_out_packages(data)
    if packages:
        targets = {p: g for p, g in targets.items() if p in packages}
    results: dict[str, Any] = {}
    for package, genre in targets.items():
        started = time.monotonic()
        f = fold(data, package, cfg.seed)
        log.info("leave out %s (%s): %d test windows, %d training", package, genre, len(f.test),
                 len(f.train))
        if progress:
            progress(f"leave out {package}")
        res = fit(f, cfg, rate)
        with tempfile.TemporaryDirectory(prefix="genrecast-lopo-") as tmp:
            scores = evaluate_fold(res.model, f, res.config.normalisation, rate, cfg.seed,
                                   Path(tmp), gains_db)
        results[package] = {"genre": genre, "windows": len(f.test),
                            "tracks": len({int(t) for t in f.test.track}),
                            "epochs_run": len(res.history["loss"]),
                            "seconds": round(time.monotonic() - started, 1), **scores}
    return {"packages": results, **summarise(results)}


def genre_means(by_package: Mapping[str, float],
                genre_of: Mapping[str, str]) -> tuple[dict[str, float], float]:
    """The mean of each genre over its packages (genres sorted), and the macro mean over genres."""
    per_genre = {g: float(np.mean([v for p, v in by_package.items() if genre_of[p] == g]))
                 for g in sorted({genre_of[p] for p in by_package})}
    return per_genre, float(np.mean(list(per_genre.values()))) if per_genre else 0.0


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Per-genre means over packages, then the macro mean over genres, per mode and gain."""
    genre_of = {p: r["genre"] for p, r in results.items()}
    out: dict[str, Any] = {"genres": {g: {} for g in sorted(set(genre_of.values()))}, "macro": {}}
    for mode in MODES:
        gains = list(next(iter(results.values()))[mode]) if results else []
        macro = {}
        for gain in gains:
            per_genre, macro[gain] = genre_means(
                {p: r[mode][gain]["recall"] for p, r in results.items()}, genre_of)
            for g, value in per_genre.items():
                out["genres"][g].setdefault(mode, {})[gain] = value
        out["macro"][mode] = {**macro, "worst": min(macro.values()) if macro else 0.0}
        smoothed = {key: genre_means({p: r[mode]["+0"][key] for p, r in results.items()},
                                     genre_of)[1]
                    for key in (f"smoothed_{n}" for n in SMOOTHED_WINDOWS)
                    if results and all(key in r[mode].get("+0", {}) for r in results.values())}
        if smoothed:
            out["macro"][mode]["smoothed_0dB"] = smoothed
    return out
