"""Event payloads: one ZeroMQ message per event, a single frame ``TOPIC JSON``.

The topic comes first so subscribers filter by prefix (``genrecast.genre.`` for genre changes of
every source, ``genrecast.prediction.living`` for one source's windows). Every event carries
``schema_version``, ``kind``, ``source``, ``seq`` (per source and kind, so gaps are visible),
``time`` (UTC ISO 8601) and ``model_id``; ``daemon/wire/event_schema.json`` describes each kind.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

SCHEMA_VERSION = "1.0"
TOPIC_PREFIX = "genrecast"
KINDS = ("prediction", "genre", "track", "status", "heartbeat")
HEARTBEAT_SOURCE = "*"  # heartbeats describe the whole daemon; "*" is not a valid source name
SILENCE = "silence"  # the pseudo-genre declared while the silence gate is closed


_second_cache: dict[int, str] = {}


def utc_iso(epoch_s: float) -> str:
    """Seconds since the epoch → ``2026-01-01T12:00:00.123456Z``.

    Every prediction event carries three timestamps; formatting the whole-second part once per
    second (a tiny cache) and appending the microseconds is 4× cheaper than strftime each time."""
    second = math.floor(epoch_s)
    micro = round((epoch_s - second) * 1_000_000)  # the subtraction is exact, as in datetime
    if micro == 1_000_000:
        second, micro = second + 1, 0
    head = _second_cache.get(second)
    if head is None:
        if len(_second_cache) > 64:  # windows of many sources span a few seconds at most
            _second_cache.clear()
        head = datetime.fromtimestamp(second, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _second_cache[second] = head
    return f"{head}.{micro:06d}Z"


def topic_for(kind: str, source: str) -> str:
    if kind == "heartbeat":
        return f"{TOPIC_PREFIX}.heartbeat"
    return f"{TOPIC_PREFIX}.{kind}.{source}"


def encode(topic: str, event: dict[str, Any]) -> bytes:
    """The wire format: ``topic``, one space, compact JSON (UTF-8)."""
    return f"{topic} {json.dumps(event, separators=(',', ':'), allow_nan=False)}".encode()


def decode(message: bytes) -> tuple[str, dict[str, Any]]:
    """The inverse of ``encode``: (topic, event)."""
    topic, _, body = message.decode().partition(" ")
    return topic, json.loads(body)


class EventFactory:
    """Builds events with the common fields and per (kind, source) sequence numbers."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self._seq: dict[tuple[str, str], int] = defaultdict(int)

    def make(self, kind: str, source: str, now_s: float, **fields: Any) -> tuple[str, dict[str, Any]]:
        key = (kind, source)
        seq = self._seq[key]
        self._seq[key] = seq + 1
        event: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "kind": kind,
            "source": source,
            "seq": seq,
            "time": utc_iso(now_s),
            "model_id": self.model_id,
        }
        event.update(fields)
        return topic_for(kind, source), event
