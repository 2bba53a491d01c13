"""The SSE hub: takes events from the daemon's loop thread, fans them out to ``/events`` clients.

The loop thread only appends to a bounded deque (``offer``: no lock, no encoding, no I/O). The
hub's own thread drains it every ``FLUSH_S``, updates the dashboard state, encodes each event once
and queues one joined batch per flush to every client (the events its filter matches; clients
without a filter share one batch): a queue operation per client per flush, not per event.
Per-window ``prediction`` events are throttled: the latest per source goes out every
``prediction_interval_s``; genre, status and heartbeat events go out at the next flush. A client
whose queue is full (a page that stopped reading) is dropped; its browser reconnects and reloads
the state.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from genrecast.daemon.outputs.web.state import Dashboard

log = logging.getLogger(__name__)

FLUSH_S = 0.1
PING_S = 1.0  # a ping event this often: the page sees a dead daemon within ~2 s
INBOX_EVENTS = 100_000  # ~25 s of 1000 sources at a 0.5-s hop; beyond it the oldest go
# A client's queue holds whole flushes (one item per client per flush or ping, ~11 a second):
# a page this far behind (about 10 s) stopped reading and is disconnected.
CLIENT_QUEUE_BATCHES = 100
RETRY_MS = 1000  # the browser's reconnection delay (``retry:`` field)
PING = b"event: ping\ndata: {}\n\n"  # a real event: page scripts cannot see comments


def sse_message(kind: str, data: str) -> bytes:
    """One Server-Sent Event: ``event: KIND`` and the event's JSON on one ``data:`` line."""
    return f"event: {kind}\ndata: {data}\n\n".encode()


@dataclass
class SseClient:
    """One ``/events`` connection: its filter and its queue of batches (None = close)."""

    sources: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    queue: queue.Queue[bytes | None] = field(
        default_factory=lambda: queue.Queue(CLIENT_QUEUE_BATCHES))
    overflowed: bool = False

    def wants(self, kind: str, source: str) -> bool:
        if self.kinds is not None and kind not in self.kinds:
            return False
        # Heartbeats (source "*") describe the whole daemon: every client that wants the kind.
        return self.sources is None or source == "*" or source in self.sources

    def push(self, message: bytes | None) -> bool:
        try:
            self.queue.put_nowait(message)
        except queue.Full:
            self.overflowed = True
            return False
        return True


class EventHub:
    """``offer`` is the daemon's ``on_event`` hook; ``start``/``close`` run the hub thread."""

    def __init__(self, dashboard: Dashboard, prediction_interval_s: float = 1.0) -> None:
        self.dashboard = dashboard
        self.prediction_interval_s = prediction_interval_s
        self._inbox: deque[dict[str, Any]] = deque(maxlen=INBOX_EVENTS)
        self.offered = 0  # written by the loop thread only
        self.taken = 0
        self.client_drops = 0  # clients disconnected because they stopped reading
        self._clients: list[SseClient] = []
        self._clients_lock = threading.Lock()
        self._pending: dict[str, dict[str, Any]] = {}  # source → latest prediction
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="genrecast-web-hub", daemon=True)

    # -- loop thread -------------------------------------------------------------------------

    def offer(self, topic: str, event: dict[str, Any], sent: bool) -> None:
        """The daemon's ``on_event`` hook: append and return (the loop must never wait here)."""
        self._inbox.append(event)
        self.offered += 1

    @property
    def inbox_dropped(self) -> int:
        """Events the hub thread fell too far behind to see (the deque's oldest went)."""
        return max(0, self.offered - self.taken - len(self._inbox))

    # -- clients (HTTP threads) ----------------------------------------------------------------

    def subscribe(self, sources: Iterable[str] | None, kinds: Iterable[str] | None) -> SseClient:
        client = SseClient(frozenset(sources) if sources else None,
                           frozenset(kinds) if kinds else None)
        with self._clients_lock:
            self._clients.append(client)
        return client

    def unsubscribe(self, client: SseClient) -> None:
        with self._clients_lock:
            if client in self._clients:
                self._clients.remove(client)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    # -- the hub thread ------------------------------------------------------------------------

    def start(self) -> EventHub:
        self._thread.start()
        return self

    def close(self, timeout_s: float = 2.0) -> None:
        """Deliver what is queued (the final ``stopped`` statuses), then close every client."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.push(None)

    def _run(self) -> None:
        next_predictions = next_ping = time.monotonic()
        while True:
            stopping = self._stop.wait(FLUSH_S)
            try:
                self._drain()
                now = time.monotonic()
                if now >= next_predictions or stopping:
                    next_predictions = now + self.prediction_interval_s
                    self._flush_predictions()
                if now >= next_ping:
                    next_ping = now + PING_S
                    self._broadcast_raw(PING)
            except Exception:  # the dashboard must never take the daemon down
                log.exception("web hub failed to forward events")
            if stopping:
                return

    def _drain(self) -> None:
        inbox = self._inbox
        now_s = time.time()
        out: list[tuple[str, str, bytes]] = []
        dashboard = self.dashboard
        with dashboard.lock:
            while True:
                try:
                    event = inbox.popleft()
                except IndexError:
                    break
                self.taken += 1
                dashboard.apply(event, now_s)
                kind = str(event.get("kind", ""))
                source = str(event.get("source", ""))
                if kind == "prediction":
                    self._pending[source] = event
                elif self._clients:  # encoded once, shared by every client
                    out.append((kind, source, sse_message(kind, _dumps(event))))
        self._broadcast(out)

    def _flush_predictions(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        with self._clients_lock:
            if not any(c.kinds is None or "prediction" in c.kinds for c in self._clients):
                return
        self._broadcast([("prediction", source, sse_message("prediction", _dumps(event)))
                         for source, event in pending.items()])

    def _broadcast(self, messages: list[tuple[str, str, bytes]]) -> None:
        if not messages:
            return
        with self._clients_lock:
            clients = list(self._clients)
        everything: bytes | None = None
        for client in clients:
            if client.overflowed:
                continue
            if client.sources is None and client.kinds is None:
                if everything is None:
                    everything = b"".join(m for _, _, m in messages)
                data = everything
            else:
                data = b"".join(m for kind, source, m in messages if client.wants(kind, source))
            if data and not client.push(data):
                self._drop(client)

    def _broadcast_raw(self, data: bytes) -> None:
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            if not client.overflowed and not client.push(data):
                self._drop(client)

    def _drop(self, client: SseClient) -> None:
        self.client_drops += 1
        log.warning("web: an /events client stopped reading; disconnecting it")
        self.unsubscribe(client)
        # Make room for the close marker so the client's thread ends its response now.
        try:
            while True:
                client.queue.get_nowait()
        except queue.Empty:
            pass
        client.queue.put_nowait(None)


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), allow_nan=False, default=str)
