"""ZeroMQ PUB socket: bind safely, send without ever blocking, count what is dropped.

* ``XPUB_NODROP`` + ``NOBLOCK``: when a subscriber's queue reaches the high-water mark the send
  raises ``zmq.Again`` instead of silently discarding, so the drop is counted; the daemon never
  waits for a slow or vanished subscriber. (With NODROP a full queue makes that one message miss
  every subscriber; with a high-water mark of thousands of events only a stuck subscriber gets
  there, and the per-source sequence numbers show the gap.)
* Binding goes through ``endpoints.bind``: an ``ipc://`` path another live daemon serves is
  refused (ZeroMQ would silently steal it), a stale socket file is removed, a TCP port in use is
  a clear ServiceUnavailable error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import zmq
from genrecast.daemon.errors import ConfigError
from genrecast.daemon.settings import PublishSettings
from genrecast.daemon.wire.binding import bind, ipc_path
from genrecast.daemon.wire.events import encode
from genrecast.daemon.wire.limits import MAX_SUBSCRIPTION_BYTES, limit_receive

log = logging.getLogger(__name__)

LINGER_MS = 200  # on close, how long queued events may still go out


class Publisher:
    """``send(topic, event)`` → True when queued, False when dropped (counted in ``dropped``)."""

    def __init__(self, settings: PublishSettings, context: zmq.Context[Any] | None = None,
                 setup: list[Callable[[zmq.Socket[Any]], None]] | None = None) -> None:
        self.settings = settings
        self._setup = setup or []  # e.g. CURVE server options, applied before binding
        self.endpoint = settings.resolved_endpoint()
        self.context = context or zmq.Context.instance()
        self.dropped = 0
        self.socket = self.context.socket(zmq.PUB)
        self.socket.setsockopt(zmq.SNDHWM, settings.high_water_mark)
        self.socket.setsockopt(zmq.XPUB_NODROP, 1)
        self.socket.setsockopt(zmq.LINGER, LINGER_MS)
        limit_receive(self.socket, MAX_SUBSCRIPTION_BYTES)  # what a subscriber sends us
        try:
            self._bind()
        except BaseException:
            self.close()
            raise
        log.info("publishing events on %s", self.bound_endpoint)

    def _bind(self) -> None:
        endpoint = self.endpoint
        if not endpoint.startswith(("ipc://", "tcp://", "inproc://")):
            raise ConfigError(f"endpoint {endpoint!r} must start with ipc://, tcp:// or inproc://")
        for setup in self._setup:
            setup(self.socket)
        self.bound_endpoint = bind(self.socket, endpoint, mode=self.settings.ipc_mode,
                                   group=self.settings.ipc_group, what="event endpoint")

    def send(self, topic: str, event: dict[str, Any]) -> bool:
        try:
            self.socket.send(encode(topic, event), zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1
            return False
        return True

    def close(self) -> None:
        if not self.socket.closed:
            self.socket.close()
            path = ipc_path(self.endpoint)
            if path is not None and hasattr(self, "bound_endpoint"):
                path.unlink(missing_ok=True)
