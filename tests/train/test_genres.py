"""The five-genre data table, leave-one-package-out folds, and evaluation on test-only data."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from genrecast.models.arrange_recordings import load_table, package_of
from genrecast.train.datasets import Part, load_dataset
from genrecast.train.leave_out import (
    fold,
    held_out_packages,
    longer_context,
    smoothed_predictions,
    summarise,
)
from genrecast.train.progress import EpochProgress, quiet_tensorflow

from .conftest import tone_file, write_npz

GENRES = {"classical", "rock", "electronic", "ambient", "chiptune"}
MODELS = Path(__file__).resolve().parents[2] / "models"


def test_recordings_table_labels_every_track_it_uses() -> None:
    tracks = load_table()
    used = [t for t in tracks if not t.left_out]
    assert {t.genre for t in used} == GENRES
    for t in tracks:
        assert t.package and t.path and t.licence and t.why, t
        assert package_of(f"{t.genre}/{t.name}.flac") == t.package
    left = {Path(t.path).name for t in tracks if t.left_out and t.package == "widelands-data"}
    assert {"ingame_15.ogg", "ingame_16.ogg", "ingame_17.ogg", "ingame_28.ogg", "menu.ogg"} <= left
    # Copies never enter: no supertuxkart *_fast track, no tecnoballz area1-game2 variant.
    names = {Path(t.path).name for t in used}
    assert not any(n.endswith("_fast.ogg") or n == "farm_f.ogg" for n in names)
    assert "area1-game2.mod" not in names


@pytest.fixture
def package_folder(tmp_path: Path) -> Path:
    """Two genres: 'a' from packages p1 and p2 (3 tracks each), 'b' from p3 (4 tracks)."""
    root = tmp_path / "music"
    specs = [("a", "p1")] * 3 + [("a", "p2")] * 3 + [("b", "p3")] * 4
    for i, (genre, pkg) in enumerate(specs):
        tone_file(root / genre / f"{pkg}__t{i}.wav", 8000, 6.0, 1, 60.0 + 11 * i)
    return root


def test_leave_package_out_fold_keeps_the_package_out_of_training(package_folder: Path) -> None:
    data = load_dataset(str(package_folder), rate=400, window=1200, hop=400)
    assert held_out_packages(data) == {"p1": "a", "p2": "a"}  # b has one package: no fold
    f = fold(data, "p1", seed=0)
    names = lambda part: {package_of(data.tracks[t]) for t in set(part.track.tolist())}  # noqa: E731
    assert names(f.test) == {"p1"}
    assert "p1" not in names(f.train) | names(f.val)
    assert set(f.train.y.tolist()) == {0, 1} and len(f.val) > 0
    total = len(data.train) + len(data.val) + len(data.test)
    assert len(f.train) + len(f.val) + len(f.test) == total


def test_summary_is_the_macro_mean_over_genres() -> None:
    def r(genre: str, recall: float) -> dict:
        by = {"+0": {"recall": recall}, "-30": {"recall": recall / 2}}
        return {"genre": genre, "float32": by, "int8": by}

    s = summarise({"p1": r("a", 0.8), "p2": r("a", 0.4), "p3": r("b", 1.0)})
    assert s["genres"]["a"]["int8"]["+0"] == pytest.approx(0.6)
    assert s["macro"]["int8"]["+0"] == pytest.approx(0.8)
    assert s["macro"]["int8"]["worst"] == pytest.approx(0.4)


def test_smoothing_is_causal_within_each_track_and_outvotes_stray_windows() -> None:
    a, b, weak_b = [0.9, 0.1], [0.2, 0.8], [0.45, 0.55]
    # Track 0: label 0 with two windows astray; track 1 (label 1) starts with a weak window that
    # track 0's last windows would outvote if the average ran across the boundary.
    probs = np.array([a, b, a, a, b, a, weak_b, b, b], dtype=np.float64)
    track = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    assert smoothed_predictions(probs, track, 1).tolist() == probs.argmax(1).tolist()
    # Over 3 windows the strays are outvoted; track 1's first window sees only itself (no
    # carry-over from track 0's windows), so it is label 1 at once.
    assert smoothed_predictions(probs, track, 3).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1]
    part = Part(np.zeros((9, 4)), np.array([0] * 6 + [1] * 3), track)
    ctx = longer_context(probs, part, ("a", "b"))
    assert ctx["smoothed_3"] == 1.0 and ctx["tracks_right"] == 2
    assert ctx["smoothed_30"] == 1.0


def test_test_only_npz_and_all_tracks(tmp_path: Path, genre_folder: Path) -> None:
    path = write_npz(tmp_path / "t.npz", train=np.zeros((0, 1200), np.float32))
    d = load_dataset(str(path), test_only=True)
    assert len(d.train) == 0 and len(d.test) == 20
    with pytest.raises(Exception, match="fewer than two windows"):
        load_dataset(str(path))  # training still needs its windows
    everything = load_dataset(str(genre_folder), all_tracks=True)
    assert len(everything.train) == 0 and len(everything.tracks) == 6
    assert len(set(everything.test.track.tolist())) == 6


@pytest.mark.slow
def test_evaluate_a_test_only_npz_through_the_cli(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "t.npz", train=np.zeros((0, 1200), np.float32))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-m", "genrecast.daemon.cli", "evaluate",
                           str(MODELS / "classical-rock.tflite"), str(path), "--json"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["n"] == 20


def test_progress_without_a_terminal_is_one_line_per_epoch(
        capsys: pytest.CaptureFixture[str]) -> None:
    with EpochProgress(3, "training x on cpu", live=False) as p:
        p.update(1, 0.5, 0.25)
        p.update(2, 0.4, 0.5)
    err = capsys.readouterr().err.splitlines()
    assert err == ["training x on cpu: epoch 1/3: loss 0.5000  val acc 25.0%",
                   "training x on cpu: epoch 2/3: loss 0.4000  val acc 50.0%"]


def test_tensorflow_is_quiet_unless_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    quiet_tensorflow(verbose=False)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert logging.getLogger("tensorflow").level == logging.ERROR
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    quiet_tensorflow(verbose=True)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
