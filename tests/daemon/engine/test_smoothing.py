from __future__ import annotations

import numpy as np
from genrecast.daemon.engine.smoothing import Smoother, rms_dbfs
from genrecast.daemon.settings import DecisionSettings

LABELS = ("classical", "rock")
ROCK = np.array([0.1, 0.9])
CLASSICAL = np.array([0.9, 0.1])


def run(smoother: Smoother, seq: list[np.ndarray], level: float = -20.0) -> list[str | None]:
    changes = []
    for i, p in enumerate(seq):
        d = smoother.update(p, level, float(i))
        if d.changed:
            changes.append(d.genre)
    return changes


def test_declares_after_min_windows_and_ignores_single_outliers() -> None:
    s = Smoother(LABELS, DecisionSettings(smooth_windows=3, threshold=0.6, min_windows=3))
    seq = [ROCK] * 6 + [CLASSICAL] + [ROCK] * 4 + [CLASSICAL] * 8
    assert run(s, seq) == ["rock", "classical"]


def test_first_decision_needs_min_windows() -> None:
    s = Smoother(LABELS, DecisionSettings(smooth_windows=1, threshold=0.6, min_windows=4))
    decisions = [s.update(ROCK, -20.0, float(i)) for i in range(4)]
    assert [d.genre for d in decisions] == [None, None, None, "rock"]
    assert decisions[-1].previous is None and decisions[-1].previous_duration_s is None


def test_previous_duration_is_measured_in_stream_seconds() -> None:
    s = Smoother(LABELS, DecisionSettings(smooth_windows=1, threshold=0.6, min_windows=1))
    s.update(ROCK, -20.0, 3.0)
    d = s.update(CLASSICAL, -20.0, 10.5)
    assert d.changed and d.previous == "rock" and d.previous_duration_s == 7.5


def test_below_threshold_keeps_the_current_genre() -> None:
    s = Smoother(LABELS, DecisionSettings(smooth_windows=1, threshold=0.95, min_windows=1))
    assert run(s, [np.array([0.0, 1.0])] + [np.array([0.6, 0.4])] * 10) == ["rock"]


def test_per_label_threshold() -> None:
    settings = DecisionSettings(smooth_windows=1, threshold=0.6, min_windows=1,
                                label_thresholds={"rock": 0.95})
    assert run(Smoother(LABELS, settings), [ROCK] * 5) == []
    assert run(Smoother(LABELS, settings), [CLASSICAL] * 5) == ["classical"]


def test_silence_gate_reports_silence_not_a_genre() -> None:
    s = Smoother(LABELS, DecisionSettings(smooth_windows=3, min_windows=2, silence_db=-50))
    changes = []
    for i, level in enumerate([-20.0] * 5 + [-70.0] * 4 + [-20.0] * 5):
        d = s.update(ROCK if i < 9 else CLASSICAL, level, float(i))
        assert d.silent == (level < -50)
        if d.changed:
            changes.append(d.genre)
    assert changes == ["rock", "silence", "classical"]


def test_rms_dbfs() -> None:
    assert abs(rms_dbfs(np.full(100, 0.1, dtype=np.float32)) - (-20.0)) < 1e-4
    assert rms_dbfs(np.zeros(100, dtype=np.float32)) == -200.0
