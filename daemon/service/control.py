"""The control socket: ``status``, ``pause SOURCE``, ``resume SOURCE``, ``threshold SOURCE VALUE``,
``reload``, ``snapshot``.

A ZeroMQ ROUTER socket on an ipc path in the runtime directory (or a loopback tcp port: the socket
has no authentication, so the configuration refuses anything else). Requests and replies are JSON
objects: ``{"command": "pause", "source": "living"}`` → ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``; ``threshold`` also takes ``"value"`` (0 < value <= 1).
Home Assistant's commands over MQTT come through ``handle_request`` too. The server runs in its
own thread and calls handlers that the daemon supplies; a handler raising ``UserError`` (an
unknown source) becomes an error reply, any other exception is logged and reported as an
internal error (the daemon keeps running).

Why ROUTER and not REP: REP's strict receive/send alternation could be wedged by a client (raw
bytes on a tcp control port, or a client that left before reading its reply stopped the control
socket answering anyone). ROUTER answers each request by its sender's identity and silently drops
a reply whose client has gone; clients are still plain REQ sockets.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

import zmq
from genrecast.daemon.errors import ServiceUnavailable, UserError
from genrecast.daemon.settings import default_runtime_dir
from genrecast.daemon.wire.binding import bind, check_private_folder, ipc_in_use, ipc_path
from genrecast.daemon.wire.limits import MAX_EVENT_BYTES, MAX_REQUEST_BYTES, limit_receive

log = logging.getLogger(__name__)

COMMANDS = ("status", "pause", "resume", "threshold", "reload", "snapshot")
NEEDS_SOURCE = ("pause", "resume", "threshold")
NEEDS_VALUE = ("threshold",)
POLL_INTERVAL_MS = 100
CLIENT_TIMEOUT_S = 3.0

Handler = Callable[..., dict[str, Any]]


def threshold_ok(value: object) -> bool:
    """A decision threshold: a finite number > 0 and <= 1 (the rule of [decisions] threshold)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0 < value <= 1)


def handle_request(handlers: dict[str, Handler], raw: bytes) -> dict[str, Any]:
    """One request → one reply (pure: unit-testable without sockets)."""
    try:
        request = json.loads(raw)
        if not isinstance(request, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError):
        return {"ok": False, "error": 'request must be a JSON object like {"command": "status"}'}
    command = request.get("command")
    if command not in COMMANDS:
        return {"ok": False, "error": f"unknown command {command!r}; use one of "
                f"{', '.join(COMMANDS)}"}
    handler = handlers.get(command)
    if handler is None:
        return {"ok": False, "error": f"{command} is not available in this daemon"}
    args: dict[str, Any] = {}
    if command in NEEDS_SOURCE:
        source = request.get("source")
        if not isinstance(source, str) or not source:
            return {"ok": False, "error": f"{command} needs a source name"}
        args["source"] = source
    if command in NEEDS_VALUE:
        value = request.get("value")
        if not isinstance(value, (int, float)) or not threshold_ok(value):
            return {"ok": False, "error": f"{command} needs a value > 0 and <= 1, got {value!r}"}
        args["value"] = float(value)
    try:
        reply = handler(**args)
    except UserError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # a bug in a handler must not kill the control thread
        log.exception("control command %s failed", command)
        return {"ok": False, "error": f"internal error ({type(exc).__name__}: {exc})"}
    return {"ok": True, **(reply or {})}


class ControlServer:
    """Serves control requests in a background thread until ``stop()``."""

    def __init__(self, context: zmq.Context, endpoint: str, handlers: dict[str, Handler],
                 *, ipc_mode: int = 0o660, ipc_group: str = "") -> None:
        self.handlers = handlers
        self._context = context
        self._socket = context.socket(zmq.ROUTER)
        self._socket.linger = 0
        limit_receive(self._socket, MAX_REQUEST_BYTES)
        try:
            self.endpoint = bind(self._socket, endpoint, mode=ipc_mode, group=ipc_group,
                                 what="control socket")
        except Exception:
            self._socket.close()
            raise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="genrecast-control", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        # The socket is used by this thread only from here on (ZeroMQ sockets are not
        # thread-safe); it was created and bound before, which is allowed with a barrier.
        sock = self._socket
        try:
            while not self._stop.is_set():
                if not sock.poll(POLL_INTERVAL_MS):
                    continue
                # From a REQ client: [identity, b"", body]. Anything else is malformed and gets
                # an error reply (dropped by ZeroMQ if the sender cannot take it).
                parts = sock.recv_multipart()
                if len(parts) < 2:
                    continue
                well_formed = len(parts) == 3 and parts[1] == b""
                reply = handle_request(self.handlers, parts[2] if well_formed else b"")
                body = json.dumps(reply, allow_nan=False, default=str).encode()
                sock.send_multipart([parts[0], b"", body])
        except zmq.ZMQError as exc:
            if not self._stop.is_set():
                log.error("control socket failed: %s", exc)
        finally:
            sock.close()

    def stop(self, timeout_s: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        else:
            self._socket.close()
        path = ipc_path(self.endpoint)
        if path is not None:  # a clean stop leaves no socket file for ctl to wait on
            path.unlink(missing_ok=True)


def request(endpoint: str, command: str, source: str | None = None,
            timeout_s: float = CLIENT_TIMEOUT_S,
            context: zmq.Context | None = None, value: float | None = None) -> dict[str, Any]:
    """Send one control request and return the reply; ServiceUnavailable if nobody answers."""
    path = ipc_path(endpoint)
    if path is not None and path.parent == default_runtime_dir():
        check_private_folder(path.parent)  # a socket another user put there could forge replies
    if path is not None and path.exists() and not ipc_in_use(path):
        raise ServiceUnavailable(f"no genrecast is running (only a stale socket file at {path} "
                                 "is left); start it (systemctl start genrecast)")
    if path is not None and not path.exists():
        raise ServiceUnavailable(f"no control socket at {path}; is genrecast running? "
                                 "(systemctl status genrecast; or pass --endpoint/--config)")
    ctx = context or zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    limit_receive(sock, MAX_EVENT_BYTES)  # a reply (a snapshot of every source)
    try:
        sock.connect(endpoint)
        body: dict[str, Any] = {"command": command}
        if source is not None:
            body["source"] = source
        if value is not None:
            body["value"] = value
        sock.send(json.dumps(body).encode())
        if not sock.poll(int(timeout_s * 1000)):
            raise ServiceUnavailable(
                f"no genrecast answered on {endpoint} within {timeout_s:g} s; is it running? "
                "(systemctl status genrecast; or pass --endpoint/--config)")
        reply = json.loads(sock.recv())
    finally:
        sock.close()
    if not isinstance(reply, dict):
        raise ServiceUnavailable(f"{endpoint} answered something that is not genrecast")
    return reply
