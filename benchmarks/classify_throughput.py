"""Offline ``genrecast classify`` against the plain script a user would write, side by side.

    python benchmarks/classify_throughput.py [--model M] [--repeat 3] [--data DIR] [--quick]
    python benchmarks/classify_throughput.py --stages [FILES...]      # in-process, per stage

Builds its data from the demo recording in a temporary folder (or ``--data DIR``, kept for the
next run): a 10-minute 48 kHz stereo WAV, a 2-hour 44.1 kHz stereo MP3, and a folder of 200 files
of 3 to 6 minutes in WAV, FLAC, Ogg Vorbis and MP3 at 22.05, 44.1 and 48 kHz, mono and stereo.
Each case runs ``genrecast classify`` (per-window CSV for single files, ``--summary`` for the
folder) and ``benchmarks/plain_classify.py`` (ffmpeg + numpy + LiteRT) in turn, on the same files
and model, and prints the median wall time, × real time and peak memory of each and their
ratio. Peak memory is the largest resident set of any one process of the command (its own, or a
child's such as ffmpeg or the model probe): ``ru_maxrss`` from ``wait4``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from genrecast.daemon.cli.demo import DEMO_AUDIO

REPO = Path(__file__).resolve().parents[1]
LIGHT_MODEL = REPO / "models" / "classical-rock-specnet.tflite"
PLAIN = REPO / "benchmarks" / "plain_classify.py"
FORMATS = ("wav", "flac", "ogg", "mp3")
RATES_HZ = (22_050, 44_100, 48_000)
FOLDER_FILES = 200
BASE_S = 360  # the longest folder file; shorter ones are cut from it
LONG_PART_S = 360  # the 2-hour MP3 is 20 copies of one 6-minute encoding, joined without re-encoding
CODEC_ARGS = {"wav": ["-c:a", "pcm_s16le"], "flac": ["-c:a", "flac"],
              "ogg": ["-c:a", "libvorbis", "-q:a", "4"], "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"]}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def from_demo(out: Path, seconds: float, rate: int, channels: int, fmt: str) -> None:
    ffmpeg("-stream_loop", "-1", "-i", str(DEMO_AUDIO), "-t", str(seconds), "-ar", str(rate),
           "-ac", str(channels), *CODEC_ARGS[fmt], str(out))


def make_data(root: Path, quick: bool) -> dict[str, list[Path]]:
    """The benchmark's files (made once per folder: existing ones are reused)."""
    root.mkdir(parents=True, exist_ok=True)
    ten = root / "ten_minutes_48k_stereo.wav"
    if not ten.exists():
        from_demo(ten, 600, 48_000, 2, "wav")
    hours = 0.5 if quick else 2.0
    long = root / f"{hours:g}_hours_44k_stereo.mp3"
    if not long.exists():
        part = root / "part.mp3"
        from_demo(part, LONG_PART_S, 44_100, 2, "mp3")
        listing = root / "parts.txt"
        listing.write_text(f"file '{part}'\n" * int(hours * 3600 / LONG_PART_S))
        ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(long))
        part.unlink()
        listing.unlink()
    folder = root / "folder"
    n_files = 40 if quick else FOLDER_FILES
    if not folder.exists() or len(list(folder.iterdir())) != n_files:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        bases = {}
        for i, (fmt, rate) in enumerate((f, r) for f in FORMATS for r in RATES_HZ):
            base = root / f"base_{rate}_{i % 2 + 1}ch.{fmt}"
            if not base.exists():
                from_demo(base, BASE_S, rate, i % 2 + 1, fmt)
            bases[i] = base
        for i in range(n_files):
            base = bases[i % len(bases)]
            seconds = 180 + (i * 37) % 181  # 3 to 6 minutes
            # FLAC is re-encoded: a stream copy keeps the base's length in STREAMINFO, and
            # libsndfile then fails past the cut (ffmpeg's decoder does not mind).
            codec = CODEC_ARGS["flac"] if base.suffix == ".flac" else ["-c", "copy"]
            ffmpeg("-i", str(base), "-t", str(seconds), *codec,
                   str(folder / f"track{i:03d}{base.suffix}"))
    return {"10-min WAV": [ten], f"{hours:g}-hour MP3": [long], f"{n_files}-file folder": [folder]}


def audio_seconds(paths: list[Path]) -> float:
    files = [p for root in paths for p in (sorted(root.iterdir()) if root.is_dir() else [root])]
    return sum(sf.info(str(p)).duration for p in files)


@dataclass
class Run:
    wall_s: float
    peak_mb: float


