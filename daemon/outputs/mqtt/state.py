"""What Home Assistant should show for each source, built from the daemon's events.

``SourceView.apply(event)`` updates the view and returns nothing; ``due(now)`` returns the
entities whose payload changed since they were last sent (retained state, sent on change, not
on every window). Nothing is sent for a value that is not known yet: Home Assistant then shows
*unknown* (a ``None`` text would show as "None" on its text and enum sensors). The input level
and the confidence move a little on every window, so they are rounded (1 dB, 1 %) and sent at
most every ``TELEMETRY_INTERVAL_S`` (the first known value at once), except that a new genre
takes its confidence along at once, sent just before it. The genre, music on/off, the source's
state, the switch, the threshold and the title go out at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from genrecast.daemon.outputs.mqtt.topics import (
    CONFIDENCE,
    GENRE,
    LEVEL,
    LISTENING,
    MUSIC,
    STATE,
    THRESHOLD,
    TITLE,
)
from genrecast.daemon.wire.events import SILENCE

TELEMETRY_INTERVAL_S = 5.0
THROTTLED = (LEVEL, CONFIDENCE)
# The order of one batch: the confidence goes before the genre it belongs to, so an automation
# triggered by the genre reads the new confidence.
SEND_ORDER = (STATE, LISTENING, THRESHOLD, LEVEL, MUSIC, CONFIDENCE, GENRE, TITLE)
TITLE_MAX_CHARS = 255  # Home Assistant's limit for a state
PAUSED = "paused"


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def percent_text(value: float) -> str:
    """``0.6`` → ``"60"``, ``0.655`` → ``"65.5"``."""
    return f"{round(100 * value, 1):g}"


@dataclass
class SourceView:
    name: str
    entities: tuple[str, ...]
    threshold: float | None = None
    genre: dict[str, Any] | None = None
    confidence_pct: int | None = None
    level_db: int | None = None
    music: bool | None = None
    state: str | None = None
    title: dict[str, Any] | None = None
    _genre_json: str | None = None
    _title_json: str | None = None
    sent: dict[str, str] = field(default_factory=dict)  # entity → payload last sent
    sent_at: dict[str, float] = field(default_factory=dict)  # entity → monotonic seconds

    # -- events in --------------------------------------------------------------------------

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "prediction":
            self.level_db = round(event["rms_dbfs"])
            genre = event.get("genre")
            smoothed = event.get("smoothed") or {}
            if genre in smoothed:
                self.confidence_pct = round(100 * smoothed[genre])
            self._title(event)
        elif kind == "genre":
            self.genre = {"genre": event["genre"], "confidence": event["confidence"],
                          "previous": event.get("previous"), "since_utc": event.get("at_utc"),
                          "model_id": event.get("model_id")}
            if "stream_title" in event:
                self.genre["stream_title"] = event["stream_title"]
            self._genre_json = _compact(self.genre)
            self.music = event["genre"] != SILENCE
            self.confidence_pct = round(100 * event["confidence"])
            self._title(event)
        elif kind == "track":
            self._set_title(event.get("title"), event.get("at_utc"))
        elif kind == "status" and "state" in event:
            self.state = event["state"]

    def apply_report(self, report: dict[str, Any]) -> None:
        """This source's part of a heartbeat (its threshold may have been set by ``ctl``)."""
        value = report.get("threshold")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.threshold = float(value)

    def set_state(self, state: str) -> None:
        self.state = state

    def _title(self, event: dict[str, Any]) -> None:
        if "stream_title" in event:  # absent: the stream says nothing (or no ICY support)
            self._set_title(event["stream_title"], event.get("end_utc") or event.get("at_utc"))

    def _set_title(self, title: str | None, at_utc: str | None) -> None:
        title = title[:TITLE_MAX_CHARS] if title else None
        if title is None and self.title is None:
            return  # nothing known yet: stay unknown rather than send an empty title
        if self.title is None or title != self.title.get("title"):
            self.title = {"title": title, "since_utc": at_utc}
            self._title_json = _compact(self.title)

    # -- payloads out -------------------------------------------------------------------------

    def payload(self, entity: str) -> str | None:
        """The entity's retained payload, or None while it is not known (nothing is sent)."""
        if entity == GENRE:
            return self._genre_json
        if entity == TITLE:
            return self._title_json
        if entity == CONFIDENCE:
            return None if self.confidence_pct is None else str(self.confidence_pct)
        if entity == LEVEL:
            return None if self.level_db is None else str(self.level_db)
        if entity == MUSIC:
            return None if self.music is None else ("ON" if self.music else "OFF")
        if entity == STATE:
            return self.state
        if entity == LISTENING:
            return None if self.state is None else ("OFF" if self.state == PAUSED else "ON")
        if entity == THRESHOLD:
            return None if self.threshold is None else percent_text(self.threshold)
        raise KeyError(entity)

    def due(self, now_s: float) -> list[tuple[str, str]]:
        """(entity, payload) that changed and may be sent now; marks them sent."""
        new_genre = self._genre_json is not None and self.sent.get(GENRE) != self._genre_json
        out = []
        for entity in SEND_ORDER:
            if entity not in self.entities:
                continue
            payload = self.payload(entity)
            if payload is None or self.sent.get(entity) == payload:
                continue
            if (entity in THROTTLED and entity in self.sent
                    and not (entity == CONFIDENCE and new_genre)
                    and now_s - self.sent_at.get(entity, -1e9) < TELEMETRY_INTERVAL_S):
                continue  # sent later, by next_due
            self.sent[entity] = payload
            self.sent_at[entity] = now_s
            out.append((entity, payload))
        return out

    def next_due_s(self) -> float | None:
        """When a held-back throttled change may go out (monotonic seconds), if one waits."""
        times = [self.sent_at[e] + TELEMETRY_INTERVAL_S for e in THROTTLED
                 if e in self.entities and e in self.sent and self.sent[e] != self.payload(e)]
        return min(times) if times else None

    def everything(self, now_s: float) -> list[tuple[str, str]]:
        """Every known entity's current payload (after a reconnect or a Home Assistant restart)."""
        self.sent.clear()
        return self.due(now_s)
