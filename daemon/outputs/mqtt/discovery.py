"""Home Assistant MQTT discovery: a device for the daemon and one per source (linked to it with
``via_device``), one retained ``config`` message per entity at
``<discovery_prefix>/<component>/<node_id>/<object_id>/config``.

Unique ids are ``<node_id>_<source>_<entity>`` and ``<node_id>_daemon_<entity>`` (node id from
the MQTT client id), so Home Assistant keeps the same entities across daemon restarts; the
display name of a source changes only what is shown. Every entity shares the daemon's
availability topic (online/offline, offline also as the last will).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from genrecast.daemon.engine.states import SourceState
from genrecast.daemon.outputs.mqtt.commands import THRESHOLD_MAX_PCT, THRESHOLD_MIN_PCT
from genrecast.daemon.outputs.mqtt.model_facts import ModelFacts
from genrecast.daemon.outputs.mqtt.topics import (
    COMMAND_ENTITIES,
    CONFIDENCE,
    DAEMON,
    EVENTS_DROPPED,
    GENRE,
    GENRE_CHANGE,
    LEVEL,
    LISTENING,
    MODEL,
    MODEL_ACCURACY,
    MQTT_CONNECTION,
    MUSIC,
    OFFLINE,
    ONLINE,
    PRESS,
    RELOAD,
    SOURCES_LOST,
    SOURCES_RUNNING,
    STARTED,
    STATE,
    THRESHOLD,
    TITLE,
    Topics,
)
from genrecast.daemon.settings import SourceSettings

try:
    __version__ = version("genrecast")
except PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0+unknown"

# entity → (component, fields particular to it)
_ENTITY_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    GENRE: ("sensor", {
        "name": "Genre", "icon": "mdi:music-box-multiple", "device_class": "enum",
        # JSON state: the genre is the state; confidence, previous genre, since when, the
        # stream's title and the model become attributes. Sent only once there is a genre.
        "value_template": "{{ value_json.genre }}",
    }),
    CONFIDENCE: ("sensor", {
        "name": "Confidence", "icon": "mdi:gauge", "unit_of_measurement": "%",
        "state_class": "measurement",
    }),
    LEVEL: ("sensor", {
        "name": "Input level", "icon": "mdi:volume-high", "unit_of_measurement": "dBFS",
        "state_class": "measurement", "entity_category": "diagnostic",
    }),
    MUSIC: ("binary_sensor", {
        "name": "Music", "device_class": "sound", "payload_on": "ON", "payload_off": "OFF",
    }),
    STATE: ("sensor", {
        "name": "Source state", "icon": "mdi:access-point-check", "device_class": "enum",
        "options": [str(state) for state in SourceState], "entity_category": "diagnostic",
    }),
    TITLE: ("sensor", {
        "name": "Now playing", "icon": "mdi:radio",
        "value_template": "{{ value_json.title or '' }}",
    }),
    LISTENING: ("switch", {
        "name": "Listening", "icon": "mdi:ear-hearing", "payload_on": "ON",
        "payload_off": "OFF", "state_on": "ON", "state_off": "OFF",
    }),
    THRESHOLD: ("number", {
        "name": "Threshold", "icon": "mdi:tune-vertical", "unit_of_measurement": "%",
        "min": THRESHOLD_MIN_PCT, "max": THRESHOLD_MAX_PCT, "step": 1, "mode": "box",
        "entity_category": "config",
    }),
    GENRE_CHANGE: ("event", {
        "name": "Genre change", "icon": "mdi:swap-horizontal",
    }),
}
JSON_STATE_ENTITIES = (GENRE, TITLE)  # their state topic also carries the attributes

# The daemon's device: every sensor reads <prefix>/status (one JSON message).
_DAEMON_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    MQTT_CONNECTION: ("binary_sensor", {
        "name": "MQTT connection", "device_class": "connectivity",
        "entity_category": "diagnostic",
        "value_template": "{{ 'ON' if value_json.mqtt == 'connected' else 'OFF' }}",
    }),
    STARTED: ("sensor", {
        "name": "Started", "device_class": "timestamp", "entity_category": "diagnostic",
        "value_template": "{{ value_json.started_utc }}",
    }),
    MODEL: ("sensor", {
        "name": "Model", "icon": "mdi:brain", "entity_category": "diagnostic",
        "value_template": "{{ value_json.model_id }}",
    }),
    MODEL_ACCURACY: ("sensor", {
        "name": "Model accuracy", "icon": "mdi:bullseye-arrow", "unit_of_measurement": "%",
        "entity_category": "diagnostic",
        "value_template": "{{ value_json.model_accuracy_pct }}",
    }),
    SOURCES_RUNNING: ("sensor", {
        "name": "Sources running", "icon": "mdi:access-point", "state_class": "measurement",
        "value_template": "{{ value_json.sources_running }}",
    }),
    SOURCES_LOST: ("sensor", {
        "name": "Sources lost", "icon": "mdi:access-point-off", "state_class": "measurement",
        "value_template": "{{ value_json.sources_lost }}",
    }),
    EVENTS_DROPPED: ("sensor", {
        "name": "Events dropped", "icon": "mdi:message-alert",
        "state_class": "total_increasing", "entity_category": "diagnostic",
        "value_template": "{{ value_json.events_dropped }}",
    }),
    RELOAD: ("button", {
        "name": "Reload", "device_class": "restart", "payload_press": PRESS,
        "entity_category": "config",
    }),
}


def dashboard_link(url: str) -> str:
    """The dashboard's address as another machine reaches it: a wildcard listen address
    (``0.0.0.0``, ``::``) becomes this host's name."""
    for wildcard in ("//0.0.0.0:", "//[::]:"):
        url = url.replace(wildcard, f"//{socket.gethostname()}:")
    return url


