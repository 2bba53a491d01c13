"""Topic names of the MQTT output: one place, so discovery and state publishing agree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from genrecast.daemon.settings import MqttSettings

_NODE_RE = re.compile(r"[^A-Za-z0-9_-]")

# The entities of one source: object id → what it shows.
GENRE = "genre"
CONFIDENCE = "confidence"
LEVEL = "level"
MUSIC = "music"
STATE = "state"
TITLE = "title"
ENTITIES = (GENRE, CONFIDENCE, LEVEL, MUSIC, STATE, TITLE)
PREDICTION = "prediction"  # every window, opt-in, not an entity
ONLINE = "online"
OFFLINE = "offline"
HA_STATUS_TOPIC_SUFFIX = "status"  # <discovery_prefix>/status: Home Assistant's birth message


def node_id(client_id: str) -> str:
    """A Home Assistant node id (``[A-Za-z0-9_-]``) from the client id: stable across restarts."""
    return _NODE_RE.sub("_", client_id) or "genrecast"


@dataclass(frozen=True)
class Topics:
    prefix: str
    discovery_prefix: str
    node: str

    @classmethod
    def from_settings(cls, s: MqttSettings) -> Topics:
        return cls(s.topic_prefix, s.discovery_prefix, node_id(s.resolved_client_id))

    @property
    def availability(self) -> str:
        return f"{self.prefix}/availability"

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/{HA_STATUS_TOPIC_SUFFIX}"

    def entity(self, source: str, entity: str) -> str:
        return f"{self.prefix}/{source}/{entity}"

    def config(self, component: str, source: str, entity: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.node}/{source}_{entity}/config"

    def unique_id(self, source: str, entity: str) -> str:
        return f"{self.node}_{source}_{entity}"
