"""What the dashboard shows per source, updated from events on the hub's thread.

The timeline keeps the last ``TIMELINE_S`` of probabilities per source in ``BUCKET_S`` buckets
(the mean of the windows that ended in each, and the genre decided last), in fixed rings:
1000 sources with two labels cost about 6 MB, whatever the hop.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from dataclasses import dataclass
from typing import Any

TIMELINE_S = 600.0
BUCKET_S = 2.0
BUCKETS = int(TIMELINE_S / BUCKET_S)
NO_GENRE = -1
SILENCE_GENRE = -2


class Timeline:
    """A ring of ``BUCKETS`` buckets, indexed by ``bucket id % BUCKETS``, in flat ``array``s:
    compact like numpy, and a tenth of numpy's cost per scalar update in pure Python."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.width = len(labels)
        self.ids = array("q", [-1]) * BUCKETS
        self.sums = array("f", [0.0]) * (BUCKETS * self.width)
        self.counts = array("i", [0]) * BUCKETS
        self.genres = array("b", [NO_GENRE]) * BUCKETS

    def add(self, t_s: float, probs: list[float], genre: str | None) -> None:
        bucket = int(t_s // BUCKET_S)
        i = bucket % BUCKETS
        base = i * self.width
        sums = self.sums
        if self.ids[i] != bucket:
            self.ids[i] = bucket
            self.counts[i] = 0
            for j in range(self.width):
                sums[base + j] = 0.0
        for j, p in enumerate(probs[: self.width]):
            sums[base + j] += p
        self.counts[i] += 1
        if genre is None:
            self.genres[i] = NO_GENRE
        elif genre in self.labels:
            self.genres[i] = self.labels.index(genre)
        else:
            self.genres[i] = SILENCE_GENRE

    def as_json(self, now_s: float) -> dict[str, Any]:
        oldest = int(now_s // BUCKET_S) - BUCKETS + 1
        points = []
        for i in sorted(range(BUCKETS), key=self.ids.__getitem__):
            bucket, n = self.ids[i], self.counts[i]
            if bucket < oldest or n == 0:
                continue
            base = i * self.width
            mean = [round(self.sums[base + j] / n, 4) for j in range(self.width)]
            g = self.genres[i]
            genre = self.labels[g] if g >= 0 else ("silence" if g == SILENCE_GENRE else None)
            points.append([round(bucket * BUCKET_S, 1), mean, genre])
        return {"labels": list(self.labels), "bucket_s": BUCKET_S, "span_s": TIMELINE_S,
                "points": points}


@dataclass
class SourceView:
    """The latest of everything the page shows for one source."""

    name: str
    state: str = "starting"
    detail: str = ""
    spec: str = ""
    genre: str | None = None
    confidence: float | None = None
    top: str | None = None
    level_dbfs: float | None = None
    silent: bool = False
    stream_title: str | None = None
    last_window_utc: str | None = None
    timeline: Timeline | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "detail": self.detail, "spec": self.spec,
                "genre": self.genre, "confidence": self.confidence, "top": self.top,
                "level_dbfs": self.level_dbfs, "silent": self.silent,
                "stream_title": self.stream_title, "last_window_utc": self.last_window_utc}


class Dashboard:
    """Per-source views; written by the hub thread, read by HTTP threads (under ``lock``)."""

    def __init__(self, labels: tuple[str, ...] = ()) -> None:
        self.lock = threading.Lock()
        self.labels = labels
        self.sources: dict[str, SourceView] = {}

    def _view(self, name: str) -> SourceView:
        view = self.sources.get(name)
        if view is None:
            view = self.sources[name] = SourceView(name)
        return view

    def apply(self, event: dict[str, Any], now_s: float) -> None:
        """One event from the daemon (any kind); the caller holds ``lock``."""
        kind = event.get("kind")
        source = event.get("source")
        if not isinstance(source, str) or source == "*":
            return
        view = self._view(source)
        if "stream_title" in event:  # added by url sources with ICY metadata; absent otherwise
            title = event["stream_title"]
            view.stream_title = str(title) if title else None
        if kind == "prediction":
            self._prediction(view, event, now_s)
        elif kind == "genre":
            view.genre = event.get("genre")
            view.confidence = event.get("confidence")
        elif kind == "status":
            view.state = str(event.get("state", view.state))
            view.detail = str(event.get("detail", ""))
            view.spec = str(event.get("spec", view.spec))

    def _prediction(self, view: SourceView, event: dict[str, Any], now_s: float) -> None:
        probs = event.get("probabilities") or {}
        labels = tuple(probs)
        if labels != self.labels:
            self.labels = labels  # another model after a reload: timelines start again
            for other in self.sources.values():
                other.timeline = None
        smoothed = event.get("smoothed") or {}
        genre = event.get("genre")
        view.genre = genre
        view.confidence = smoothed.get(genre) if genre in smoothed else None
        view.top = event.get("label")
        level = event.get("rms_dbfs")
        view.level_dbfs = level if isinstance(level, (int, float)) and math.isfinite(level) \
            else None
        view.silent = bool(event.get("silent"))
        view.last_window_utc = event.get("end_utc")
        if view.timeline is None:
            view.timeline = Timeline(labels)
        view.timeline.add(now_s, list(probs.values()), genre)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"labels": list(self.labels),
                    "sources": {name: v.as_json() for name, v in self.sources.items()}}

    def timeline(self, name: str) -> dict[str, Any] | None:
        with self.lock:
            view = self.sources.get(name)
            if view is None:
                return None
            if view.timeline is None:
                return {"labels": list(self.labels), "bucket_s": BUCKET_S, "span_s": TIMELINE_S,
                        "points": []}
            return view.timeline.as_json(time.time())
