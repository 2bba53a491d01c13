"""The health rules behind READY=1 and WATCHDOG=1, on supervisor states (no audio needed)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from genrecast.daemon.engine.states import SourceState
from genrecast.daemon.service.notify import Notifier
from genrecast.daemon.service.runtime import ADVANCE_WINDOW_S, READY_GRACE_S, ServiceRuntime
from genrecast.daemon.settings import Settings, SourceSettings

NOW = 1000.0


def _runtime(*watches: tuple[str, float]) -> ServiceRuntime:
    """Watches as (state, seconds since the source's frames last advanced)."""
    settings = Settings(sources=(SourceSettings("a", "stdin"),), model_path=Path("m.tflite"))
    daemon: Any = SimpleNamespace(
        settings=settings, on_status=[], on_window=[], on_event=[], on_tick=[],
        classifier=object(), pipelines={},
        supervisor=SimpleNamespace(watches={
            f"s{i}": SimpleNamespace(state=SourceState(state), last_advance_s=NOW - ago)
            for i, (state, ago) in enumerate(watches)}))
    rt = ServiceRuntime(daemon, notifier=Notifier({}))
    rt.created_s = NOW - 1.0
    return rt


@pytest.mark.parametrize(("watches", "healthy"), [
    ([("running", 0.1)], True),
    ([("running", 0.1), ("running", 0.3)], True),
    ([("running", ADVANCE_WINDOW_S + 0.5)], False),  # running but silent: a hung capture
    ([("starting", 5.0)], False),
    ([("stalled", 3.0)], False),  # the only source stalled: no pings, systemd restarts
    ([("lost", 9.0)], False),
    ([("running", 0.1), ("lost", 30.0)], True),  # one dead radio, the other source advances
    ([("running", 0.1), ("recovering", 5.0)], True),
    ([("running", 0.1), ("starting", 9.0)], False),  # not recovering: something is stuck
    ([("paused", 60.0)], True),  # paused by ctl: the ticking loop is the health
    ([("running", 0.1), ("paused", 60.0), ("stopped", 60.0)], True),
])
def test_watchdog_health(watches: list[tuple[str, float]], healthy: bool) -> None:
    rt = _runtime(*watches)
    assert rt.healthy(NOW) is healthy
    rt.close()


def test_ready_when_all_run_or_after_grace_with_one() -> None:
    rt = _runtime(("running", 0.1), ("lost", 5.0))
    assert not rt._ready(rt.states(), NOW)
    assert rt._ready(rt.states(), rt.created_s + READY_GRACE_S + 0.1)
    rt.close()
    rt = _runtime(("running", 0.1), ("running", 0.1))
    assert rt._ready(rt.states(), NOW)
    rt.close()
    rt = _runtime(("lost", 5.0))
    assert not rt._ready(rt.states(), NOW + 3600)
    rt.close()


def test_status_line_names_sources_states_and_genres() -> None:
    rt = _runtime(("running", 0.1), ("lost", 5.0))
    rt.daemon.pipelines["s0"] = SimpleNamespace(current_genre={"genre": "rock"})
    rt.daemon.classifier = SimpleNamespace(card=SimpleNamespace(model_id="m@1"))
    assert rt.summary(rt.states()) == "1/2 sources running; s0: running (rock); s1: lost; model m@1"
    rt.close()
