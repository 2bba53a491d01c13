"""Grouped k-fold leave-out: the headline figure of a model recipe on packages it never heard.

DATA is the evidence-labelled genre folder (models/arrange_recordings.py), TEACHER the
teacher-labelled one (training only). Packages are grouped by composer (models/recordings.toml)
and spread over k folds; each fold's model never hears its packages. Prints per-package,
per-genre and macro recall (int8 and float32; -30, 0, +6 dB), tracks right (the smoothed
decision over each track), calibration, and, with --teacher-calls, the teacher's zero-shot figure
on the same packages. ``--card`` records the result in a model card.

    python benchmarks/grouped_leave_out.py build/recordings5 [--teacher-data build/teacher5] \\
        [--k 5] [--epochs 8] [--max-windows 12000] [--json out.json] [--card models/default.json]
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

from genrecast.models.arrange_recordings import load_table  # noqa: E402
from genrecast.train.cache import AudioCache  # noqa: E402
from genrecast.train.datasets import load_dataset  # noqa: E402
from genrecast.train.fit import FitConfig  # noqa: E402
from genrecast.train.grouped_leave_out import Corpus, grouped, grouped_leave_out  # noqa: E402
from genrecast.train.grouped_scores import teacher_score  # noqa: E402
from genrecast.train.wide import WIDE_RATE_HZ  # noqa: E402
from genrecast.train.wide_corpus import calibrated_front, load_patches  # noqa: E402
from genrecast.train.wide_leave_out import wide_grouped_leave_out  # noqa: E402

log = logging.getLogger("grouped_leave_out")


def tables(result: dict[str, Any]) -> str:
    s = result["scores"]
    gains = list(s["int8"])
    lines = ["| package | genre | " + " | ".join(f"int8 {g} dB" for g in gains) +
             " | float32 0 dB |" + (" teacher |" if "teacher" in result else ""),
             "|" + "---|" * (len(gains) + 3 + ("teacher" in result))]
    teacher = result.get("teacher", {}).get("units", {})
    for unit, u in s["int8"]["+0"]["units"].items():
        cells = " | ".join(f"{s['int8'][g]['units'][unit]['recall']:.2f}" for g in gains)
        t = f" {teacher[unit]:.2f} |" if unit in teacher else (" |" if teacher else "")
        lines.append(f"| {unit} | {u['genre']} | {cells} | "
                     f"{s['float32']['+0']['units'][unit]['recall']:.2f} |{t}")
    for g in s["int8"]["+0"]["genres"]:
        cells = " | ".join(f"{s['int8'][k]['genres'][g]:.2f}" for k in gains)
        tg = result.get("teacher", {}).get("genres", {})
        t = f" {tg[g]:.2f} |" if g in tg else (" |" if teacher else "")
        lines.append(f"| **{g}** | | {cells} | {s['float32']['+0']['genres'][g]:.2f} |{t}")
    cells = " | ".join(f"**{s['int8'][k]['macro']:.3f}**" for k in gains)
    lines.append(f"| **macro** | | {cells} | {s['float32']['+0']['macro']:.3f} |")
    right = s["int8"]["+0"]["tracks_right"]
    lines.append("\ntracks right (smoothed decision, int8 0 dB): " + ", ".join(
        f"{g} {v['right']}/{v['of']}" for g, v in right.items()))
    for mode, c in result["calibration"].items():
        lines.append(f"calibration {mode}: ECE {c['ece']:.3f}; temperature {c['temperature']} → "
                     f"ECE {c['ece_calibrated']:.3f}")
    return "\n".join(lines)


def wide_corpus(args: argparse.Namespace, group_map: dict[str, str]
                ) -> tuple[Corpus, list[Path], Any, Any]:
    """The evidence (and teacher) folders as log-mel patches, the front end that made them and
    the windows its int8 grid was set on."""
    front, representative = calibrated_front(Path(args.data), AudioCache(), args.seed)
    evidence, paths = load_patches(Path(args.data), front, AudioCache())
    teacher = (load_patches(Path(args.teacher_data), front, AudioCache(),
                            labels=evidence.labels)[0] if args.teacher_data else None)
    return grouped(evidence, teacher, group_map), paths, front, representative


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--teacher-data", help="teacher-labelled genre folders (training only)")
    ap.add_argument("--teacher-calls", type=Path, help="models/teacher_labels.py --zero-shot JSON")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--arch", default="specnet")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument("--max-windows", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rate", type=int, default=400)
    ap.add_argument("--wide", action="store_true",
                    help="the wide model (16 kHz log-mel, train/wide.py) instead of --arch")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--card", type=Path, help="model card to record the result in")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    for name in ("genrecast", "grouped_leave_out"):
        logging.getLogger(name).setLevel(logging.INFO)
    group_map = {t.package: t.split_group for t in load_table()}
    if args.wide:
        corpus, paths, front, representative = wide_corpus(args, group_map)
        result = wide_grouped_leave_out(corpus, paths, front, representative, args.k, args.epochs,
                                        args.patience, args.seed, args.max_windows, AudioCache())
        args.rate, args.arch = WIDE_RATE_HZ, "wide"
    else:
        load = dict(rate=args.rate, window=3 * args.rate, hop=args.rate, seed=args.seed,
                    cache=AudioCache(), all_tracks=True)
        corpus = grouped(load_dataset(args.data, **load),  # type: ignore[arg-type]
                         load_dataset(args.teacher_data, **load)  # type: ignore[arg-type]
                         if args.teacher_data else None, group_map)
        cfg = FitConfig(arch=args.arch, epochs=args.epochs, patience=args.patience,
                        seed=args.seed, max_train_windows=args.max_windows)
        result = grouped_leave_out(corpus, cfg, args.rate, args.k)
    evidence = corpus.evidence
    if args.teacher_calls:
        zero_shot = json.loads(args.teacher_calls.read_text())
        result["teacher"] = teacher_score(zero_shot["calls"], evidence.tracks,
                                          evidence.track_labels, evidence.labels,
                                          zero_shot.get("genres", ()))
    result["config"] = {"arch": args.arch, "epochs": args.epochs, "patience": args.patience,
                        "max_train_windows": args.max_windows, "seed": args.seed,
                        "rate_hz": args.rate, "k": args.k,
                        "teacher_data": bool(args.teacher_data), "command": " ".join(sys.argv)}
    print(tables(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.card:
        card = json.loads(args.card.read_text())
        card["grouped_leave_out"] = result
        args.card.write_text(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
