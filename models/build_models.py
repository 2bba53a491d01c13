"""Train the shipped models on every package (evidence and teacher labels) and write their cards.

The figures a card reports are not from this training (it hears every package): they are the
grouped leave-out's (benchmarks/grouped_leave_out.py --json), measured with the same recipe on
packages each fold's model never heard, and passed in with ``--leave-out``. When that run found the
int8 model's top label miscalibrated (ECE above 0.05) and the temperature it fitted on its
out-of-fold predictions brings the error to 0.05, the temperature goes into the card
(``calibration``) and the daemon applies it; otherwise it is recorded as ``calibration_tried``.

    python -m genrecast.models.build_models default build/recordings5 --teacher build/teacher5 \\
        --leave-out build/grouped_default.json --out models/default
    python -m genrecast.models.build_models wide build/recordings5 --teacher build/teacher5 \\
        --leave-out build/grouped_wide.json --out models/wide
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from genrecast.train.progress import quiet_tensorflow

quiet_tensorflow(verbose=False)

import numpy as np  # noqa: E402
from genrecast.train.cache import AudioCache  # noqa: E402
from genrecast.train.card import make_card  # noqa: E402
from genrecast.train.cost import cost_entry  # noqa: E402
from genrecast.train.datasets import Dataset, load_dataset  # noqa: E402
from genrecast.train.fit import NORMALISATION, FitConfig, fit  # noqa: E402
from genrecast.train.grouped_leave_out import Corpus, fold_dataset, grouped  # noqa: E402
from genrecast.train.grouped_scores import ECE_TARGET  # noqa: E402
from genrecast.train.plots import plot_confusion  # noqa: E402
from genrecast.train.quantize import convert  # noqa: E402
from genrecast.train.wide import WIDE_RATE_HZ, WIDE_WINDOW, fit_back, join  # noqa: E402
from genrecast.train.wide_corpus import calibrated_front, load_patches  # noqa: E402

from .arrange_recordings import load_table  # noqa: E402

log = logging.getLogger("build_models")
DEFAULT_RATE_HZ = 400


def everything(corpus: Corpus, seed: int) -> Dataset:
    """Every group on the training side (validation: whole groups, grouping.validation_tracks)."""
    return fold_dataset(corpus, {g: 1 for g in corpus.evidence_groups}, 0, seed)


def calibration(leave_out: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(card key, entry) for the int8 model's calibration when its ECE is above ECE_TARGET:
    ``calibration`` (the daemon applies the temperature) when the temperature brings the ECE to
    the target, else ``calibration_tried`` (measured, not applied: a temperature that leaves the
    error above the target only makes the smoother decide less often, see ``decisions``)."""
    c = leave_out.get("calibration", {}).get("int8")
    if not c or c["ece"] <= ECE_TARGET:
        return None
    entry = {"temperature": c["temperature"], "ece_before": round(c["ece"], 4),
             "ece_after": round(c["ece_calibrated"], 4),
             "fitted_on": "the int8 out-of-fold predictions of the grouped leave-out",
             **({"decisions": c["decisions"]} if "decisions" in c else {})}
    return ("calibration" if c["ece_calibrated"] <= ECE_TARGET else "calibration_tried"), entry


def headline(leave_out: dict[str, Any]) -> dict[str, Any]:
    s = leave_out["scores"]
    return {"k": leave_out["k"], "split": "grouped k-fold by package (composer groups kept "
            "together); scored on evidence labels only",
            "macro": {m: {g: round(v["macro"], 4) for g, v in by.items()} for m, by in s.items()},
            "genres_int8_0dB": {g: round(v, 4) for g, v in s["int8"]["+0"]["genres"].items()},
            "tracks_right_int8_0dB": s["int8"]["+0"]["tracks_right"]}


