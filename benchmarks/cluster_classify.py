"""``genrecast classify --cluster`` on one Ray worker node and on two, beside one host.

    nice python benchmarks/cluster_classify.py                       # 48 files of 60 s, 3 runs
    nice python benchmarks/cluster_classify.py --files 96 --seconds 120 --repeat 5

A real local Ray cluster (tests/support/ray_cluster.py: a head with no CPUs and worker nodes of
one CPU each, each its own ``ray start``); a library of FILES tracks cut from the demo recording
at random offsets (FLAC, 22.05 kHz); the default model, ``--summary``. Each round runs, side by
side: ``genrecast classify --threads 1`` on this host, ``classify --cluster`` with one worker
node, and (the second node added once, first) with two. Printed: the median seconds of each, audio
seconds classified per second, the ratio of two nodes to one, and whether every run printed the
same summary rows as the one-host run. The nodes share this host's cores with everything else,
so two one-CPU nodes can gain at most 2x here; a real cluster's nodes each bring their own.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.ray_cluster import RayCluster  # noqa: E402

DEMO = REPO / "daemon" / "demo" / "demo.ogg"


def make_library(folder: Path, files: int, seconds: float, seed: int = 1) -> None:
    audio, rate = sf.read(DEMO, dtype="float32")
    rng = np.random.default_rng(seed)
    need = int(seconds * rate)
    looped = np.tile(audio, -(-need // len(audio)) + 1)
    for i in range(files):
        start = int(rng.integers(0, len(audio)))
        sf.write(folder / f"track{i:03d}.flac", looped[start:start + need], rate)


def classify(*args: str) -> tuple[float, list[str]]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "genrecast.daemon.cli", "classify",
                           "--summary", *args], capture_output=True, text=True, check=True)
    return time.monotonic() - t0, proc.stdout.splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    audio_s = args.files * args.seconds
    with tempfile.TemporaryDirectory(prefix="cluster-classify-") as tmp:
        library = Path(tmp)
        make_library(library, args.files, args.seconds)
        cluster = RayCluster()
        times: dict[str, list[float]] = {"this host, 1 thread": [], "cluster, 1 node": [],
                                         "cluster, 2 nodes": []}
        same = True
        try:
            cluster.start_head()
            cluster.add_node("w1")
            for _ in range(args.repeat):
                t, rows = classify("--threads", "1", str(library))
                times["this host, 1 thread"].append(t)
                t, got = classify("--cluster", cluster.address, str(library))
                times["cluster, 1 node"].append(t)
                same &= got == rows
            cluster.add_node("w2")
            for _ in range(args.repeat):
                t, got = classify("--cluster", cluster.address, str(library))
                times["cluster, 2 nodes"].append(t)
                same &= got == rows
        finally:
            cluster.stop()
    print(f"{args.files} files x {args.seconds:g} s = {audio_s / 3600:.2f} h of audio, "
          f"default model, median of {args.repeat}")
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, t in medians.items():
        print(f"  {name:<22} {t:6.1f} s  {audio_s / t:7.0f} x real time   "
              f"(runs: {', '.join(f'{x:.1f}' for x in times[name])})")
    print(f"  two nodes / one node: {medians['cluster, 1 node'] / medians['cluster, 2 nodes']:.2f}x"
          f" faster; same summary rows in every run: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