@dataclass(frozen=True)
class Discovery:
    """What the discovery messages depend on besides the sources."""

    topics: Topics
    model: ModelFacts | None
    dashboard_url: str = ""
    """``configuration_url`` of every device (the web dashboard, when it runs)."""
    commands: bool = True
    """Offer the switch, the number and the button (and subscribe to their topics)."""

    def entities_for(self, source: SourceSettings) -> tuple[str, ...]:
        """The entities a source gets: now playing only for streams (``url:``)."""
        return tuple(e for e in _ENTITY_FIELDS
                     if (e != TITLE or source.kind == "url")
                     and (e != GENRE_CHANGE or self.model is not None)
                     and (self.commands or e not in COMMAND_ENTITIES))

    def daemon_entities(self) -> tuple[str, ...]:
        return tuple(e for e in _DAEMON_FIELDS
                     if (e != MODEL_ACCURACY or self.model is not None
                         and self.model.accuracy_pct is not None)
                     and (self.commands or e != RELOAD))

    def _device_extra(self) -> dict[str, Any]:
        return {"configuration_url": self.dashboard_url} if self.dashboard_url else {}

    def daemon_device(self) -> dict[str, Any]:
        return {
            "identifiers": [self.topics.daemon_device_id],
            "name": f"genrecast on {socket.gethostname()}",
            "manufacturer": "genrecast",
            "model": "genrecast daemon",
            "sw_version": __version__,
            **self._device_extra(),
        }

    def source_device(self, source: SourceSettings) -> dict[str, Any]:
        return {
            "identifiers": [self.topics.source_device_id(source.name)],
            "name": source.display_name or f"genrecast {source.name}",
            "manufacturer": "genrecast",
            "model": f"genre classifier ({source.kind} source)",
            "sw_version": __version__,
            "via_device": self.topics.daemon_device_id,
            **self._device_extra(),
        }

    def _common(self, unique_id: str, device: dict[str, Any]) -> dict[str, Any]:
        return {
            "unique_id": unique_id,
            "has_entity_name": True,
            "availability": [{"topic": self.topics.availability, "payload_available": ONLINE,
                              "payload_not_available": OFFLINE}],
            "device": device,
            "origin": {"name": "genrecast", "sw_version": __version__},
        }

    def source_config(self, source: SourceSettings, entity: str) -> dict[str, Any]:
        """The discovery ``config`` message of one source entity (HA's keys, unabbreviated)."""
        fields = _ENTITY_FIELDS[entity][1]
        t = self.topics
        state_topic = t.entity(source.name, entity)
        payload: dict[str, Any] = {**fields, "state_topic": state_topic,
                                   **self._common(t.unique_id(source.name, entity),
                                                  self.source_device(source))}
        if entity in JSON_STATE_ENTITIES:
            payload["json_attributes_topic"] = state_topic
        if entity in COMMAND_ENTITIES:
            payload["command_topic"] = t.command(source.name, entity)
        if entity in (GENRE, GENRE_CHANGE):
            if self.model is not None:
                payload["options" if entity == GENRE else "event_types"] = self.model.genres
            else:  # no card to read the labels from: a plain text sensor
                payload.pop("device_class", None)
        return payload

    def daemon_config(self, entity: str) -> dict[str, Any]:
        fields = _DAEMON_FIELDS[entity][1]
        t = self.topics
        payload: dict[str, Any] = {**fields, **self._common(t.unique_id(DAEMON, entity),
                                                            self.daemon_device())}
        if entity == RELOAD:
            payload["command_topic"] = t.reload
        else:
            payload["state_topic"] = t.daemon_status
        if entity in (MQTT_CONNECTION, MODEL):
            payload["json_attributes_topic"] = t.daemon_status
        return payload

    def messages(self, sources: tuple[SourceSettings, ...]) -> list[tuple[str, dict[str, Any]]]:
        """(config topic, payload) for the daemon's entities and every entity of every source."""
        t = self.topics
        out = [(t.config(_DAEMON_FIELDS[e][0], DAEMON, e), self.daemon_config(e))
               for e in self.daemon_entities()]
        out += [(t.config(_ENTITY_FIELDS[e][0], s.name, e), self.source_config(s, e))
                for s in sources for e in self.entities_for(s)]
        return out
