"""Leave-one-package-out: the default recipe's recall on a package it never heard.

DATA is the genre folder built by models/arrange_recordings.py (track files named
``<package>__<track>``). For every package of a genre that comes from two or more packages, the
model is trained without that package and scored on it (float32 and full int8, at -30, -20, -10, 0
and +6 dB). Prints a table and writes JSON; ``--card`` adds the result to a model card.

    python benchmarks/leave_package_out.py DATA [--arch specnet] [--epochs 6] \\
        [--max-windows 4000] [--rate 400] [--gains 0] [--json lopo.json] \\
        [--card models/default.json]

Recipe variants (the default recipe without them): ``--augmentation production``,
``--spectral-norm``, ``--balance-packages`` (see train/fit.py's FitConfig).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from genrecast.train.progress import quiet_tensorflow

quiet_tensorflow(verbose=False)

from genrecast.train.augment import PRESETS  # noqa: E402
from genrecast.train.cache import AudioCache  # noqa: E402
from genrecast.train.datasets import load_dataset  # noqa: E402
from genrecast.train.fit import FitConfig  # noqa: E402
from genrecast.train.leave_out import leave_package_out  # noqa: E402
from genrecast.train.robustness import GAINS_DB  # noqa: E402

log = logging.getLogger("leave_package_out")


def table(result: dict[str, Any]) -> str:
    gains = [g for g in next(iter(result["packages"].values()))["int8"]]
    head = "| package | genre | tracks | " + " | ".join(f"int8 {g} dB" for g in gains) + \
        " | float32 0 dB | int8 0 dB, smoothed 3 / 30 windows | tracks right |"
    lines = [head, "|" + "---|" * (len(gains) + 6)]
    for p, r in result["packages"].items():
        cells = " | ".join(f"{r['int8'][g]['recall']:.2f}" for g in gains)
        zero = r["int8"]["+0"]
        lines.append(f"| {p} | {r['genre']} | {r['tracks']} | {cells} | "
                     f"{r['float32']['+0']['recall']:.2f} | {zero['smoothed_3']:.2f} / "
                     f"{zero['smoothed_30']:.2f} | {zero['tracks_right']} |")
    for g, v in result["genres"].items():
        cells = " | ".join(f"{v['int8'][k]:.2f}" for k in gains)
        lines.append(f"| **{g}** (mean) | | | {cells} | {v['float32']['+0']:.2f} | | |")
    m = result["macro"]
    cells = " | ".join(f"{m['int8'][k]:.2f}" for k in gains)
    sm = m["int8"]["smoothed_0dB"]
    lines.append(f"| **macro** | | | {cells} | {m['float32']['+0']:.2f} | "
                 f"{sm['smoothed_3']:.2f} / {sm['smoothed_30']:.2f} | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--arch", default="specnet")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument("--max-windows", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rate", type=int, default=400)
    ap.add_argument("--packages", default="", help="comma-separated subset")
    ap.add_argument("--gains", default="", help="comma-separated dB (default -30,-20,-10,0,6)")
    ap.add_argument("--augmentation", default="microphone", choices=sorted(PRESETS))
    ap.add_argument("--spectral-norm", action="store_true")
    ap.add_argument("--balance-packages", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--card", type=Path, help="model card to record the result in")
    args = ap.parse_args()
    # Progress at INFO from our loggers only: a root logger at INFO reads as -v to the trainer,
    # which then lets the converter print its signatures into the table on stdout.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    for name in ("genrecast", "leave_package_out"):
        logging.getLogger(name).setLevel(logging.INFO)
    data = load_dataset(args.data, rate=args.rate, window=3 * args.rate, hop=args.rate,
                        seed=args.seed, cache=AudioCache())
    cfg = FitConfig(arch=args.arch, epochs=args.epochs, patience=args.patience, seed=args.seed,
                    max_train_windows=args.max_windows, augmentation=args.augmentation,
                    spectral_norm=args.spectral_norm, balance_packages=args.balance_packages)
    packages = [p for p in args.packages.split(",") if p] or None
    gains = tuple(float(g) for g in args.gains.split(",") if g) or GAINS_DB
    result = leave_package_out(data, cfg, args.rate, packages, gains_db=gains)
    result["config"] = {"arch": args.arch, "epochs": args.epochs, "patience": args.patience,
                        "max_train_windows": args.max_windows, "seed": args.seed,
                        "rate_hz": args.rate, "augmentation": args.augmentation,
                        "spectral_norm": args.spectral_norm,
                        "balance_packages": args.balance_packages,
                        "command": " ".join(sys.argv)}
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.card:
        card = json.loads(args.card.read_text())
        card["leave_package_out"] = result
        args.card.write_text(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
