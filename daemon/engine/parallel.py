"""Run many blocking calls (sources opening or closing) on a bounded set of daemon threads.

Why not ``concurrent.futures``: its worker threads are joined at interpreter exit, so one source
stuck in ``open()`` (a radio that accepts the connection and never answers) would hold a stopping
daemon for as long as that call takes. Daemon threads let the process leave at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

PENDING = object()
"""The result of a call that had not finished when the wait ended."""

POLL_S = 0.05  # how often the wait looks at the stop flag


def run_all(calls: Sequence[Callable[[], object]], max_threads: int, *,
            stop: threading.Event | None = None, deadline_s: float | None = None,
            name: str = "genrecast-worker") -> list[object]:
    """Run ``calls`` on at most ``max_threads`` threads; wait until all finish, ``stop`` is set,
    or the monotonic ``deadline_s`` passes. Returns, per call, its exception, None when it
    returned, or ``PENDING``; calls not yet started when the wait ends never start."""
    results: list[object] = [PENDING] * len(calls)
    if not calls:
        return results
    lock = threading.Condition()
    next_index = [0]
    finished = [0]
    abandoned = threading.Event()

    def worker() -> None:
        while True:
            with lock:
                i = next_index[0]
                if i >= len(calls) or abandoned.is_set():
                    return
                next_index[0] = i + 1
            try:
                calls[i]()
                outcome: object = None
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                outcome = exc
            with lock:
                results[i] = outcome
                finished[0] += 1
                lock.notify_all()

    for k in range(min(max_threads, len(calls))):
        threading.Thread(target=worker, name=f"{name}-{k}", daemon=True).start()
    with lock:
        while finished[0] < len(calls):
            if stop is not None and stop.is_set():
                break
            wait_s = POLL_S
            if deadline_s is not None:
                wait_s = min(wait_s, deadline_s - time.monotonic())
                if wait_s <= 0:
                    break
            lock.wait(wait_s)
        abandoned.set()
        return list(results)
