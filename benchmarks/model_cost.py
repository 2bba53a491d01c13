"""What each architecture costs per window in LiteRT, side by side in one process.

Builds every architecture untrained (inference cost does not depend on the weights), converts it
to full int8 and to float32, and times batched invokes on one thread. Prints the median µs per
window over repeated runs and each model's size; ``--models`` adds shipped .tflite files.

    python benchmarks/model_cost.py [--batch 64] [--repeats 31] [--models models/*.tflite]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

WINDOW = 1200


def convert(model: object, mode: str) -> bytes:
    from genrecast.train.quantize import convert as to_tflite

    rng = np.random.default_rng(0)
    rep = (rng.normal(0.0, 0.1, (64, WINDOW))).astype(np.float32)
    return to_tflite(model, mode, rep if mode == "int8" else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=31)
    ap.add_argument("--models", type=Path, nargs="*", default=[])
    ap.add_argument("--arch", action="append", help="only these architectures (repeatable)")
    args = ap.parse_args()
    from genrecast.train.architectures import ARCHITECTURES, build_model
    from genrecast.train.cost import per_window_us

    rows = []
    for arch in args.arch or ARCHITECTURES:
        model = build_model(arch, WINDOW, 2, input_scale=10.0)
        for mode in ("int8", "float32"):
            content = convert(model, mode)
            rows.append((f"{arch} ({mode})", per_window_us(content, args.batch, args.repeats),
                         len(content)))
    for path in args.models:
        content = path.read_bytes()
        rows.append((str(path), per_window_us(content, args.batch, args.repeats), len(content)))
    print(f"{'model':<40}{'µs/window':>11}{'KB':>8}   (batch {args.batch}, 1 thread, "
          f"median of {args.repeats})")
    for name, us, size in rows:
        print(f"{name:<40}{us:>11.1f}{size / 1024:>8.0f}")


if __name__ == "__main__":
    main()
