"""Probe a .tflite file in a child process before the daemon loads it.

LiteRT verifies a model's flatbuffer structure, but a file with a flipped bit inside can still pass
that check and crash the interpreter in C (measured: 1 in 150 single-bit flips of a small model
segfaulted, 72 loaded silently). A crash in a child costs nothing; in the daemon it would take every
source down. So the model is loaded and run once on silence and on noise in a child first.

The child also looks for a LiteRT GPU accelerator when asked: loading that stack maps ~50 MB of
libraries (a software Vulkan driver and LLVM on a machine without a GPU) that the daemon would
otherwise carry for its whole life just to learn there is no GPU.

Run as ``python -m genrecast.daemon.model.probe MODEL|- [gpu]`` (``-``: the model's
bytes on stdin): prints one JSON line for the model, then one for the GPU when asked.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from genrecast.daemon.errors import ModelError

PROBE_TIMEOUT_S = 60.0


def probe_model(model_path: str | Path, content: bytes | None = None,
                check_gpu: bool = False) -> str | None:
    """Raise ModelError unless the model loads and gives finite outputs (on its own input shape;
    the classifier checks the shapes against the card, once).

    With ``content``, the child probes those bytes (sent on its stdin) rather than the file. With
    ``check_gpu``, returns a description of the GPU accelerator that could run the model, or None.
    """
    source = "-" if content is not None else str(model_path)
    cmd = [sys.executable, "-m", "genrecast.daemon.model.probe", source]
    if check_gpu:
        cmd.append("gpu")
    try:
        proc = subprocess.run(cmd, input=content or b"", capture_output=True,
                              timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ModelError(
            f"model {model_path} hung the interpreter for {PROBE_TIMEOUT_S:.0f} s while being probed; "
            "restore the file or retrain it"
        ) from exc
    lines = proc.stdout.decode(errors="replace").strip().splitlines()
    try:
        result = json.loads(lines[0]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    model_ok = bool(result.get("ok"))
    if proc.returncode < 0 and not model_ok:  # a crash after the model's line is the GPU stack's
        name = signal.Signals(-proc.returncode).name
        raise ModelError(
            f"model {model_path} crashed the interpreter ({name}) while being probed; the file is "
            "corrupt: restore it or retrain it"
        )
    if not model_ok or (proc.returncode > 0 and len(lines) < 2):
        stderr = proc.stderr.decode(errors="replace").strip().splitlines()
        reason = result.get("error") or (stderr or ["no output"])[-1]
        raise ModelError(f"model {model_path} cannot be run by LiteRT ({reason}); restore or retrain it")
    try:
        gpu = json.loads(lines[1]).get("gpu") if len(lines) > 1 else None
    except (json.JSONDecodeError, AttributeError):
        gpu = None
    return str(gpu) if gpu else None


def _probe(model_path: str, content: bytes | None) -> dict[str, object]:
    import numpy as np
    from genrecast.daemon.model.litert import interpreter_class

    try:
        if model_path == "-":
            interp = interpreter_class()(model_content=content, num_threads=1)
        else:
            interp = interpreter_class()(model_path=model_path, num_threads=1)
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]
        out = interp.get_output_details()[0]
        window_samples = int(inp["shape"][-1])
        rng = np.random.default_rng(0)
        for window in (np.zeros(window_samples), 0.1 * rng.standard_normal(window_samples)):
            interp.set_tensor(inp["index"], window.astype(np.float32)[None, :])
            interp.invoke()
            scores = interp.get_tensor(out["index"])
            if not np.isfinite(scores).all():
                return {"ok": False, "error": "the model outputs NaN or infinity"}
        return {"ok": True, "outputs": int(out["shape"][-1])}
    except (ValueError, RuntimeError, IndexError, KeyError) as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}


def _gpu(content: bytes | None, model_path: str) -> str | None:
    """A description of LiteRT's GPU accelerator running this model, or None (no GPU adapter)."""
    from genrecast.daemon.model.litert import compiled_gpu_model

    try:
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator

        model = compiled_gpu_model(CompiledModel, HardwareAccelerator, model_path, content)
    except (ImportError, RuntimeError, ValueError, AttributeError):
        return None
    return str(model)


if __name__ == "__main__":
    path = sys.argv[1]
    data = sys.stdin.buffer.read() if path == "-" else None
    result = _probe(path, data)
    print(json.dumps(result), flush=True)
    if result.get("ok") and sys.argv[2:] == ["gpu"]:
        print(json.dumps({"gpu": _gpu(data, path)}), flush=True)
