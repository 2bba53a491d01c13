"""What a user writes instead of ``genrecast classify``: ffmpeg + numpy + LiteRT, nothing else.

    python benchmarks/plain_classify.py MODEL.tflite FILE...

ffmpeg decodes, downmixes and resamples each file to the model's rate in one call; numpy cuts the
windows as strided views and normalises them as the model card says; LiteRT classifies batches of
256 on every core. Prints one line per window (file, start second, top label). It is written to be
as fast as a plain script can be, as the yardstick of ``benchmarks/classify_throughput.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

BATCH = 256
HOP_S = 0.5


def main() -> None:
    model = Path(sys.argv[1])
    card = json.loads(model.with_suffix(".json").read_text())
    rate, window, labels = card["sample_rate_hz"], card["window_samples"], card["labels"]
    norm = card.get("normalisation", {"method": "none"})
    hop = round(HOP_S * rate)
    interp = Interpreter(model_path=str(model), num_threads=os.cpu_count() or 1)
    inp = interp.get_input_details()[0]["index"]
    out = interp.get_output_details()[0]["index"]
    interp.resize_tensor_input(inp, [BATCH, window])
    interp.allocate_tensors()
    lines: list[str] = []
    for path in sys.argv[2:]:
        pcm = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ac", "1", "-ar",
                              str(rate), "-f", "f32le", "-"], capture_output=True, check=True).stdout
        x = np.frombuffer(pcm, dtype=np.float32)
        if x.size < window:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(x, window)[::hop]
        for i in range(0, len(windows), BATCH):
            batch = np.array(windows[i : i + BATCH], dtype=np.float32)
            if norm["method"] == "rms":
                rms = np.sqrt(np.mean(np.square(batch, dtype=np.float64), axis=1, keepdims=True))
                batch = (batch * (norm["target_rms"] / np.maximum(rms, norm["floor_rms"])))
            n = len(batch)
            if n < BATCH:  # the last batch: pad to the allocated size
                batch = np.concatenate((batch, np.zeros((BATCH - n, window))))
            interp.set_tensor(inp, batch.astype(np.float32))
            interp.invoke()
            top = interp.get_tensor(out)[:n].argmax(axis=1)
            lines.extend(f"{path},{(i + j) * HOP_S:.1f},{labels[k]}" for j, k in enumerate(top))
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