def record_leave_out(card_path: Path, leave_out_path: Path | None) -> None:
    """The grouped leave-out's figures (and the calibration it calls for) into a card."""
    if leave_out_path is None or not leave_out_path.is_file():
        sys.exit(f"build_models: --leave-out {leave_out_path} is not a file; run "
                 "benchmarks/grouped_leave_out.py --json first")
    leave_out = json.loads(leave_out_path.read_text())
    card = json.loads(card_path.read_text())
    card.pop("calibration", None)
    card.pop("calibration_tried", None)
    card.update(grouped=headline(leave_out), grouped_leave_out=leave_out)
    cal = calibration(leave_out)
    if cal:
        card[cal[0]] = cal[1]
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    s = leave_out["scores"]["int8"]["+0"]
    stem = card_path.with_suffix("")
    plot_confusion(s["confusion"], card["labels"], stem.parent / f"{stem.name}-confusion.png",
                   f"{stem.name} (int8) on packages it never heard: macro recall "
                   f"{s['macro']:.2f} (grouped {leave_out['k']}-fold)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", choices=("default", "wide", "card"),
                    help="the model to build, or 'card': record --leave-out in the card of "
                    "--out (a model built before its leave-out finished)")
    ap.add_argument("evidence", type=Path, nargs="?")
    ap.add_argument("--teacher", type=Path, help="teacher-labelled genre folders")
    ap.add_argument("--leave-out", type=Path, help="grouped_leave_out.py --json")
    ap.add_argument("--out", type=Path, required=True, help="output stem (models/default)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--max-windows", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    for name in ("genrecast", "build_models"):
        logging.getLogger(name).setLevel(logging.INFO)
    started = time.monotonic()
    if args.which == "card":
        record_leave_out(args.out.with_suffix(".json"), args.leave_out)
        return
    if args.evidence is None:
        ap.error("the evidence folder is required to build a model")
    group_map = {t.package: t.split_group for t in load_table()}
    cache = AudioCache()
    model_path = args.out.with_suffix(".tflite")
    if args.which == "default":
        rate, window, arch = DEFAULT_RATE_HZ, 3 * DEFAULT_RATE_HZ, "specnet"
        load = dict(rate=rate, window=window, hop=rate, seed=args.seed, cache=cache,
                    all_tracks=True)
        corpus = grouped(load_dataset(str(args.evidence), **load),  # type: ignore[arg-type]
                         load_dataset(str(args.teacher), **load)  # type: ignore[arg-type]
                         if args.teacher else None, group_map)
        ev = corpus.evidence
        data = everything(corpus, args.seed)
        cfg = FitConfig(arch=arch, epochs=args.epochs, patience=args.patience, seed=args.seed,
                        max_train_windows=args.max_windows)
        res = fit(data, cfg, rate)
        model_path.write_bytes(convert(res.model, "int8", NORMALISATION.apply(data.train.x[:4000]),
                                       args.seed))
        training = {"arch": arch, "epochs_run": len(res.history["loss"]),
                    "best_epoch": res.best_epoch, "history": res.history}
    else:
        rate, window, arch = WIDE_RATE_HZ, WIDE_WINDOW, "wide (16 kHz log-mel + conv2d)"
        front, representative = calibrated_front(args.evidence, cache, args.seed)
        ev, _ = load_patches(args.evidence, front, cache)
        corpus = grouped(ev, load_patches(args.teacher, front, cache, labels=ev.labels)[0]
                         if args.teacher else None, group_map)
        data = everything(corpus, args.seed)
        rng = np.random.default_rng(args.seed)
        keep = np.sort(rng.permutation(len(data.train))[:args.max_windows])
        back, run, best = fit_back(data.train.x[keep], data.train.y[keep], data.val.x,
                                   data.val.y, len(ev.labels), args.epochs, args.patience,
                                   args.seed)
        model_path.write_bytes(convert(join(front, back), "int8", representative, args.seed))
        training = {"arch": arch, "epochs_run": run, "best_epoch": best}
    extra: dict[str, Any] = {
        "dataset": {**data.describe(), "tracks_evidence": len(ev.tracks),
                    "tracks_teacher": len(corpus.teacher.tracks) if corpus.teacher else 0,
                    "table": "models/recordings.toml",
                    "teacher_labels": "models/teacher_labels.tsv"},
        "training": {**training, "seed": args.seed, "max_train_windows": args.max_windows,
                     "seconds": round(time.monotonic() - started, 1),
                     "validation": "whole packages (groups) per genre",
                     "command": "python -m genrecast.models.build_models " + " ".join(sys.argv[1:])},
        "cost": cost_entry(model_path),
    }
    card = make_card(model_path, args.out.name, ev.labels, rate, window, NORMALISATION, arch,
                     "int8", extra)
    card.save(args.out.with_suffix(".json"))
    if args.leave_out:
        record_leave_out(args.out.with_suffix(".json"), args.leave_out)
    print(f"wrote {model_path} and {args.out.with_suffix('.json')} in "
          f"{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
