"""Scores of a grouped leave-out: per package, per genre, macro; per track; calibration.

Works on out-of-fold predictions: every evidence-labelled window was predicted by the model of the
fold that held its package out. A package's figure is the share of its windows called its genre
(a package with tracks of several genres counts once per genre); a genre's, the mean over its
packages; the headline is the macro mean over genres. Per track: the genre the daemon's smoother
declares for most of the track (the moving average of its windows, see leave_out.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from genrecast.daemon.model.classifier import at_temperature

from .datasets import package_of
from .leave_out import genre_means, smoothed_predictions

# The daemon's default moving average (5 windows at its 0.5-s hop) spans 3 windows at the
# evaluation's 1-s hop.
TRACK_SMOOTH_WINDOWS = 3
ECE_BINS = 10
ECE_TARGET = 0.05
TEMPERATURES = np.round(np.arange(0.3, 8.01, 0.05), 2)


def units(tracks: Sequence[str], track_labels: Sequence[int], labels: Sequence[str],
          groups: Sequence[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """(unit of every track, {unit: genre}); units are packages, or ``groups`` when given."""
    keys = list(groups) if groups else [package_of(t) or t for t in tracks]
    genres_of: dict[str, set[int]] = {}
    for key, y in zip(keys, track_labels, strict=True):
        if y >= 0:  # -1: a track not scored here
            genres_of.setdefault(key, set()).add(int(y))
    out = [f"{key} ({labels[y]})" if len(genres_of.get(key, ())) > 1 else key
           for key, y in zip(keys, track_labels, strict=True)]
    return out, {u: labels[y] for u, y in zip(out, track_labels, strict=True) if y >= 0}


def grouped_figure(pred: np.ndarray, y: np.ndarray, track: np.ndarray,
                   tracks: Sequence[str], track_labels: Sequence[int], labels: Sequence[str],
                   groups: Sequence[str]) -> dict[str, Any]:
    """Per group the share of its windows right, per genre the mean over its groups, and the
    macro mean over genres: what a collection split by artist says, beside the pooled figure."""
    unit_of_track, genre_of = units(tracks, track_labels, labels, groups)
    per_unit = recalls(pred, y, track, unit_of_track)
    per_genre, macro = genre_means(per_unit, genre_of)
    return {"groups": per_unit, "genres": per_genre, "macro": macro,
            "n_groups": len(per_unit)}


def recalls(pred: np.ndarray, y: np.ndarray, track: np.ndarray, unit_of_track: Sequence[str]
            ) -> dict[str, float]:
    """{unit: share of its windows predicted as their label}."""
    per_window = np.asarray(unit_of_track)[track]
    return {u: float(np.mean(pred[per_window == u] == y[per_window == u]))
            for u in sorted(set(unit_of_track)) if np.any(per_window == u)}


def declared_per_track(probs: np.ndarray, track: np.ndarray) -> dict[int, int]:
    """{track: the label the smoothed decisions name most often over the track}."""
    smooth = smoothed_predictions(probs, track, TRACK_SMOOTH_WINDOWS)
    return {int(t): int(np.bincount(smooth[track == t]).argmax()) for t in np.unique(track)}


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of the top label: |accuracy - confidence| averaged over confidence bins, weighted."""
    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(right[m].mean() - conf[m].mean())
    return float(ece)


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``y`` (grid search)."""
    nll = [float(-np.mean(np.log(np.clip(at_temperature(probs, t)[np.arange(y.size), y],
                                         1e-9, 1.0)))) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(nll))])


def score(probs: np.ndarray, y: np.ndarray, track: np.ndarray, tracks: Sequence[str],
          track_labels: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Per unit, per genre, macro, per track, confusion and calibration of one set of
    out-of-fold probabilities."""
    unit_of_track, genre_of = units(tracks, track_labels, labels)
    pred = probs.argmax(axis=1)
    per_unit = recalls(pred, y, track, unit_of_track)
    per_genre, macro = genre_means(per_unit, genre_of)
    declared = declared_per_track(probs, track)
    tracks_right: dict[str, list[int]] = {g: [0, 0] for g in labels}
    for t, d in declared.items():
        g = labels[track_labels[t]]
        tracks_right[g][1] += 1
        tracks_right[g][0] += int(d == track_labels[t])
    conf = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    return {"units": {u: {"genre": genre_of[u], "recall": r} for u, r in per_unit.items()},
            "genres": per_genre, "macro": macro,
            "tracks_right": {g: {"right": r, "of": n} for g, (r, n) in tracks_right.items()},
            "confusion": conf.tolist(),
            "ece": expected_calibration_error(probs, y)}


def teacher_score(calls: dict[str, dict[str, int]], tracks: Sequence[str],
                  track_labels: Sequence[int], labels: Sequence[str],
                  taggable: Sequence[str] = ()) -> dict[str, Any]:
    """The teacher's zero-shot figure on the same units: the share of each unit's patches whose
    top genre is the unit's genre (``calls``: per track, patches per genre; genres the teacher
    has no tag for are left out)."""
    unit_of_track, genre_of = units(tracks, track_labels, labels)
    hits: dict[str, list[int]] = {}
    for name, unit, y in zip(tracks, unit_of_track, track_labels, strict=True):
        got = calls.get(name)
        if got is None:
            continue
        h = hits.setdefault(unit, [0, 0])
        h[0] += got.get(labels[y], 0)
        h[1] += sum(got.values())
    can_tag = set(taggable) or {g for cs in calls.values() for g in cs}
    per_unit = {u: h[0] / h[1] for u, h in hits.items() if h[1] and genre_of[u] in can_tag}
    per_genre, macro = genre_means(per_unit, genre_of)
    return {"units": per_unit, "genres": per_genre, "macro_of_its_genres": macro}
