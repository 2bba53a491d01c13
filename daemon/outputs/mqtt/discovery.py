"""Home Assistant MQTT discovery: one device per source, one retained ``config`` message per
entity at ``<discovery_prefix>/<component>/<node_id>/<source>_<entity>/config``.

Unique ids are ``<node_id>_<source>_<entity>`` (node id from the MQTT client id), so Home
Assistant keeps the same entities across daemon restarts. Every entity shares the daemon's
availability topic (online/offline, offline also as the last will).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from genrecast.daemon.outputs.mqtt.topics import (
    CONFIDENCE,
    GENRE,
    LEVEL,
    MUSIC,
    OFFLINE,
    ONLINE,
    STATE,
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
        "name": "Genre", "icon": "mdi:music-box-multiple",
        # JSON state: the genre is the state; confidence, previous genre, since when, the
        # stream's title and the model become attributes.
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
        "name": "Source state", "icon": "mdi:access-point-check",
        "entity_category": "diagnostic",
    }),
    TITLE: ("sensor", {
        "name": "Now playing", "icon": "mdi:radio",
        "value_template": "{{ value_json.title }}",
    }),
}
JSON_STATE_ENTITIES = (GENRE, TITLE)  # their state topic also carries the attributes


def entities_for(source: SourceSettings) -> tuple[str, ...]:
    """The entities a source gets: now playing only for streams (``url:``)."""
    return tuple(e for e in _ENTITY_FIELDS if e != TITLE or source.kind == "url")


def component_of(entity: str) -> str:
    return _ENTITY_FIELDS[entity][0]


def device(topics: Topics, source: SourceSettings) -> dict[str, Any]:
    return {
        "identifiers": [f"{topics.node}_{source.name}"],
        "name": f"genrecast {source.name}",
        "manufacturer": "genrecast",
        "model": f"genre classifier ({source.kind} source)",
        "sw_version": __version__,
    }


def config_payload(topics: Topics, source: SourceSettings, entity: str) -> dict[str, Any]:
    """The discovery ``config`` message of one entity (HA's documented keys, unabbreviated)."""
    _component, fields = _ENTITY_FIELDS[entity]
    state_topic = topics.entity(source.name, entity)
    payload: dict[str, Any] = {
        **fields,
        "unique_id": topics.unique_id(source.name, entity),
        "has_entity_name": True,
        "state_topic": state_topic,
        "availability": [{"topic": topics.availability, "payload_available": ONLINE,
                          "payload_not_available": OFFLINE}],
        "device": device(topics, source),
        "origin": {"name": "genrecast", "sw_version": __version__},
    }
    if entity in JSON_STATE_ENTITIES:
        payload["json_attributes_topic"] = state_topic
    return payload


def discovery_messages(topics: Topics,
                       sources: tuple[SourceSettings, ...]) -> list[tuple[str, dict[str, Any]]]:
    """(config topic, payload) for every entity of every source."""
    return [(topics.config(component_of(e), s.name, e), config_payload(topics, s, e))
            for s in sources for e in entities_for(s)]
