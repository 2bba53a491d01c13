"""Topic names of the MQTT output: one place, so discovery, state and commands agree.

Source topics have three levels (``<prefix>/<source>/<entity>``, commands a fourth: ``/set``);
the daemon's own have two (``<prefix>/availability``, ``<prefix>/status``, ``<prefix>/reload``),
so no source name can collide with them.
"""

from __future__ import annotations

import hashlib
import re
import socket
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
LISTENING = "listening"  # switch: on = classifying, off = paused
THRESHOLD = "threshold"  # number: the source's decision threshold, in %
GENRE_CHANGE = "genre_change"  # event entity: from/to, not retained
ENTITIES = (GENRE, CONFIDENCE, LEVEL, MUSIC, STATE, TITLE, LISTENING, THRESHOLD, GENRE_CHANGE)
COMMAND_ENTITIES = (LISTENING, THRESHOLD)
PREDICTION = "prediction"  # every window, opt-in, not an entity
# The daemon's own device: entities read from <prefix>/status, and the reload button.
DAEMON = "daemon"
MQTT_CONNECTION = "mqtt"
STARTED = "started"
MODEL = "model"
MODEL_ACCURACY = "model_accuracy"
SOURCES_RUNNING = "sources_running"
SOURCES_LOST = "sources_lost"
EVENTS_DROPPED = "events_dropped"
RELOAD = "reload"
ONLINE = "online"
OFFLINE = "offline"
SET = "set"
PRESS = "PRESS"  # what Home Assistant's button sends
HA_STATUS_TOPIC_SUFFIX = "status"  # <discovery_prefix>/status: Home Assistant's birth message


def node_id(client_id: str) -> str:
    """A Home Assistant node id (``[A-Za-z0-9_-]``) from the client id: stable across restarts."""
    return _NODE_RE.sub("_", client_id) or "genrecast"


def client_id_for(settings: MqttSettings, instance: str) -> str:
    """``[mqtt] client_id``, else ``genrecast-<hostname>-<6 hex digits of the instance>``.

    ``instance`` is what tells two daemons on one host apart and stays the same across restarts:
    the resolved event endpoint (two running daemons cannot share one). Without it, two daemons
    on one host took the broker session from each other every second."""
    if settings.client_id:
        return settings.client_id
    digest = hashlib.sha256(instance.encode()).hexdigest()[:6]
    return f"genrecast-{socket.gethostname()}-{digest}"


@dataclass(frozen=True)
class Topics:
    prefix: str
    discovery_prefix: str
    node: str

    @classmethod
    def from_settings(cls, s: MqttSettings, client_id: str) -> Topics:
        return cls(s.topic_prefix, s.discovery_prefix, node_id(client_id))

    @property
    def availability(self) -> str:
        return f"{self.prefix}/availability"

    @property
    def daemon_status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def reload(self) -> str:
        return f"{self.prefix}/{RELOAD}"

    @property
    def commands(self) -> tuple[str, ...]:
        """What the daemon subscribes to for commands."""
        return (f"{self.prefix}/+/+/{SET}", self.reload)

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/{HA_STATUS_TOPIC_SUFFIX}"

    def entity(self, source: str, entity: str) -> str:
        return f"{self.prefix}/{source}/{entity}"

    def command(self, source: str, entity: str) -> str:
        return f"{self.prefix}/{source}/{entity}/{SET}"

    def parse_command(self, topic: str) -> tuple[str, str] | None:
        """``<prefix>/<source>/<entity>/set`` → (source, entity); None for any other topic."""
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) != 3 or parts[2] != SET:
            return None
        return parts[0], parts[1]

    def config(self, component: str, source: str, entity: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.node}/{source}_{entity}/config"

    def unique_id(self, source: str, entity: str) -> str:
        return f"{self.node}_{source}_{entity}"

    @property
    def daemon_device_id(self) -> str:
        return self.node

    def source_device_id(self, source: str) -> str:
        return f"{self.node}_{source}"
