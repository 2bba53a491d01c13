"""LiteRT's runtime, found once: the interpreter class, native-log silencing, the GPU attempt.

Shared by the classifier (in the daemon) and the probe (in a child process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - only where the abandoned tflite-runtime is installed
        from tflite_runtime.interpreter import Interpreter  # type: ignore[no-redef]
    return Interpreter


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence LiteRT's native logging (dozens of lines when probing for a GPU) unless debugging."""
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def compiled_gpu_model(compiled_model: Any, accelerator: Any, path: str | Path,
                        content: bytes | None = None) -> Any:
    """Try the GPU accelerator with native logging silenced, including the teardown of a failed
    attempt (the exception's traceback keeps LiteRT's environment alive until it is dropped).
    Runs in the probe child (``probe.py``), never in the daemon."""
    error: Exception | None = None
    with quiet_native_stderr():
        try:
            if content is not None:
                return compiled_model.from_buffer(content, accelerator.GPU)
            return compiled_model.from_file(str(path), accelerator.GPU)
        except (RuntimeError, ValueError, AttributeError) as exc:
            error = type(exc)(str(exc))
            del exc
            import gc

            gc.collect()
    raise error
