"""Grouped k-fold leave-out: every evidence-labelled package is tested exactly once, by a model that
never heard it, its composer's other packages, or any teacher-labelled track of them.

Evidence tracks (the only ones scored) and teacher-labelled tracks (training only) carry their
group (grouping.py). Groups are spread over k folds (assign_folds); for fold f, the model trains on
every group outside f, stops early on held-out *groups* of its training side (never on tracks of
the packages it trains on: that rewards learning the packages), and predicts every window of f.
The out-of-fold predictions are then scored by grouped_scores.score, as float32 and full int8 and
at each input gain.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from genrecast.daemon.model.classifier import at_temperature
from genrecast.daemon.settings import DecisionSettings

from .datasets import Dataset, Part
from .evaluate import converted_classifier
from .fit import FitConfig, fit
from .grouped_scores import TRACK_SMOOTH_WINDOWS, fit_temperature, score
from .grouping import assign_folds, group_names, validation_tracks
from .leave_out import MODES, pooled, smoothed_probabilities
from .robustness import with_gain

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = DecisionSettings().threshold  # the daemon's --threshold



@dataclass
class Corpus:
    """Every window of the evidence tracks and of the teacher-labelled tracks, with groups."""

    evidence: Dataset
    evidence_groups: list[str]
    teacher: Dataset | None = None
    teacher_groups: list[str] | None = None

    @property
    def labels(self) -> list[str]:
        return self.evidence.labels


def grouped(evidence: Dataset, teacher: Dataset | None,
            group_map: Mapping[str, str]) -> Corpus:
    """The corpus of an evidence set and an optional teacher set (its classes mapped onto the
    evidence's), every track grouped by its package, merged by ``group_map`` (composer groups)."""
    corpus = Corpus(evidence, group_names(evidence.tracks, "package", group_map=group_map))
    if teacher is not None:
        corpus.teacher = relabel(teacher, evidence.labels)
        corpus.teacher_groups = group_names(teacher.tracks, "package", group_map=group_map)
    return corpus


def relabel(data: Dataset, labels: Sequence[str]) -> Dataset:
    """``data`` with its class indices mapped onto ``labels`` (a teacher set lacks chiptune)."""
    index = np.asarray([list(labels).index(name) for name in data.labels])
    every = pooled(data)
    part = Part(every.x, index[every.y], every.track)
    empty = Part(every.x[:0], every.y[:0], every.track[:0])
    return replace(data, labels=list(labels), train=part, val=empty, test=empty,
                   track_labels=[int(index[t]) for t in data.track_labels])


def _windows(part: Part, track_ids: set[int]) -> Part:
    m = np.isin(part.track, np.fromiter(track_ids, dtype=np.int64, count=len(track_ids)))
    return Part(part.x[m], part.y[m], part.track[m])


def fold_dataset(corpus: Corpus, fold_of: Mapping[str, int], f: int, seed: int) -> Dataset:
    ev, groups = corpus.evidence, corpus.evidence_groups
    every = pooled(ev)
    test_ids = {i for i, g in enumerate(groups) if fold_of[g] == f}
    train_groups: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        if i not in test_ids:
            train_groups.setdefault(g, []).append(i)
    windows_of = dict(zip(*np.unique(every.track, return_counts=True), strict=True))
    val_ids = validation_tracks(train_groups, ev.track_labels,
                                {int(k): int(v) for k, v in windows_of.items()}, seed + f)
    train_ids = {i for ts in train_groups.values() for i in ts} - val_ids
    train = _windows(every, train_ids)
    if corpus.teacher is not None and corpus.teacher_groups is not None:
        test_groups = {groups[i] for i in test_ids}
        keep = {i for i, g in enumerate(corpus.teacher_groups) if g not in test_groups}
        extra = _windows(pooled(corpus.teacher), keep)
        offset = len(ev.tracks)  # teacher track ids after the evidence ones
        train = Part(np.concatenate([train.x, extra.x]), np.concatenate([train.y, extra.y]),
                     np.concatenate([train.track, extra.track + offset]))
    return replace(ev, train=train, val=_windows(every, val_ids), test=_windows(every, test_ids),
                   split={"method": f"grouped fold {f}"})


def predict_fold(model: Any, data: Dataset, norm: Any, rate: int, seed: int, workdir: Path,
                 gains_db: Sequence[float]) -> dict[str, dict[str, np.ndarray]]:
    """{mode: {gain: probabilities of the fold's test windows}}."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for mode in MODES:
        clf = converted_classifier(model, mode, norm.apply(data.train.x[:4000]), seed,
                                   data.labels, rate, norm, workdir / f"{mode}.tflite")
        out[mode] = {f"{g:+g}": clf.predict(with_gain(data.test.x, g)) for g in gains_db}
    return out


def grouped_leave_out(corpus: Corpus, cfg: FitConfig, rate: int, k: int = 5,
                      gains_db: Sequence[float] = (-30.0, 0.0, 6.0)) -> dict[str, Any]:
    """Train k models; score the out-of-fold predictions of every evidence window."""
    ev = corpus.evidence
    fold_of = assign_folds(corpus.evidence_groups, ev.track_labels, k, cfg.seed)
    every = pooled(ev)
    probs: dict[str, dict[str, np.ndarray]] = {}
    folds = []
    for f in range(k):
        started = time.monotonic()
        data = fold_dataset(corpus, fold_of, f, cfg.seed)
        log.info("fold %d/%d: %d test windows (%d groups), %d training, %d validation", f + 1, k,
                 len(data.test), sum(1 for v in fold_of.values() if v == f), len(data.train),
                 len(data.val))
        res = fit(data, cfg, rate)
        with tempfile.TemporaryDirectory(prefix="genrecast-grouped-") as tmp:
            got = predict_fold(res.model, data, res.config.normalisation, rate, cfg.seed,
                               Path(tmp), gains_db)
        for mode, by_gain in got.items():
            for gain, p in by_gain.items():
                dest = probs.setdefault(mode, {}).setdefault(
                    gain, np.zeros((len(every), len(ev.labels)), np.float32))
                dest[np.isin(every.track, np.unique(data.test.track))] = p
        folds.append({"fold": f, "groups": sorted(g for g, v in fold_of.items() if v == f),
                      "test_windows": len(data.test), "train_windows": len(data.train),
                      "epochs_run": len(res.history["loss"]), "best_epoch": res.best_epoch,
                      "seconds": round(time.monotonic() - started, 1)})
    return summarise(probs, every, ev, folds, k)


def decisions(probs: np.ndarray, every: Part) -> dict[str, float]:
    """What the smoother's threshold does with these probabilities: the share of windows whose
    moving average (TRACK_SMOOTH_WINDOWS) has its top label at or above the daemon's default
    threshold, and how often that label is right."""
    smooth = smoothed_probabilities(probs, every.track, TRACK_SMOOTH_WINDOWS)
    sure = smooth.max(axis=1) >= DEFAULT_THRESHOLD
    right = smooth.argmax(axis=1) == every.y
    return {"threshold": DEFAULT_THRESHOLD, "share_above": float(sure.mean()),
            "right_when_above": float(right[sure].mean()) if sure.any() else 0.0}


def summarise(probs: Mapping[str, Mapping[str, np.ndarray]], every: Part, ev: Dataset,
              folds: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """Scores per mode and gain; calibration (temperature fitted on the out-of-fold float32)."""
    result: dict[str, Any] = {"k": k, "folds": folds, "scores": {}}
    for mode, by_gain in probs.items():
        for gain, p in by_gain.items():
            result["scores"].setdefault(mode, {})[gain] = score(
                p, every.y, every.track, ev.tracks, ev.track_labels, ev.labels)
    for mode in probs:
        zero = probs[mode]["+0"]
        t = fit_temperature(zero, every.y)
        calibrated = score(at_temperature(zero, t), every.y, every.track, ev.tracks,
                           ev.track_labels, ev.labels)
        result.setdefault("calibration", {})[mode] = {
            "ece": result["scores"][mode]["+0"]["ece"], "temperature": t,
            "ece_calibrated": calibrated["ece"], "macro_calibrated": calibrated["macro"],
            "decisions": {"before": decisions(zero, every), "after": decisions(
                at_temperature(zero, t), every)}}
    result["macro"] = {m: {g: s["macro"] for g, s in by.items()}
                       for m, by in result["scores"].items()}
    return result
