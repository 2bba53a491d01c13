"""``MqttOutput``: a peer of the daemon's hooks that mirrors the daemon and each source into MQTT.

The hooks (``on_event``, ``on_status``) run on the daemon's loop thread and only put the event
on a queue (bounded: when the MQTT thread falls behind, events are dropped and counted, never
waited for). The output's own thread owns everything else: the per-source views, the daemon's
view, what changed, the paho client. After every (re)connect it republishes availability, the
discovery configurations and every entity's current state; when Home Assistant announces itself
on ``homeassistant/status`` it does the same once per burst of announcements
(``BIRTH_QUIET_S``). Commands from Home Assistant are checked here (``commands.py``) and run
through the control socket's path on a thread of their own.
"""

from __future__ import annotations

import heapq
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from genrecast.daemon.outputs.mqtt.commands import CommandRunner, Execute, Rejected, parse_command
from genrecast.daemon.outputs.mqtt.connection import (
    CONNECTED,
    CONNECTING,
    DISCONNECTED,
    REFUSED,
    Connection,
)
from genrecast.daemon.outputs.mqtt.daemon_view import DaemonView
from genrecast.daemon.outputs.mqtt.discovery import Discovery, dashboard_link
from genrecast.daemon.outputs.mqtt.model_facts import ModelFacts
from genrecast.daemon.outputs.mqtt.state import SourceView
from genrecast.daemon.outputs.mqtt.topics import (
    GENRE_CHANGE,
    OFFLINE,
    ONLINE,
    PREDICTION,
    STATE,
    Topics,
    client_id_for,
)
from genrecast.daemon.settings import MqttSettings, SourceSettings
from genrecast.daemon.wire.events import HEARTBEAT_SOURCE, utc_iso

log = logging.getLogger(__name__)

QUEUE_EVENTS = 20_000  # events waiting for the MQTT thread before new ones are dropped
IDLE_WAKE_S = 1.0
STOP_TIMEOUT_S = 1.5  # a stop must stay within the daemon's 2-s promise
# Home Assistant's "online": republish once this long after the last one of a burst (500 in a
# row drew 10,504 messages when each republished), but never later than BIRTH_MAX_WAIT_S after
# the first.
BIRTH_QUIET_S = 0.5
BIRTH_MAX_WAIT_S = 5.0
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
    commands: int = 0
    commands_rejected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "broker": self.broker, "detail": self.detail,
                "connects": self.connects, "published": self.published, "dropped": self.dropped,
                "commands": self.commands, "commands_rejected": self.commands_rejected}


