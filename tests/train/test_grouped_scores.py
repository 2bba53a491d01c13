"""Scores of a grouped leave-out, on arrays whose answers are known."""

from __future__ import annotations

import numpy as np
from genrecast.train.grouped_scores import (
    expected_calibration_error,
    fit_temperature,
    grouped_figure,
    score,
    teacher_score,
)

LABELS = ["a", "b"]
TRACKS = ["a/p1__t1", "a/p2__t2", "b/p3__t3", "b/p1__t4"]  # p1 has tracks of both genres
TRACK_LABELS = [0, 0, 1, 1]


def _probs(pred: list[int]) -> np.ndarray:
    return np.eye(2, dtype=np.float32)[pred] * 0.8 + 0.1


def test_per_package_genre_and_macro() -> None:
    track = np.repeat(np.arange(4), 4)
    y = np.repeat(TRACK_LABELS, 4)
    pred = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    s = score(_probs(pred), y, track, TRACKS, TRACK_LABELS, LABELS)
    assert s["units"]["p1 (a)"]["recall"] == 1.0
    assert s["units"]["p2"]["recall"] == 0.5
    assert s["units"]["p3"]["recall"] == 1.0
    assert s["units"]["p1 (b)"]["recall"] == 0.0
    assert s["genres"] == {"a": 0.75, "b": 0.5}
    assert s["macro"] == 0.625
    assert s["tracks_right"]["b"] == {"right": 1, "of": 2}
    assert s["confusion"] == [[6, 2], [4, 4]]


def test_grouped_figure_uses_the_groups_given() -> None:
    track = np.repeat(np.arange(4), 2)
    y = np.repeat(TRACK_LABELS, 2)
    pred = np.array([0, 0, 1, 1, 1, 1, 1, 1])
    g = grouped_figure(pred, y, track, TRACKS, TRACK_LABELS, LABELS, ["x", "y", "z", "z"])
    assert g["groups"] == {"x": 1.0, "y": 0.0, "z": 1.0}
    assert g["macro"] == 0.75 and g["n_groups"] == 3


def test_calibration_error_and_temperature() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    right = rng.random(4000) < 0.7  # 70 % right, but the model says 99 %
    pred = np.where(right, y, 1 - y)
    probs = np.where(np.eye(2)[pred] > 0, 0.99, 0.01)
    assert expected_calibration_error(probs, y) > 0.25
    t = fit_temperature(probs, y)
    assert t > 1.5
    from genrecast.daemon.model.classifier import at_temperature
    assert expected_calibration_error(at_temperature(probs, t), y) < 0.05


def test_teacher_scored_on_its_genres_only() -> None:
    labels = ["a", "b", "chiptune"]
    tracks = ["a/p1__t", "chiptune/p2__t"]
    out = teacher_score({"a/p1__t": {"a": 3, "b": 1}, "chiptune/p2__t": {"a": 1}}, tracks,
                        [0, 2], labels)
    assert out["units"] == {"p1": 0.75}
    assert out["macro_of_its_genres"] == 0.75
