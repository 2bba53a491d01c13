"""The daemon's own device in Home Assistant: one retained JSON message at ``<prefix>/status``.

Its fields: the MQTT connection (``mqtt``, ``broker``, ``connects``), when the daemon started
(``started_utc``: Home Assistant shows a timestamp sensor as "2 hours ago", so the uptime needs
no message every second), the model (``model_id``, ``model_accuracy_pct`` with
``model_accuracy_basis`` when the card has a grouped figure), how many sources run and how many
are lost, and the events ZeroMQ dropped (subscribers too slow, from the heartbeats). Sent when a
field changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from genrecast.daemon.outputs.mqtt.model_facts import ModelFacts

RUNNING = "running"
LOST_STATES = ("lost", "stalled", "recovering")  # the supervisor is trying to get them back


@dataclass
class DaemonView:
    started_utc: str
    broker: str
    model: ModelFacts | None = None
    mqtt: str = "connecting"
    connects: int = 0
    events_dropped: int = 0
    sent: str | None = None

    def apply_heartbeat(self, event: dict[str, Any]) -> None:
        sources = event.get("sources")
        if isinstance(sources, dict):
            self.events_dropped = sum(int(r.get("events_dropped", 0)) for r in sources.values()
                                      if isinstance(r, dict))

    def payload(self, states: Iterable[str | None]) -> str:
        states = list(states)
        value: dict[str, Any] = {
            "mqtt": self.mqtt, "broker": self.broker, "connects": self.connects,
            "started_utc": self.started_utc,
            "model_id": self.model.model_id if self.model is not None else None,
            "sources": len(states),
            "sources_running": sum(s == RUNNING for s in states),
            "sources_lost": sum(s in LOST_STATES for s in states),
            "events_dropped": self.events_dropped,
        }
        if self.model is not None and self.model.accuracy_pct is not None:
            value["model_accuracy_pct"] = self.model.accuracy_pct
            value["model_accuracy_basis"] = self.model.accuracy_basis
        return json.dumps(value, separators=(",", ":"))

    def due(self, states: Iterable[str | None]) -> str | None:
        """The payload when it changed since it was last sent (marked sent), else None."""
        payload = self.payload(states)
        if payload == self.sent:
            return None
        self.sent = payload
        return payload
