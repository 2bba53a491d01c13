"""run_all: bounded parallel calls that a stop or a deadline abandons without waiting."""

from __future__ import annotations

import threading
import time

from genrecast.daemon.engine.parallel import PENDING, run_all


def test_results_exceptions_and_bounded_concurrency() -> None:
    running = [0]
    peak = [0]
    lock = threading.Lock()

    def call(i: int) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        if i == 3:
            raise ValueError("three")

    results = run_all([lambda i=i: call(i) for i in range(20)], 4)
    assert peak[0] <= 4
    assert [r is None for r in results] == [i != 3 for i in range(20)]
    assert isinstance(results[3], ValueError)


def test_a_stop_abandons_calls_that_never_return() -> None:
    stop = threading.Event()
    never = threading.Event()
    threading.Timer(0.2, stop.set).start()
    t0 = time.monotonic()
    results = run_all([never.wait, lambda: None], 2, stop=stop)
    assert time.monotonic() - t0 < 5.0
    assert results[0] is PENDING and results[1] is None
    never.set()


def test_a_deadline_abandons_the_rest_and_unstarted_calls_never_run() -> None:
    started: list[int] = []
    gate = threading.Event()

    def slow(i: int) -> None:
        started.append(i)
        gate.wait()

    results = run_all([lambda i=i: slow(i) for i in range(5)], 1,
                      deadline_s=time.monotonic() + 0.2)
    gate.set()
    time.sleep(0.1)
    assert results == [PENDING] * 5
    assert started == [0]
