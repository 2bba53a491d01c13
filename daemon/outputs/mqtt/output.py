"""``MqttOutput``: a peer of the daemon's hooks that mirrors each source into MQTT.

The hooks (``on_event``, ``on_status``) run on the daemon's loop thread and only put the event
on a queue (bounded: when the MQTT thread falls behind, events are dropped and counted, never
waited for). The output's own thread owns everything else: the per-source views, what changed,
the paho client. After every (re)connect, and when Home Assistant announces itself on
``homeassistant/status``, it republishes availability, the discovery configurations and every
entity's current state.
"""

from __future__ import annotations

import heapq
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genrecast.daemon.outputs.mqtt.connection import (
    CONNECTED,
    CONNECTING,
    DISCONNECTED,
    REFUSED,
    Connection,
)
from genrecast.daemon.outputs.mqtt.discovery import discovery_messages, entities_for
from genrecast.daemon.outputs.mqtt.state import SourceView
from genrecast.daemon.outputs.mqtt.topics import OFFLINE, ONLINE, PREDICTION, Topics
from genrecast.daemon.settings import MqttSettings, SourceSettings

log = logging.getLogger(__name__)

QUEUE_EVENTS = 20_000  # events waiting for the MQTT thread before new ones are dropped
IDLE_WAKE_S = 1.0
STOP_TIMEOUT_S = 1.5  # a stop must stay within the daemon's 2-s promise
_STOP = ("stop",)


@dataclass
class MqttStatus:
    """What the daemon reports about its broker connection (heartbeats, status, metrics)."""

    state: str
    broker: str
    detail: str
    connects: int = 0
    published: int = 0
    dropped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "broker": self.broker, "detail": self.detail,
                "connects": self.connects, "published": self.published, "dropped": self.dropped}


class MqttOutput:
    """``start()`` after construction; attach ``on_event`` / ``on_status`` to the daemon."""

    def __init__(self, settings: MqttSettings, sources: tuple[SourceSettings, ...]) -> None:
        self.settings = settings
        self.sources = sources
        self.topics = Topics.from_settings(settings)
        self.views = {s.name: SourceView(s.name, entities_for(s)) for s in sources}
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.connection = Connection(settings, self.topics, self._report, self._message)
        self.status = MqttStatus(CONNECTING, self.connection.url, "not started")
        self.on_change: list[Callable[[MqttStatus], None]] = []
        """Called on the MQTT thread when the connection state changes."""
        self._last_logged: tuple[str, str] | None = None
        # Sources whose level/confidence change is held back, by when it may go out (a heap, so
        # an event costs the same with 1 or 1000 sources).
        self._held: list[tuple[float, str]] = []
        self._held_names: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="genrecast-mqtt", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MqttOutput:
        self._thread.start()
        self.connection.start()
        return self

    def close(self) -> None:
        """Send what is still queued (the final ``stopped`` states), then ``offline``."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        self._thread.join(STOP_TIMEOUT_S)

    # -- hooks (the daemon's loop thread: never block) -----------------------------------------

    def on_event(self, _topic: str, event: dict[str, Any], _sent: bool) -> None:
        if event.get("source") in self.views and event.get("kind") != "status":
            self._put(("event", event))

    def on_status(self, source: str, state: object, _previous: object, _detail: str) -> None:
        if source in self.views:
            self._put(("state", source, str(state)))  # SourceState → "running"

    def _put(self, item: tuple[Any, ...]) -> None:
        if self._queue.qsize() >= QUEUE_EVENTS:
            self.status.dropped += 1
            return
        self._queue.put(item)

    # -- paho's thread -------------------------------------------------------------------------

    def _report(self, state: str, detail: str) -> None:
        self._queue.put(("conn", state, detail))

    def _message(self, topic: str, payload: bytes) -> None:
        if topic == self.topics.ha_status and payload.strip() == b"online":
            self._queue.put(("republish",))

    # -- the MQTT thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._wait_s())
            except queue.Empty:
                item = ("tick",)
            try:
                if item is _STOP:
                    self._stop()
                    return
                self._handle(item)
            except Exception:  # a bad event must not end MQTT for the daemon's lifetime
                log.exception("mqtt: handling %s failed", item[0])

    def _wait_s(self) -> float:
        if not self.connection.connected:
            return IDLE_WAKE_S
        if not self._held:
            return IDLE_WAKE_S
        return min(IDLE_WAKE_S, max(0.0, self._held[0][0] - time.monotonic()))

    def _handle(self, item: tuple[Any, ...]) -> None:
        what = item[0]
        if what == "event":
            event = item[1]
            view = self.views[event["source"]]
            view.apply(event)
            self._send_changes(view)
            if self.settings.predictions and event["kind"] == "prediction":
                self._send(self.topics.entity(view.name, PREDICTION),
                           json.dumps(event, separators=(",", ":")), retain=False, qos=0)
        elif what == "state":
            view = self.views[item[1]]
            view.set_state(item[2])
            self._send_changes(view)
        elif what == "conn":
            self._connection_changed(item[1], item[2])
        elif what == "republish":
            log.info("mqtt: Home Assistant came online; republishing discovery and state")
            self._republish()
        now = time.monotonic()
        while self._held and self._held[0][0] <= now and self.connection.connected:
            _, name = heapq.heappop(self._held)  # throttled changes whose time has come
            self._held_names.discard(name)
            self._send_changes(self.views[name])

    def _connection_changed(self, state: str, detail: str) -> None:
        if state == CONNECTED:
            self.status.connects += 1
        self.status.state, self.status.detail = state, detail
        if (state, detail) != self._last_logged:  # one line per change, not per retry
            self._last_logged = (state, detail)
            level = {CONNECTED: logging.INFO, CONNECTING: logging.INFO,
                     DISCONNECTED: logging.WARNING, REFUSED: logging.ERROR}[state]
            log.log(level, "mqtt: %s", detail)
        if state == CONNECTED:
            self._republish()
        for hook in self.on_change:
            hook(self.status)

    def _republish(self) -> None:
        if not self.connection.connected:
            return
        self._send(self.topics.availability, ONLINE, retain=True, qos=1)
        if self.settings.discovery_prefix:
            for topic, payload in discovery_messages(self.topics, self.sources):
                self._send(topic, json.dumps(payload, separators=(",", ":")), retain=True, qos=0)
        now = time.monotonic()
        for view in self.views.values():
            for entity, payload in view.everything(now):
                self._send(self.topics.entity(view.name, entity), payload, retain=True, qos=0)

    def _send_changes(self, view: SourceView) -> None:
        if not self.connection.connected:
            return  # the view keeps the latest values; a reconnect sends them all
        for entity, payload in view.due(time.monotonic()):
            self._send(self.topics.entity(view.name, entity), payload, retain=True, qos=0)
        if view.name not in self._held_names:
            due = view.next_due_s()
            if due is not None:
                heapq.heappush(self._held, (due, view.name))
                self._held_names.add(view.name)

    def _send(self, topic: str, payload: str, *, retain: bool, qos: int) -> None:
        """QoS 0 for discovery and state: a reconnect republishes all of it anyway, and QoS 1
        would bound a 1000-source discovery burst by paho's in-flight queue. Availability is
        QoS 1 (like the last will)."""
        if self.connection.publish(topic, payload, retain=retain, qos=qos):
            self.status.published += 1
        else:
            self.status.dropped += 1

    def _stop(self) -> None:
        # The final "stopped" states went out in order before this; offline comes last.
        self.connection.close([(self.topics.availability, OFFLINE)])
        self.status.state, self.status.detail = DISCONNECTED, "daemon stopped"
