"""``genrecast classify --cluster`` on a real Ray cluster, on one worker node and then on two,
side by side with ``genrecast classify`` on this host: the same summary rows, the same line for
the file that cannot be read and the same exit code; the time of each is printed (the figures
with more files are ``benchmarks/cluster_classify.py``'s)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support.common import TONE_MODEL
from tests.support.daemon_proc import genrecast

FILES = 12
RATE_HZ = 16_000


def _library(folder: Path) -> Path:
    """Tone files the tone model tells apart (low, high, and changing halfway), one bad file."""
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(FILES):
        seconds = 8 + int(rng.integers(0, 8))
        t = np.arange(seconds * RATE_HZ) / RATE_HZ
        low, high = 0.3 * np.sin(2 * np.pi * 50 * t), 0.3 * np.sin(2 * np.pi * 150 * t)
        x = (low, high, np.where(t < seconds / 2, low, high))[i % 3]
        sf.write(folder / f"track{i:02d}.wav", x.astype(np.float32), RATE_HZ)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    return folder


def _classify(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    proc = subprocess.run(genrecast("classify", "--summary", "--model", str(TONE_MODEL), *args),
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    return proc, time.monotonic() - t0


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.slow
def test_the_same_rows_on_one_host_one_node_and_two(tmp_path: Path, ray_cluster: object) -> None:
    from tests.support.ray_cluster import RayCluster

    assert isinstance(ray_cluster, RayCluster)
    library = _library(tmp_path / "library")
    local, local_s = _classify("--threads", "1", str(library))
    one, one_s = _classify("--cluster", ray_cluster.address, str(library))
    if "w2" not in ray_cluster.sessions:
        ray_cluster.add_node("w2")
    two, two_s = _classify("--cluster", ray_cluster.address, str(library))
    print(f"\n{FILES} files: this host {local_s:.1f} s, one node {one_s:.1f} s, "
          f"two nodes {two_s:.1f} s")
    rows = local.stdout.splitlines()
    assert len(rows) == FILES + 1, local.stderr  # the header and one row per readable file
    assert one.stdout.splitlines() == rows, one.stderr
    assert two.stdout.splitlines() == rows, two.stderr
    assert local.returncode == one.returncode == two.returncode == 65
    assert _errors(one.stderr) == _errors(two.stderr) == _errors(local.stderr)
    assert any("broken.wav" in line for line in _errors(local.stderr))
