"""Seed recipe vs the default architecture on the same data and split, over several seeds.

Trains both on DATA (a folder of genre subfolders, split by track; or an npz), converts each to
float32 and full int8, and evaluates them through the daemon's Classifier on the held-out windows
at -30, -20, -10, 0 and +6 dB of gain. The figure that counts is the worst of the five (the
gain-robust accuracy), because a microphone's level is anyone's guess. "tracks" is the worst
share of held-out tracks right by majority vote; "balanced" the worst mean per-class recall
(50% = one class predicted everywhere, whatever the class shares of the test set).

    python benchmarks/accuracy.py DATA [--seeds 0,1,2] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from genrecast.daemon.model.card import ModelCard, file_sha256  # noqa: E402
from genrecast.train.architectures import DEFAULT_ARCH  # noqa: E402
from genrecast.train.cache import AudioCache  # noqa: E402
from genrecast.train.datasets import Dataset, load_dataset  # noqa: E402
from genrecast.train.evaluate import load_classifier, robustness  # noqa: E402
from genrecast.train.fit import FitConfig, fit  # noqa: E402
from genrecast.train.quantize import convert  # noqa: E402
from genrecast.train.robustness import GAINS_DB  # noqa: E402

log = logging.getLogger("accuracy")


def run_one(data: Dataset, cfg: FitConfig, workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    result = fit(data, cfg)
    norm = result.config.normalisation
    out: dict[str, Any] = {"epochs_run": len(result.history["loss"]),
                           "train_seconds": round(time.monotonic() - started, 1)}
    for mode in ("float32", "int8"):
        path = workdir / f"{cfg.recipe}-{cfg.seed}-{mode}.tflite"
        path.write_bytes(convert(result.model, mode, norm.apply(data.train.x), cfg.seed))
        card = ModelCard(labels=tuple(data.labels), sample_rate_hz=400,
                         window_samples=data.train.x.shape[1], normalisation=norm,
                         model_sha256=file_sha256(path), quantization=mode)
        rob = robustness(load_classifier(path, card), data.test.x, data.test.y, data.labels,
                         data.test.track, data.tracks, 400, GAINS_DB, with_degradations=False)
        out[mode] = {
            "by_gain": {g: v["accuracy"] for g, v in rob["gain_db"].items()},
            "track_by_gain": {g: v.get("track_accuracy") for g, v in rob["gain_db"].items()},
            "recall_by_gain": {g: v["per_class_recall"] for g, v in rob["gain_db"].items()},
            # Mean of the per-class recalls: on an imbalanced test set, predicting the majority
            # class everywhere scores its share in accuracy but exactly 50% here.
            "balanced_by_gain": {g: sum(v["per_class_recall"].values()) / len(v["per_class_recall"])
                                 for g, v in rob["gain_db"].items()},
            "gain_robust": rob["gain_robust_accuracy"],
            "gain_robust_tracks": rob.get("gain_robust_track_accuracy"),
        }
        out[mode]["gain_robust_balanced"] = min(out[mode]["balanced_by_gain"].values())
    return out


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    gains = [f"{g:+g}" for g in GAINS_DB]
    head = f"{'recipe':<14}{'seed':>5} {'model':<8}" + "".join(f"{g + ' dB':>9}" for g in gains)
    lines = [head + f"{'worst':>9}{'tracks':>8}{'balanced':>10}", "-" * (len(head) + 27)]
    for recipe, runs in results.items():
        for mode in ("float32", "int8"):
            for run in runs:
                r = run[mode]
                tr = r["gain_robust_tracks"]
                lines.append(f"{recipe:<14}{run['seed']:>5} {mode:<8}"
                             + "".join(f"{100 * r['by_gain'][g]:>8.2f}%" for g in gains)
                             + f"{100 * r['gain_robust']:>8.2f}%"
                             + (f"{100 * tr:>7.1f}%" if tr is not None else f"{'-':>8}")
                             + f"{100 * r['gain_robust_balanced']:>9.2f}%")
            med = statistics.median(run[mode]["gain_robust"] for run in runs)
            meds = [statistics.median(run[mode]["by_gain"][g] for run in runs) for g in gains]
            lines.append(f"{recipe:<14}{'med':>5} {mode:<8}"
                         + "".join(f"{100 * m:>8.2f}%" for m in meds) + f"{100 * med:>8.2f}%")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="genre folder, npz, or synthetic")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds (comma-separated)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the track split (the same for every run)")
    parser.add_argument("--hop", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=40, help="maximum epochs of the default")
    parser.add_argument("--max-windows", type=int, default=None,
                        help="subsample the training windows of both recipes (quicker runs)")
    parser.add_argument("--arch", default=DEFAULT_ARCH, help="architecture of our recipe")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    data = load_dataset(args.data, hop=args.hop, seed=args.split_seed, cache=AudioCache())
    print(f"data {args.data}: {len(data.train)} train / {len(data.val)} val / {len(data.test)} "
          f"test windows; test tracks: {data.split.get('test', 'npz test array')}", flush=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, list[dict[str, Any]]] = {"seed-recipe": [], "default": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for name, cfg in (
                ("seed-recipe", FitConfig(recipe="seed", seed=seed,
                                          max_train_windows=args.max_windows)),
                ("default", FitConfig(arch=args.arch, seed=seed, epochs=args.epochs,
                                      max_train_windows=args.max_windows)),
            ):
                run = run_one(data, cfg, Path(tmp))
                run["seed"] = seed
                results[name].append(run)
                print(f"{name} seed {seed}: int8 gain-robust "
                      f"{100 * run['int8']['gain_robust']:.2f}%, float32 "
                      f"{100 * run['float32']['gain_robust']:.2f}% "
                      f"({run['train_seconds']} s)", flush=True)
    print()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"data": args.data, "split": data.split,
                                         "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
