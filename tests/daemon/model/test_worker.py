"""The classify worker runs a batch on its own thread, wakes the loop when done, keeps one batch in
flight, and hands back errors where the loop takes the result."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from genrecast.daemon.model.worker import ClassifyWorker


def test_batch_runs_on_another_thread_and_wakes_the_loop() -> None:
    wake = threading.Event()
    worker: ClassifyWorker[str] = ClassifyWorker(wake)
    release = threading.Event()
    seen: dict[str, str] = {}

    def predict(x: np.ndarray) -> np.ndarray:
        seen["thread"] = threading.current_thread().name
        release.wait(5)
        return x[:, :2] * 2

    windows = np.arange(6, dtype=np.float32).reshape(3, 2)
    worker.submit(["a", "b", "c"], windows, predict)
    assert worker.busy and worker.take() is None  # still running: nothing to publish yet
    with pytest.raises(RuntimeError, match="in flight"):
        worker.submit(["d"], windows[:1], predict)
    release.set()
    assert wake.wait(5)
    items, probs, cpu_ns = worker.take()  # type: ignore[misc]
    assert items == ["a", "b", "c"] and cpu_ns >= 0
    np.testing.assert_array_equal(probs, windows * 2)
    assert seen["thread"].startswith("classify") and seen["thread"] != threading.current_thread().name
    assert worker.idle and worker.take() is None
    worker.close()


def test_predict_error_surfaces_at_take() -> None:
    worker: ClassifyWorker[int] = ClassifyWorker(threading.Event())

    def broken(x: np.ndarray) -> np.ndarray:
        raise ValueError("model exploded")

    worker.submit([1], np.zeros((1, 4), np.float32), broken)
    with pytest.raises(ValueError, match="model exploded"):
        worker.take(wait=True)
    assert worker.idle
    worker.close()
