"""Memory is bounded by the batch, not the file: a 2-hour file classified under a hard limit."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.support.common import tone

RATE_HZ = 8_000
HOURS = 2.0
MARGIN_BYTES = 100 * 2**20  # address space allowed beyond what a 10-s file needed
TIMEOUT_S = 300

# In the child: classify a short file (every thread, interpreter and library is then loaded), cap
# the address space a little above the peak so far, prove the cap is below what the decoded long
# file alone would take, then classify the long file under it.
CHILD = """
import re, resource, sys
import numpy as np
from genrecast.daemon.cli.main import main
short, long_path, model, frames = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
args = ["--summary", "--model", model, "--threads", "2", "--hop", "1"]
assert main(["classify", short, *args]) == 0
status = open("/proc/self/status").read()
peak = int(re.search(r"VmPeak:\\s+(\\d+) kB", status).group(1)) * 1024
limit = peak + int(sys.argv[5])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    np.ones(frames, dtype=np.float32)  # the long file decoded whole, at its own rate
except MemoryError:
    print("whole-file decode would not fit", file=sys.stderr)
sys.stdout.flush()
sys.exit(main(["classify", long_path, *args]))
"""


def _long_file(path: Path) -> int:
    """Alternating 10-minute low and high tones, 16-bit mono, written a minute at a time."""
    minute = RATE_HZ * 60
    with sf.SoundFile(path, "w", RATE_HZ, 1, subtype="PCM_16") as f:
        for m in range(int(HOURS * 60)):
            f.write(tone(50 if (m // 10) % 2 == 0 else 150, 60, RATE_HZ, 1))
    return int(HOURS * 60) * minute


def test_two_hour_file_under_a_memory_limit(tone_model: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    sf.write(short, tone(50, 10, RATE_HZ, 1), RATE_HZ)
    long_path = tmp_path / "two_hours.wav"
    frames = _long_file(long_path)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(short), str(long_path),
                           str(tone_model), str(frames), str(MARGIN_BYTES)],
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert "whole-file decode would not fit" in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout.split("\n", 2)[2])))
    (row,) = [r for r in rows if r["file"] == str(long_path)]
    assert float(row["duration_s"]) == HOURS * 3600
    assert int(row["windows"]) == int(HOURS * 3600) - 2  # a window of 3 s every second
    # 12 tones of 10 minutes: the smoother follows each change.
    genres = [c.split(":")[1] for c in row["change_list"].split()]
    assert genres == ["low", "high"] * 6
    assert np.isclose(float(row["share_low"]), 0.5, atol=0.01)


def test_streamed_16_bit_blocks_equal_libsndfile_floats(tmp_path: Path) -> None:
    """16-bit PCM is read as integers and scaled in numpy: the very floats libsndfile returns."""
    from genrecast.daemon.audio.decode import iter_audio_blocks, read_audio

    rng = np.random.default_rng(7)
    pcm = rng.integers(-32768, 32768, size=(50_000, 2), dtype=np.int16)
    pcm[:4] = [[-32768, 32767], [0, -1], [1, 0], [-32768, -32768]]
    for name in ("full.wav", "full.flac"):
        path = tmp_path / name
        sf.write(path, pcm, 44_100, subtype="PCM_16")
        whole, _ = read_audio(path)
        _, _, blocks = iter_audio_blocks(path, 4096)
        streamed = np.concatenate(list(blocks))
        assert streamed.dtype == np.float32
        np.testing.assert_array_equal(streamed, whole)
