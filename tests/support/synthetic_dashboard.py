"""A dashboard server in this process with N synthetic sources (the real hub, state and HTTP
server; only the daemon behind it is replaced by a status dict), for the 1000-source page test
and ``benchmarks/dashboard_render.py``."""

from __future__ import annotations

import time
from typing import Any

from genrecast.daemon.outputs.web.hub import EventHub
from genrecast.daemon.outputs.web.server import WebServer
from genrecast.daemon.outputs.web.state import Dashboard
from genrecast.daemon.wire.events import EventFactory

LABELS = ("classical", "rock")
STATES = ("running", "running", "running", "stalled", "lost", "recovering")


def name_of(i: int) -> str:
    return f"station-{i:04d}"


def prediction(factory: EventFactory, i: int, now_s: float, genre: str | None = None,
               title: str | None = None, phase: int = 0) -> dict[str, Any]:
    p = ((i * 37 + phase) % 100) / 100
    probs = {"classical": round(p, 4), "rock": round(1 - p, 4)}
    genre = genre or ("classical" if p >= 0.5 else "rock")
    fields: dict[str, Any] = dict(
        label=genre, confidence=max(p, 1 - p), probabilities=probs, smoothed=probs,
        silent=i % 50 == 0, rms_dbfs=-10.0 - i % 60, start_s=0.0, end_s=3.0,
        start_utc="", end_utc="", genre=genre)
    if title is not None:
        fields["stream_title"] = title
    return factory.make("prediction", name_of(i), now_s, **fields)[1]


class SyntheticDashboard:
    def __init__(self, n: int, history_s: float = 120.0) -> None:
        self.n = n
        self.factory = EventFactory("synthetic@000000000000")
        self.dashboard = Dashboard(LABELS)
        self.hub = EventHub(self.dashboard, prediction_interval_s=1.0)
        now = time.time()
        with self.dashboard.lock:
            for i in range(n):
                _, status = self.factory.make("status", name_of(i), now,
                                              state=STATES[i % len(STATES)], previous_state=None,
                                              detail="", spec=f"url:http://radio{i}/stream")
                self.dashboard.apply(status, now)
            for t in range(int(history_s), 0, -1):  # history for the first few only (timelines)
                for i in range(min(n, 5)):
                    self.dashboard.apply(prediction(self.factory, i, now - t, phase=t), now - t)
            for i in range(n):
                title = f"Artist {i} - Song {i * 7 % 13}" if i % 3 else None
                self.dashboard.apply(prediction(self.factory, i, now, title=title), now)
        self.server = WebServer("127.0.0.1", 0, "", self.hub, self.dashboard, self.status)

    def status(self) -> dict[str, Any]:
        views = self.dashboard.snapshot()["sources"]
        return {"status": {"ready": True, "healthy": True, "model": self.factory.model_id,
                           "backend": "cpu", "uptime_s": 3600.0, "config": None,
                           "sources": {name: {"state": v["state"], "windows_classified": 7200,
                                              "events_dropped": 0, "genre": v["genre"]}
                                       for name, v in views.items()}},
                "snapshot": {"sources": {name: {"state": v["state"], "genre": v["genre"]}
                                         for name, v in views.items()}}}

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> SyntheticDashboard:
        self.hub.start()
        self.server.start()
        return self

    def close(self) -> None:
        self.hub.close()
        self.server.close()
