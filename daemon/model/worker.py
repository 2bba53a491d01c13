"""Classify batches on a worker thread while the main loop drains rings and publishes.

LiteRT's ``invoke()`` releases the GIL, so a batch classified here runs on a second core while
the loop resamples the next windows and publishes the previous batch's events. One batch is in
flight at a time; windows that fall due meanwhile wait and go together in the next batch (so
batches grow with the load instead of the backlog). Batches finish in the order they were
submitted, so every source's events keep their order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np

Item = TypeVar("Item")


class ClassifyWorker(Generic[Item]):
    """``submit(items, windows)`` starts a batch; ``take()`` returns (items, probabilities) once it
    is done. ``wake`` is set when a batch finishes, so the loop publishes it without delay."""

    def __init__(self, wake: threading.Event) -> None:
        self._wake = wake
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")
        self._inflight: tuple[list[Item], Future[tuple[np.ndarray, int]]] | None = None

    @property
    def busy(self) -> bool:
        return self._inflight is not None and not self._inflight[1].done()

    @property
    def idle(self) -> bool:
        return self._inflight is None

    def submit(self, items: list[Item], windows: np.ndarray,
               predict: Callable[[np.ndarray], np.ndarray]) -> None:
        if self._inflight is not None:
            raise RuntimeError("a batch is already in flight; take() it first")

        def run() -> tuple[np.ndarray, int]:
            t0 = time.thread_time_ns()
            probs = predict(windows)
            return probs, time.thread_time_ns() - t0

        future = self._pool.submit(run)
        future.add_done_callback(lambda _: self._wake.set())
        self._inflight = (items, future)

    def take(self, wait: bool = False) -> tuple[list[Item], np.ndarray, int] | None:
        """The finished batch as (items, probabilities, CPU ns spent), or None if there is none
        (or it is still running and ``wait`` is false). A predict error is raised here."""
        if self._inflight is None:
            return None
        items, future = self._inflight
        if not wait and not future.done():
            return None
        self._inflight = None
        probs, cpu_ns = future.result()
        return items, probs, cpu_ns

    def close(self) -> None:
        self._pool.shutdown(wait=True)
