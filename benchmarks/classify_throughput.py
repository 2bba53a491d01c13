"""Offline ``genrecast classify`` throughput: seconds of audio classified per second, by stage.

    python benchmarks/classify_throughput.py [FILES...] [--model M] [--repeat 3]

Stages: decode (soundfile/ffmpeg), resample + window (the shared DSP path), classify (one batched
LiteRT call). Prints medians over repeats and the × real-time factor of the whole and of each part.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from genrecast.daemon.audio.decode import read_audio
from genrecast.daemon.cli.demo import DEMO_AUDIO
from genrecast.daemon.dsp.chain import audio_to_windows
from genrecast.daemon.model.classifier import Classifier
from genrecast.models import default_model_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path, default=[DEMO_AUDIO])
    ap.add_argument("--model", type=Path, default=default_model_path())
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    clf = Classifier(args.model, try_gpu=False)
    card = clf.card
    hop = round(0.5 * card.sample_rate_hz)
    print(f"{'file':<28} {'audio s':>8} {'decode':>10} {'resample+win':>13} {'classify':>10} "
          f"{'total':>10}   (× real time)")
    for path in args.files:
        times: dict[str, list[float]] = {"decode": [], "dsp": [], "classify": []}
        duration = 0.0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            frames, rate = read_audio(path)
            t1 = time.perf_counter()
            _, windows = audio_to_windows(frames, rate, card.sample_rate_hz, card.window_samples,
                                          hop)
            t2 = time.perf_counter()
            clf.predict(windows)
            t3 = time.perf_counter()
            duration = frames.shape[0] / rate
            times["decode"].append(t1 - t0)
            times["dsp"].append(t2 - t1)
            times["classify"].append(t3 - t2)
        med = {k: statistics.median(v) for k, v in times.items()}
        total = sum(med.values())
        print(f"{path.name[:28]:<28} {duration:8.1f} "
              + " ".join(f"{duration / med[k]:>9.0f}×" for k in ("decode", "dsp", "classify"))
              + f"    {duration / total:>9.0f}×")


if __name__ == "__main__":
    main()
