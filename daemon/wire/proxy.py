"""Fan-in proxy: daemons on many hosts publish into one XSUB endpoint; subscribers use one XPUB.

::

    genrecast (host A) PUB bind :5555 ◄─┐
    genrecast (host B) PUB bind :5555 ◄─┼─ XSUB (connects upstream) ══ zmq.proxy ══ XPUB ◄─ SUB
    publisher (host C) ─PUB connect──► XSUB frontend (bound)                    backend (bound)

The proxy's XSUB connects to every daemon's bound tcp endpoint (``--upstream``, repeatable; the
daemon needs no change), and can also bind a frontend that publishers connect into. The daemons'
own heartbeat events pass through, so a subscriber sees every daemon's health.
Below that, ZMTP heartbeats (``ZMQ_HEARTBEAT_IVL``/``TIMEOUT``) on both sides detect a peer that
vanished without closing its TCP connection (a host losing power), drop it, and ZeroMQ's
connecting side reconnects on its own (``reconnect_ivl`` up to ``reconnect_ivl_max``).
``zmq.proxy_steerable`` runs in a thread; the main thread waits for SIGTERM and then sends it
TERMINATE over an inproc control pair, so the proxy stops promptly.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import zmq
from genrecast.daemon.wire.binding import bind
from genrecast.daemon.wire.curve_auth import CurveServer
from genrecast.daemon.wire.limits import MAX_EVENT_BYTES, MAX_SUBSCRIPTION_BYTES, limit_receive

log = logging.getLogger(__name__)

HEARTBEAT_IVL_MS = 2_000
HEARTBEAT_TIMEOUT_MS = 6_000
RECONNECT_IVL_MS = 200
RECONNECT_IVL_MAX_MS = 5_000


def set_heartbeats(sock: zmq.Socket) -> None:
    """ZMTP heartbeats + reconnect backoff; use on the daemons' and subscribers' sockets too."""
    sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
    sock.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)
    sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL_MS)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS)


@dataclass(frozen=True)
class ProxySettings:
    frontend: str = "tcp://127.0.0.1:5601"
    """XSUB endpoint publishers connect to (empty: bind none, only connect upstream)."""
    backend: str = "tcp://127.0.0.1:5602"
    """XPUB endpoint subscribers connect to."""
    high_water_mark: int = 100_000
    """Messages queued per subscriber before the proxy drops."""
    curve_secret_key: str = ""
    """Require CURVE on the backend (subscribers) with this server key..."""
    curve_authorized_dir: str = ""
    """...and these authorized subscriber public keys."""
    upstream: tuple[str, ...] = ()
    """Daemons' publish endpoints the XSUB connects to."""


class Proxy:
    """An XSUB/XPUB forwarder with a clean stop."""

    def __init__(self, settings: ProxySettings, context: zmq.Context | None = None) -> None:
        self.settings = settings
        self.context = context or zmq.Context()
        self._own_context = context is None
        self._control_endpoint = f"inproc://genrecast-proxy-{id(self)}"
        self._curve: CurveServer | None = None
        self.frontend = self.context.socket(zmq.XSUB)
        self.backend = self.context.socket(zmq.XPUB)
        self._control = self.context.socket(zmq.PAIR)
        self._sockets = (self.frontend, self.backend, self._control)
        try:
            for sock in (self.frontend, self.backend):
                sock.linger = 0
                set_heartbeats(sock)
            self.backend.sndhwm = settings.high_water_mark
            limit_receive(self.frontend, MAX_EVENT_BYTES)  # events from publishers
            limit_receive(self.backend, MAX_SUBSCRIPTION_BYTES)  # subscriptions, forwarded upstream
            self.frontend.rcvhwm = settings.high_water_mark
            if settings.curve_secret_key:
                self._curve = CurveServer(self.context, settings.curve_secret_key,
                                          settings.curve_authorized_dir)
                self._curve.secure(self.backend)
            self.frontend_endpoint = (bind(self.frontend, settings.frontend,
                                           what="proxy frontend") if settings.frontend else "")
            for endpoint in settings.upstream:
                self.frontend.connect(endpoint)  # ZeroMQ reconnects by itself if it drops
            self.backend_endpoint = bind(self.backend, settings.backend, what="proxy backend")
            self._control.bind(self._control_endpoint)
        except Exception:
            self.close()
            raise
        self._thread = threading.Thread(target=self._run, name="genrecast-proxy", daemon=True)

    def _run(self) -> None:
        try:
            zmq.proxy_steerable(self.frontend, self.backend, None, self._control)
        except zmq.ZMQError as exc:
            log.error("proxy stopped: %s", exc)

    def start(self) -> Proxy:
        self._thread.start()
        log.info("proxy: publishers → %s (upstream: %s), subscribers ← %s",
                 self.frontend_endpoint or "-", " ".join(self.settings.upstream) or "-",
                 self.backend_endpoint)
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 2.0) -> None:
        if self._thread.is_alive():
            ctl = self.context.socket(zmq.PAIR)
            ctl.linger = 0
            ctl.connect(self._control_endpoint)
            ctl.send(b"TERMINATE")
            self._thread.join(timeout_s)
            ctl.close()
        self.close()

    def close(self) -> None:
        for sock in self._sockets:
            sock.close(linger=0)
        if self._curve is not None:
            self._curve.stop()
            self._curve = None
        if self._own_context:
            self.context.term()
