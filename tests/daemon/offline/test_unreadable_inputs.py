"""One rule for inputs that cannot be read: a missing file, an unreadable file (named or found)
and a folder that cannot be listed (named, or met by ``--recursive``) are each reported on their
own line in their own words and skipped; the others are classified; the run exits at the end
with 66. (Before: an unreadable folder was skipped silently, an unreadable file aborted the batch
worded as bad audio.) Root runs it without the capabilities that let it read everything."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from genrecast.daemon.errors import EXIT_NO_INPUT

from tests.support.common import genrecast_cmd, tone

ROOT_WITHOUT_DAC = shutil.which("setpriv") or "setpriv"


@pytest.fixture
def library() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="genrecast-unreadable-"))  # not pytest's 0700 folder
    try:
        root.chmod(0o755)
        sf.write(root / "a_low.wav", tone(50, 4, 16_000, 1), 16_000)
        sf.write(root / "b_secret.wav", tone(50, 4, 16_000, 1), 16_000)
        (root / "b_secret.wav").chmod(0o000)
        locked = root / "c_locked"
        locked.mkdir()
        sf.write(locked / "d_low.wav", tone(50, 4, 16_000, 1), 16_000)
        locked.chmod(0o000)
        yield root
    finally:
        (root / "c_locked").chmod(0o755)
        shutil.rmtree(root)


def _classify_unprivileged(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = genrecast_cmd("classify", *args)
    if os.getuid() == 0:  # util-linux's setpriv: root, but bound by file permissions
        cmd = [ROOT_WITHOUT_DAC, "--bounding-set=-dac_override,-dac_read_search", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(os.getuid() == 0 and shutil.which("setpriv") is None,
                    reason="root needs setpriv (util-linux) to be bound by permissions")
def test_unreadable_and_missing_inputs_are_reported_skipped_and_counted(
        library: Path, tone_model: Path) -> None:
    proc = _classify_unprivileged(str(library), str(library / "b_secret.wav"),
                                  str(library / "gone.wav"), "--recursive", "--summary",
                                  "--model", str(tone_model))
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert any("c_locked" in e and "permission denied" in e for e in errors), proc.stderr
    assert any("b_secret.wav" in e and "permission denied" in e for e in errors), errors
    assert any("gone.wav" in e and "does not exist" in e for e in errors), errors
    assert not any("decode" in e or "audio data" in e for e in errors), errors  # right words
    assert "a_low.wav" in proc.stdout  # the readable file was classified
    assert errors[-1].startswith("error: 4 of "), errors  # b_secret twice: found and named
    assert proc.returncode == EXIT_NO_INPUT, proc.stderr
