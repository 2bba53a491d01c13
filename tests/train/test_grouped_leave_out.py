"""Grouped leave-out: no fold's model hears its packages (evidence or teacher), every evidence
window is predicted exactly once, and the recipe runs end to end with real training."""

from __future__ import annotations

import numpy as np
import pytest
from genrecast.train.datasets import Dataset, Part
from genrecast.train.fit import FitConfig
from genrecast.train.grouped_leave_out import Corpus, fold_dataset, grouped_leave_out
from genrecast.train.grouping import assign_folds

LABELS = ["a", "b"]


def _dataset(tracks: list[str], labels: list[int], per_track: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    x, y, t = [], [], []
    for i, c in enumerate(labels):
        freq = (50.0 if c == 0 else 150.0) + rng.random() * 10
        n = np.arange(1200) / 400
        for k in range(per_track):
            x.append(0.3 * np.sin(2 * np.pi * freq * n + k) + 0.01 * rng.standard_normal(1200))
            y.append(c)
            t.append(i)
    part = Part(np.asarray(x, np.float32), np.asarray(y), np.asarray(t))
    empty = Part(part.x[:0], part.y[:0], part.track[:0])
    return Dataset(labels=LABELS, train=part, val=empty, test=empty, kind="folder",
                   source="t", tracks=tracks, track_labels=labels)


def _corpus(per_track: int = 3) -> Corpus:
    tracks = [f"{'ab'[i % 2]}/pkg{i // 2}__t{i}" for i in range(16)]  # 8 packages, 2 tracks
    labels = [i % 2 for i in range(16)]
    ev = _dataset(tracks, labels, per_track, 0)
    teacher_tracks = [f"a/pkg{k}__extra" for k in range(8)] + ["b/other__x"]
    te = _dataset(teacher_tracks, [0] * 8 + [1], per_track, 1)
    return Corpus(ev, [t.split("/")[1].split("__")[0] for t in tracks], te,
                  [t.split("/")[1].split("__")[0] for t in teacher_tracks])


def test_no_fold_trains_on_the_packages_it_tests() -> None:
    corpus = _corpus()
    fold_of = assign_folds(corpus.evidence_groups, corpus.evidence.track_labels, 4, 0)
    tested = []
    for f in range(4):
        data = fold_dataset(corpus, fold_of, f, 0)
        test_groups = {corpus.evidence_groups[i] for i in np.unique(data.test.track)}
        n_ev = len(corpus.evidence.tracks)
        heard = {corpus.evidence_groups[i] for i in np.unique(data.train.track) if i < n_ev}
        heard |= {corpus.teacher_groups[i - n_ev] for i in np.unique(data.train.track)
                  if i >= n_ev}
        heard |= {corpus.evidence_groups[i] for i in np.unique(data.val.track)}
        assert not test_groups & heard, f
        assert "other" in heard  # teacher packages that are tested nowhere always train
        tested += list(np.unique(data.test.track))
    assert sorted(tested) == list(range(16))  # every evidence track tested exactly once


@pytest.mark.slow
def test_grouped_leave_out_runs_with_real_training() -> None:
    cfg = FitConfig(arch="specnet", epochs=2, patience=2, seed=0, augment=False)
    result = grouped_leave_out(_corpus(per_track=6), cfg, rate=400, k=2, gains_db=(0.0, 6.0))
    s = result["scores"]
    assert set(s) == {"float32", "int8"} and set(s["int8"]) == {"+0", "+6"}
    units = s["int8"]["+0"]["units"]
    assert len(units) == 16  # each package has a track of each genre: scored once per genre
    assert all(0.0 <= u["recall"] <= 1.0 for u in units.values())
    assert 0.0 <= result["macro"]["int8"]["+0"] <= 1.0
    assert sum(f["test_windows"] for f in result["folds"]) == 16 * 6
    cal = result["calibration"]["int8"]
    assert cal["temperature"] > 0
    for side in ("before", "after"):
        assert 0.0 <= cal["decisions"][side]["share_above"] <= 1.0
        assert cal["decisions"][side]["threshold"] == 0.6
