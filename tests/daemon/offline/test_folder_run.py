"""``genrecast classify FOLDER``: many files in one process, a broken one reported and skipped."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from genrecast.daemon.model.card import load_card

from tests.support.common import genrecast_cmd, low_high, tone

TIMEOUT_S = 180


def gc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(genrecast_cmd(*args), capture_output=True, text=True, timeout=TIMEOUT_S,
                          check=False)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tones at several rates and formats, a broken file sorted into the middle, a subfolder."""
    root = tmp_path_factory.mktemp("library")
    sf.write(root / "a_low_high.wav", low_high(48_000, 2), 48_000, subtype="PCM_16")
    sf.write(root / "b_low.flac", tone(50, 12, 22_050, 1), 22_050)
    (root / "c_broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(3000))
    sf.write(root / "d_high.ogg", tone(150, 12, 44_100, 2), 44_100, format="OGG",
             subtype="VORBIS")
    (root / "notes.txt").write_text("not audio")
    sub = root / "sub"
    sub.mkdir()
    sf.write(sub / "e_low_high.wav", low_high(16_000, 1), 16_000)
    return root


def _summary(stdout: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(stdout)))


def test_broken_file_in_the_middle_is_reported_skipped_and_counted(library: Path,
                                                                   tone_model: Path) -> None:
    proc = gc("classify", str(library), "--summary", "--model", str(tone_model))
    rows = _summary(proc.stdout)
    assert [Path(r["file"]).name for r in rows] == ["a_low_high.wav", "b_low.flac", "d_high.ogg"]
    assert [r["genre"] for r in rows[1:]] == ["low", "high"]
    assert rows[0]["change_list"] == "4.0:low 14.0:high"  # the smoother's changes
    assert float(rows[0]["duration_s"]) == 20.0 and int(rows[0]["windows"]) == 35
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("error: ") and "c_broken.wav" in lines[0]
    assert lines[1].startswith("error: 1 of 4 files could not be classified")
    assert proc.returncode == 65  # the broken file's code (bad data), given at the end


def test_recursive_and_results_equal_one_file_at_a_time(library: Path, tone_model: Path) -> None:
    proc = gc("classify", str(library), "--recursive", "--json", "--model", str(tone_model))
    assert proc.returncode == 65
    events = [json.loads(x) for x in proc.stdout.splitlines()]
    files = list(dict.fromkeys(Path(e["file"]).name for e in events))
    assert files == ["a_low_high.wav", "b_low.flac", "d_high.ogg", "e_low_high.wav"]
    # Windows of several files share LiteRT batches and two files decode at once: each file's
    # output must still be exactly what classifying it alone prints.
    for name in ("a_low_high.wav", "e_low_high.wav"):
        path = next(library.rglob(name))
        alone = gc("classify", str(path), "--json", "--threads", "1", "--model", str(tone_model))
        assert alone.returncode == 0, alone.stderr
        mine = [json.dumps(e) for e in events if Path(e["file"]).name == name]
        assert mine == alone.stdout.splitlines()


def test_ffmpeg_formats_stream_too(library: Path, tone_model: Path, tmp_path: Path) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    m4a = tmp_path / "low_high.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(library / "a_low_high.wav"), "-c:a", "aac",
                    str(m4a)], check=True, timeout=60)
    proc = gc("classify", str(m4a), "--summary", "--json", "--model", str(tone_model))
    assert proc.returncode == 0, proc.stderr
    (row,) = [json.loads(x) for x in proc.stdout.splitlines()]
    labels = load_card(tone_model).labels
    assert [c["genre"] for c in row["changes"]] == ["low", "high"]
    assert set(row["shares"]) == set(labels) and 19.9 < row["duration_s"] < 20.2


def test_progress_bar_only_on_a_terminal(library: Path, tone_model: Path) -> None:
    wav = str(library / "a_low_high.wav")
    quiet = gc("classify", wav, wav, "--summary", "--model", str(tone_model))
    assert quiet.returncode == 0 and quiet.stderr == ""
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(genrecast_cmd("classify", wav, wav, "--summary", "--model",
                                              str(tone_model)), stdout=subprocess.PIPE,
                                stderr=secondary, env=dict(os.environ, COLUMNS="120", TERM="xterm"))
        os.close(secondary)
        seen = b""
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not data:
                break
            seen += data
        stdout = proc.communicate(timeout=TIMEOUT_S)[0].decode()
    finally:
        os.close(primary)
    assert proc.returncode == 0
    text = seen.decode(errors="replace")
    assert "2/2 files" in text and "real time" in text and "h of audio" in text
    assert len(_summary(stdout)) == 2  # stdout stays the plain table


def test_silence_only_file_is_decided_silence(tone_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros(8000 * 10, dtype=np.float32), 8000)
    proc = gc("classify", str(path), "--summary", "--model", str(tone_model))
    assert proc.returncode == 0, proc.stderr
    (row,) = _summary(proc.stdout)
    assert row["genre"] == "silence" and row["silent_windows"] == row["windows"] == "15"