def measure(cmd: list[str]) -> Run:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{cmd[:4]}... failed ({proc.returncode}): {err.decode(errors='replace')[-500:]}")
    return Run(wall, usage.ru_maxrss / 1024)


def compare(cases: dict[str, list[Path]], model: Path, repeat: int, threads: int) -> None:
    genrecast = shutil.which("genrecast") or "genrecast"
    print(f"model {model.name}, {os.cpu_count()} cores, median of {repeat} runs in turn")
    print(f"{'case':<18} {'audio':>8} | {'genrecast':>9} {'× rt':>7} {'peak':>7} | "
          f"{'script':>8} {'× rt':>7} {'peak':>7} | {'wall ratio':>10}")
    for name, paths in cases.items():
        seconds = audio_seconds(paths)
        folder = paths[0].is_dir()
        files = sorted(str(p) for p in paths[0].iterdir()) if folder else [str(p) for p in paths]
        ours = [genrecast, "classify", *map(str, paths), "--model", str(model), "--threads",
                str(threads), "--summary" if folder else "--csv"]
        plain = [sys.executable, str(PLAIN), str(model), *files]
        runs: dict[str, list[Run]] = {"ours": [], "plain": []}
        for _ in range(repeat):
            runs["ours"].append(measure(ours))
            runs["plain"].append(measure(plain))
        wall = {k: statistics.median(r.wall_s for r in v) for k, v in runs.items()}
        peak = {k: max(r.peak_mb for r in v) for k, v in runs.items()}
        print(f"{name:<18} {seconds / 60:>6.0f} m | {wall['ours']:>8.2f}s {seconds / wall['ours']:>6.0f}× "
              f"{peak['ours']:>5.0f}MB | {wall['plain']:>7.2f}s {seconds / wall['plain']:>6.0f}× "
              f"{peak['plain']:>5.0f}MB | {wall['ours'] / wall['plain']:>9.2f}×", flush=True)


def stages(files: list[Path], model: Path, repeat: int) -> None:
    """Per stage, in-process: decode + DSP (streamed blocks), classify (batched)."""
    import numpy as np
    from genrecast.daemon.model.card import load_card
    from genrecast.daemon.model.classifier import Classifier
    from genrecast.daemon.offline.stream import StreamTotals, stream_windows

    card = load_card(model)
    clf = Classifier(model, card=card, num_threads=os.cpu_count() or 1, try_gpu=False)
    hop = round(0.5 * card.sample_rate_hz)
    print(f"{'file':<28} {'audio s':>8} {'decode+dsp':>11} {'classify':>10}   (× real time)")
    for path in files:
        times: dict[str, list[float]] = {"dsp": [], "classify": []}
        totals = StreamTotals()
        for _ in range(repeat):
            totals = StreamTotals()
            t0 = time.perf_counter()
            chunks = list(stream_windows(path, card, hop, totals))
            t1 = time.perf_counter()
            clf.predict(np.concatenate([c.windows for c in chunks]), normalised=True)
            times["dsp"].append(t1 - t0)
            times["classify"].append(time.perf_counter() - t1)
        d = totals.duration_s
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{path.name[:28]:<28} {d:8.1f} {d / med['dsp']:>10.0f}× {d / med['classify']:>9.0f}×")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="with --stages (default: the demo)")
    ap.add_argument("--model", type=Path, default=LIGHT_MODEL)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-long", type=int, default=1,
                    help="runs of the long file and the folder (each several minutes)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--data", type=Path, help="keep the generated files here (default: a temp dir)")
    ap.add_argument("--quick", action="store_true", help="a 30-min file and a 40-file folder")
    ap.add_argument("--only", choices=("short", "long", "folder"), action="append")
    ap.add_argument("--stages", action="store_true", help="in-process stage timings only")
    args = ap.parse_args()
    if args.stages:
        stages(args.files or [DEMO_AUDIO], args.model, args.repeat)
        return
    tmp = None if args.data else tempfile.mkdtemp(prefix="genrecast-bench-")
    root = args.data or Path(str(tmp))
    try:
        cases = make_data(root, args.quick)
        keys = list(cases)
        wanted = {"short": keys[0], "long": keys[1], "folder": keys[2]}
        only = args.only or ["short", "long", "folder"]
        if "short" in only:
            compare({wanted["short"]: cases[wanted["short"]]}, args.model, args.repeat,
                    args.threads)
        long_cases = {wanted[k]: cases[wanted[k]] for k in only if k != "short"}
        if long_cases:
            compare(long_cases, args.model, args.repeat_long, args.threads)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
