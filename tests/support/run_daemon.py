"""Run the daemon in-process on given sources and collect what it publishes."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from genrecast.daemon.audio.sources.base import Source
from genrecast.daemon.engine.daemon import Daemon
from genrecast.daemon.settings import (
    DecisionSettings,
    PublishSettings,
    Settings,
    SourceSettings,
)

_ids = itertools.count()


class ChunkedStream:
    """A byte stream whose reads return at most ``chunk`` bytes (a capture's block size)."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data = data
        self.pos = 0
        self.chunk = chunk

    def read1(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + min(n, self.chunk)]
        self.pos += len(out)
        return out


class Run:
    """Events published, windows classified, and the daemon after its run."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.windows: list[tuple[str, int, np.ndarray]] = []
        self.daemon: Daemon | None = None

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]


def run_daemon(model: Path, specs: list[SourceSettings], sources: list[Source] | None = None,
               decisions: DecisionSettings | None = None, timeout_s: float = 60.0,
               heartbeat_s: float = 5.0,
               on_tick: Callable[[Daemon], None] | None = None) -> Run:
    settings = Settings(sources=tuple(specs), model_path=model,
                        decisions=decisions or DecisionSettings(),
                        publish=PublishSettings(endpoint=f"inproc://daemon-test-{next(_ids)}",
                                                heartbeat_s=heartbeat_s))
    daemon = Daemon(settings, sources=sources)
    run = Run()
    run.daemon = daemon
    daemon.on_event.append(lambda topic, event, sent: run.events.append(event))
    daemon.on_window.append(
        lambda due, probs, outcome: run.windows.append(
            (due.pipeline.name, due.start_sample, due.window)))
    if on_tick is not None:
        daemon.on_tick.append(on_tick)
    timer = threading.Timer(timeout_s, daemon.request_stop)
    timer.start()
    try:
        daemon.start()
        daemon.run()
    finally:
        timer.cancel()
    return run


def comparable(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events without wall-clock fields (those differ between runs)."""
    drop = {"time", "start_utc", "end_utc", "at_utc", "uptime_s", "sources"}
    return [{k: v for k, v in e.items() if k not in drop} for e in events
            if e["kind"] in ("prediction", "genre")]
