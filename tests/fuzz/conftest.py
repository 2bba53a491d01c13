"""Fuzzing support: a case counter printed at the end of the run, and the examples budget.

``GENRECAST_FUZZ_SCALE`` multiplies every fuzz test's number of cases (1 in CI; raise it to fuzz
harder on demand, e.g. ``GENRECAST_FUZZ_SCALE=20 pytest tests/fuzz``).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

FUZZ_SCALE = max(1, int(os.environ.get("GENRECAST_FUZZ_SCALE", "1")))
CASES: Counter[str] = Counter()


def budget(cases: int) -> int:
    """Examples for one fuzz target, scaled by GENRECAST_FUZZ_SCALE."""
    return cases * FUZZ_SCALE


@pytest.fixture
def fuzz_count(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Call ``fuzz_count()`` once per fuzz case; the totals are printed after the run."""
    target = request.node.module.__name__.rsplit(".", 1)[-1]

    def count(n: int = 1) -> None:
        CASES[target] += n

    return count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CASES:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(CASES.items()))
        terminalreporter.write_line(f"fuzz cases: {sum(CASES.values())} ({parts})")
