"""The parent's side of ``[engine] workers = N``: one endpoint for the events of every worker.

Each worker binds its own PUB on a private ipc path (in a 0700 folder of the parent); the
parent's relay thread subscribes to all of them and republishes every message, unchanged, on
the one endpoint users configured (with its CURVE keys, if any). Events keep the worker's
per-source sequence numbers (a source lives in exactly one worker, so they stay gap-free).
Heartbeats are the exception: each worker's heartbeat is kept, and the relay publishes one
merged heartbeat (every source of every worker) at the configured interval, so subscribers see
one daemon, as with ``workers = 1``. The parent's own outputs (MQTT, the web page) hook
``on_event`` and see every forwarded event, decoded; events of the parent itself (the MQTT
connection's status) are handed over with ``post`` and sent from the relay's thread, which owns
the socket, once ``open()`` says the daemon is ready. A one-process daemon publishes such events
from its loop, which runs only after the model loaded and the sources opened; the parent has no
model to load, so without that gate its MQTT connection's one-time ``connected`` event went out
a moment after binding, before subscribers started with the daemon had joined, and ZeroMQ
dropped it. ``[publish] startup_grace_s`` holds back the first forwarded events, as with one
process. ``move`` points one worker's subscription at a new endpoint (``genrecast cluster run``:
a shard that Ray restarted on another node, or that the coordinator moved).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq
from genrecast.daemon.settings import PublishSettings
from genrecast.daemon.wire.events import HEARTBEAT_SOURCE, EventFactory, decode, topic_for
from genrecast.daemon.wire.limits import MAX_EVENT_BYTES, limit_receive
from genrecast.daemon.wire.publisher import Publisher

log = logging.getLogger(__name__)

POLL_MS = 100
RECONNECT_MS = 20  # a (re)starting worker's socket is joined within this after it binds
HEARTBEAT_TOPIC = topic_for("heartbeat", HEARTBEAT_SOURCE).encode()


class Relay:
    """``start()`` a thread that forwards ``endpoints`` (the workers') to one Publisher."""

    def __init__(self, publish: PublishSettings, endpoints: dict[int, str],
                 setup: list[Callable[[Any], None]] | None = None,
                 extra: Callable[[], dict[str, Any]] | None = None, model_id: str = "") -> None:
        self.publisher = Publisher(publish, setup=setup)  # binds now: a taken endpoint fails early
        self.publish = publish
        self.endpoints = endpoints
        self.extra = extra or (lambda: {})
        self.heartbeats: dict[int, dict[str, Any]] = {}  # worker index → its last heartbeat
        self._moves: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self.forwarded = 0
        self.on_event: list[Callable[[str, dict[str, Any]], None]] = []
        """Called on the relay thread for every forwarded event (never block)."""
        self._posted: queue.SimpleQueue[tuple[str, str, dict[str, Any]]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._open = threading.Event()
        self._started = time.monotonic()
        self._events = EventFactory(model_id)
        self._thread = threading.Thread(target=self._run, name="genrecast-relay", daemon=True)

    def start(self) -> Relay:
        self._thread.start()
        return self

    def move(self, worker: int, endpoint: str) -> None:
        """Worker ``worker`` now publishes on ``endpoint`` (a cluster shard restarted on another
        node); empty: it has none. Any thread: the relay thread switches within ``POLL_MS``."""
        self._moves.put((worker, endpoint))

    def _subscribe(self, ctx: zmq.Context[Any], endpoint: str) -> zmq.Socket[Any]:
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVHWM, 0)  # never drop between worker and parent
        sub.linger = 0
        limit_receive(sub, MAX_EVENT_BYTES)
        sub.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        sub.connect(endpoint)  # reconnects on its own when a restarted worker binds again
        return sub

    def _apply_moves(self, subs: dict[int, zmq.Socket[Any]], poller: zmq.Poller) -> None:
        while True:
            try:
                worker, endpoint = self._moves.get_nowait()
            except queue.Empty:
                return
            old = subs.pop(worker, None)
            if old is not None:
                poller.unregister(old)
                old.close()
            self.heartbeats.pop(worker, None)
            if endpoint:
                subs[worker] = self._subscribe(self.publisher.context, endpoint)
                poller.register(subs[worker], zmq.POLLIN)

    def _run(self) -> None:
        subs: dict[int, zmq.Socket[Any]] = {}
        poller = zmq.Poller()
        for worker, endpoint in self.endpoints.items():
            subs[worker] = self._subscribe(self.publisher.context, endpoint)
            poller.register(subs[worker], zmq.POLLIN)
        pub = self.publisher.socket
        # Subscribers that are connecting already get the first events (the workers' events
        # wait in the SUB queues meanwhile).
        if self.publish.startup_grace_s > 0:
            self._stop.wait(self.publish.startup_grace_s)
        next_beat = time.monotonic() + self.publish.heartbeat_s
        try:
            while True:
                self._apply_moves(subs, poller)
                index = {id(s): i for i, s in subs.items()}
                stopping = self._stop.is_set()
                ready = poller.poll(0 if stopping else POLL_MS)
                if stopping and not ready:  # what the stopped workers sent last is forwarded
                    break
                for sock, _ in ready:
                    while True:
                        try:
                            message = sock.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        if message.startswith(HEARTBEAT_TOPIC + b" "):
                            self.heartbeats[index[id(sock)]] = decode(message)[1]
                            continue
                        try:
                            pub.send(message, zmq.NOBLOCK)
                            self.forwarded += 1
                        except zmq.Again:
                            self.publisher.dropped += 1
                        if self.on_event:
                            self._hand_over(message)
                self._send_posted()
                now = time.monotonic()
                if now >= next_beat:
                    next_beat = now + self.publish.heartbeat_s
                    self._heartbeat(now)
        except zmq.ZMQError as exc:
            if not self._stop.is_set():
                log.error("event relay failed: %s", exc)
        finally:
            for sub in subs.values():
                sub.close()

    def _hand_over(self, message: bytes) -> None:
        try:
            topic, event = decode(message)
        except ValueError:
            return
        self._deliver(topic, event)

    def _deliver(self, topic: str, event: dict[str, Any]) -> None:
        for hook in self.on_event:
            try:
                hook(topic, event)
            except Exception:  # an output's bug must not stop the events of every worker
                log.exception("relay: an output failed on %s", topic)

    def post(self, kind: str, source: str, **fields: Any) -> None:
        """Publish an event of the parent's own (any thread): sent within ``POLL_MS``."""
        self._posted.put((kind, source, fields))

    def open(self) -> None:
        """The daemon is ready (every worker runs): the parent's own events go out from now."""
        self._open.set()

    def _send_posted(self) -> None:
        if not (self._open.is_set() or self._stop.is_set()):
            return
        while True:
            try:
                kind, source, fields = self._posted.get_nowait()
            except queue.Empty:
                return
            topic, event = self._events.make(kind, source, time.time(), **fields)
            self.publisher.send(topic, event)
            self._deliver(topic, event)  # as in one process: the outputs see the daemon's events

    def _heartbeat(self, now: float) -> None:
        beats = list(self.heartbeats.values())
        if not beats:
            return
        self._events.model_id = str(beats[-1].get("model_id", self._events.model_id))
        sources: dict[str, Any] = {}
        for beat in beats:
            node = beat.get("node")  # a cluster shard's: each of its sources runs there
            for name, counters in beat.get("sources", {}).items():
                sources[name] = counters if node is None else {**counters, "node": node}
        topic, event = self._events.make(
            "heartbeat", HEARTBEAT_SOURCE, time.time(),
            uptime_s=round(now - self._started, 3), backend=self.backend,
            sources=sources)
        event.update(self.extra())
        self.publisher.send(topic, event)
        self._deliver(topic, event)  # MQTT's daemon device reads the merged heartbeat

    @property
    def backend(self) -> str:
        """The workers' classifier backend, from their heartbeats ("?" before the first)."""
        beats = list(self.heartbeats.values())
        return str(beats[0].get("backend", "?")) if beats else "?"

    def forget(self, worker: int) -> None:
        """A worker died: its sources leave the merged heartbeat until it reports again."""
        self.heartbeats.pop(worker, None)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # a signal may come before start()
            self._thread.join(2.0)
        self.publisher.close()
