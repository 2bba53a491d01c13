"""What a model costs per window in LiteRT on one thread: the figure that sizes a host (streams per
core), recorded in the card by ``genrecast train`` and printed for any models by

    python -m genrecast.train.cost models/default.tflite [more.tflite ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

COST_BATCH = 64
COST_REPEATS = 15


def per_window_us(model: Path | bytes, batch: int = COST_BATCH,
                  repeats: int = COST_REPEATS) -> float:
    """Median µs per window of batched invokes on one thread (XNNPACK), after a warm-up; the
    model as a file or as its bytes."""
    from ai_edge_litert.interpreter import Interpreter

    interp = (Interpreter(model_content=model, num_threads=1) if isinstance(model, bytes)
              else Interpreter(model_path=str(model), num_threads=1))
    inp = interp.get_input_details()[0]
    window = int(inp["shape"][-1])
    interp.resize_tensor_input(inp["index"], [batch, window])
    interp.allocate_tensors()
    x = np.random.default_rng(0).normal(0.0, 0.1, (batch, window)).astype(np.float32)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()  # XNNPACK packs its weights on the first run
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        interp.invoke()
        times.append(time.perf_counter() - t)
    return statistics.median(times) / batch * 1e6


def cost_entry(model: Path) -> dict[str, Any]:
    """The card's ``cost`` entry."""
    return {"us_per_window": round(per_window_us(model), 1), "threads": 1, "batch": COST_BATCH,
            "repeats": COST_REPEATS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", type=Path, nargs="+")
    args = ap.parse_args()
    for path in args.models:
        print(f"{path}: {per_window_us(path):.1f} µs per window (1 thread, batch {COST_BATCH}, "
              f"median of {COST_REPEATS}), {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
