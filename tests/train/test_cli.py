"""The training commands through the real CLI entry point: bad data is one line and an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from genrecast.daemon.cli import main
from genrecast.daemon.errors import EXIT_DATA, EXIT_MODEL, EXIT_NO_INPUT

from .conftest import tone_file, write_npz


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"train": np.zeros((8, 1200), np.float32)}, "no array 'test'"),
        ({"train": np.zeros((8, 1000), np.float32), "test": np.zeros((4, 1000), np.float32)},
         "windows of 1200 samples"),
        ({"train": np.full((8, 1200), np.nan, np.float32), "test": np.zeros((4, 1200))}, "NaN"),
    ],
)
def test_train_bad_npz(tmp_path: Path, capsys: pytest.CaptureFixture[str], arrays: dict,
                       message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    code, err = run(["train", str(path), "--out", str(tmp_path / "m")], capsys)
    assert code == EXIT_DATA
    assert message in one_error_line(err)
    assert not (tmp_path / "m.tflite").exists()


def test_train_bad_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    code, err = run(["train", str(tmp_path / "empty"), "--out", str(tmp_path / "m")], capsys)
    assert code == EXIT_DATA and "genre subfolders" in one_error_line(err)
    for i in range(3):
        tone_file(tmp_path / "one" / "rock" / f"{i}.wav", 44_100, 4.0, 1, 90.0)
    code, err = run(["train", str(tmp_path / "one"), "--out", str(tmp_path / "m")], capsys)
    assert code == EXIT_DATA and "found: rock" in one_error_line(err)
    code, err = run(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")], capsys)
    assert code == EXIT_NO_INPUT and "does not exist" in one_error_line(err)


def test_evaluate_needs_a_carded_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(b"not a model")
    code, err = run(["evaluate", str(model), str(write_npz(tmp_path / "d.npz"))], capsys)
    assert code == EXIT_MODEL and "card" in one_error_line(err)


def test_help_does_not_import_tensorflow() -> None:
    code = ("import sys; from genrecast.daemon.cli import main; "
            "rc = main(['train', '--help']); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'; "
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "--out" in proc.stdout


def test_evaluate_prints_the_grouped_figure_beside_the_pooled_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--group-by folder: each artist sub-folder is one group; the grouped macro (per group,
    then per genre, then over genres) is printed beside the pooled windows' figure."""
    model = Path(__file__).resolve().parents[1] / "support" / "data" / "tone.tflite"
    for genre, freq in (("low", 50.0), ("high", 150.0)):
        for artist in ("one", "two"):
            tone_file(tmp_path / "music" / genre / artist / "a.wav", 8000, 4.0, 1, freq)
    # a "high" artist whose songs are low: its group is all wrong, the other all right
    tone_file(tmp_path / "music" / "high" / "three" / "a.wav", 8000, 4.0, 1, 50.0)
    code = main(["evaluate", str(model), str(tmp_path / "music"), "--all", "--group-by", "folder"])
    out = capsys.readouterr().out
    assert code == 0, out
    line = next(ln for ln in out.splitlines() if ln.startswith("grouped"))
    assert "5 groups" in line
    assert "high 67%" in line and "low 100%" in line and "macro recall 83.3%" in line