class MqttOutput:
    """``start()`` after construction; attach ``on_event`` / ``on_status`` to the daemon.

    ``instance`` tells daemons on one host apart for the default client id (the resolved event
    endpoint); ``threshold`` is ``[decisions] threshold``; ``execute`` runs a control request
    (None: no commands are offered)."""

    def __init__(self, settings: MqttSettings, sources: tuple[SourceSettings, ...], *,
                 instance: str = "", model: ModelFacts | None = None, threshold: float = 0.6,
                 dashboard_url: str = "", execute: Execute | None = None) -> None:
        self.settings = settings
        self.sources = sources
        self.client_id = client_id_for(settings, instance)
        self.topics = Topics.from_settings(settings, self.client_id)
        self.discovery = Discovery(self.topics, model, dashboard_url,
                                   commands=execute is not None and settings.commands)
        self.views = {s.name: SourceView(s.name, self.discovery.entities_for(s), threshold)
                      for s in sources}
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        subscriptions = ((self.topics.ha_status,) if settings.discovery_prefix else ()) + (
            self.topics.commands if self.discovery.commands else ())
        self.connection = Connection(settings, self.topics, self._report, self._message,
                                     self.client_id, subscriptions)
        self.status = MqttStatus(CONNECTING, self.connection.url, "not started")
        self.daemon = DaemonView(utc_iso(time.time()), self.connection.url, model)
        self.runner = CommandRunner(execute or (lambda _r: {"ok": False}), self._command_done)
        self._source_names = frozenset(self.views)
        self.on_change: list[Callable[[MqttStatus], None]] = []
        """Called on the MQTT thread when the connection state changes."""
        self._last_logged: tuple[str, str] | None = None
        # Sources whose level/confidence change is held back, by when it may go out (a heap, so
        # an event costs the same with 1 or 1000 sources).
        self._held: list[tuple[float, str]] = []
        self._held_names: set[str] = set()
        self._birth_first_s: float | None = None
        self._birth_at_s = 0.0
        self._thread = threading.Thread(target=self._run, name="genrecast-mqtt", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MqttOutput:
        self._thread.start()
        if self.discovery.commands:
            self.runner.start()
        self.connection.start()
        return self

    def close(self) -> None:
        """Send what is still queued (the final ``stopped`` states), then ``offline``."""
        self.runner.close()
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        self._thread.join(STOP_TIMEOUT_S)

    # -- hooks (the daemon's loop thread: never block) -----------------------------------------

    def on_event(self, _topic: str, event: dict[str, Any], _sent: bool) -> None:
        source = event.get("source")
        if (source in self.views and event.get("kind") != "status"
                or source == HEARTBEAT_SOURCE and event.get("kind") == "heartbeat"):
            self._put(("event", event))

    def on_status(self, source: str, state: object, _previous: object, _detail: str) -> None:
        if source in self.views:
            self._put(("state", source, str(state)))  # SourceState → "running"

    def set_dashboard(self, url: str) -> None:
        """Before ``start()``: the web dashboard's address, the devices' configuration_url."""
        self.discovery = replace(self.discovery, dashboard_url=dashboard_link(url))

    def set_model(self, model: ModelFacts) -> None:
        """A reload brought another model: new genre options, id and accuracy."""
        self._queue.put(("model", model))

    def _put(self, item: tuple[Any, ...]) -> None:
        if self._queue.qsize() >= QUEUE_EVENTS:
            self.status.dropped += 1
            return
        self._queue.put(item)

    # -- paho's thread -------------------------------------------------------------------------

    def _report(self, state: str, detail: str) -> None:
        self._queue.put(("conn", state, detail))

    def _message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == self.topics.ha_status:
            if payload.strip() == b"online":
                self._put(("birth",))
        else:
            self._put(("command", topic, payload, retained))

    # -- the command thread ----------------------------------------------------------------------

    def _command_done(self, request: dict[str, Any], reply: dict[str, Any]) -> None:
        self.status.commands, self.status.commands_rejected = (self.runner.accepted,
                                                               self.runner.rejected)
        if reply.get("ok") and request["command"] == "threshold":
            self._queue.put(("threshold", request["source"], request["value"]))

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
        times = [time.monotonic() + IDLE_WAKE_S]
        if self._birth_first_s is not None:
            times.append(self._birth_at_s)
        if self._held and self.connection.connected:
            times.append(self._held[0][0])
        return max(0.0, min(times) - time.monotonic())

    def _handle(self, item: tuple[Any, ...]) -> None:
        what = item[0]
        if what == "event":
            self._event(item[1])
        elif what == "state":
            view = self.views[item[1]]
            view.set_state(item[2])
            self._send_changes(view)
        elif what == "conn":
            self._connection_changed(item[1], item[2])
        elif what == "birth":
            now = time.monotonic()
            if self._birth_first_s is None:
                self._birth_first_s = now
            self._birth_at_s = min(now + BIRTH_QUIET_S, self._birth_first_s + BIRTH_MAX_WAIT_S)
        elif what == "command":
            self._command(item[1], item[2], item[3])
        elif what == "threshold":
            view = self.views[item[1]]
            view.threshold = item[2]
            self._send_changes(view)
        elif what == "model":
            self.discovery = replace(self.discovery, model=item[1])
            self.daemon.model = item[1]
            self._republish()
        now = time.monotonic()
        if self._birth_first_s is not None and now >= self._birth_at_s:
            self._birth_first_s = None
            log.info("mqtt: Home Assistant came online; republishing discovery and state")
            self._republish()
        while self._held and self._held[0][0] <= now and self.connection.connected:
            _, name = heapq.heappop(self._held)  # throttled changes whose time has come
            self._held_names.discard(name)
            self._send_changes(self.views[name])

    def _event(self, event: dict[str, Any]) -> None:
        if event["kind"] == "heartbeat":
            self.daemon.apply_heartbeat(event)
            for name, report in (event.get("sources") or {}).items():
                if name in self.views and isinstance(report, dict):
                    self.views[name].apply_report(report)
                    self._send_changes(self.views[name])
            self._send_daemon()
            return
        view = self.views[event["source"]]
        view.apply(event)
        self._send_changes(view)
        if event["kind"] == "genre" and GENRE_CHANGE in view.entities:
            # Home Assistant's event entity: not retained, or a restart of HA would fire it again.
            change = {"event_type": event["genre"], "from": event.get("previous"),
                      "to": event["genre"], "confidence": event.get("confidence"),
                      "at_utc": event.get("at_utc")}
            self._send(self.topics.entity(view.name, GENRE_CHANGE),
                       json.dumps(change, separators=(",", ":")), retain=False, qos=1)
        if self.settings.predictions and event["kind"] == "prediction":
            self._send(self.topics.entity(view.name, PREDICTION),
                       json.dumps(event, separators=(",", ":")), retain=False, qos=0)

    def _command(self, topic: str, payload: bytes, retained: bool) -> None:
        if not self.discovery.commands:
            return
        try:
            request = parse_command(self.topics, self._source_names, topic, payload, retained)
        except Rejected as exc:
            self.runner.reject(topic, str(exc))
            self.status.commands_rejected = self.runner.rejected
            return
        self.runner.offer(topic, request)
        self.status.commands_rejected = self.runner.rejected

    def _connection_changed(self, state: str, detail: str) -> None:
        if state == CONNECTED:
            self.status.connects += 1
        self.status.state, self.status.detail = state, detail
        self.daemon.mqtt, self.daemon.connects = state, self.status.connects
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
            for topic, payload in self.discovery.messages(self.sources):
                self._send(topic, json.dumps(payload, separators=(",", ":")), retain=True, qos=0)
        self.daemon.sent = None
        self._send_daemon()
        now = time.monotonic()
        for view in self.views.values():
            for entity, payload in view.everything(now):
                self._send(self.topics.entity(view.name, entity), payload, retain=True, qos=0)

    def _send_daemon(self) -> None:
        if not self.connection.connected:
            return
        payload = self.daemon.due(v.state for v in self.views.values())
        if payload is not None:
            self._send(self.topics.daemon_status, payload, retain=True, qos=0)

    def _send_changes(self, view: SourceView) -> None:
        if not self.connection.connected:
            return  # the view keeps the latest values; a reconnect sends them all
        changes = view.due(time.monotonic())
        for entity, payload in changes:
            self._send(self.topics.entity(view.name, entity), payload, retain=True, qos=0)
        if any(entity == STATE for entity, _ in changes):
            self._send_daemon()  # sources running / lost
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
        self._send_daemon()
        self.connection.close([(self.topics.availability, OFFLINE)])
        self.status.state, self.status.detail = DISCONNECTED, "daemon stopped"
