"""Commands from Home Assistant: MQTT messages → the control socket's requests.

``parse_command`` checks a message like any other input and returns the request that
``genrecast ctl`` would send (``{"command": "pause", "source": "living"}``), or raises
``Rejected`` with the reason. ``CommandRunner`` runs the requests on a thread of its own through
the handler the service gives it (the control socket's ``handle_request``), so a reload that
loads a model never holds up MQTT, and it logs a rejected message in one line (at most one line a
second; the rest are counted, and the next line says how many).

    <prefix>/<source>/listening/set   ON | OFF            resume | pause the source
    <prefix>/<source>/threshold/set   1..100 (percent)    the source's decision threshold
    <prefix>/reload                   PRESS               reload (configuration and model)
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from genrecast.daemon.outputs.mqtt.topics import LISTENING, PRESS, THRESHOLD, Topics

log = logging.getLogger(__name__)

PAYLOAD_MAX_BYTES = 64
QUEUE_COMMANDS = 16  # waiting to run; more are rejected (a flood must not pile up)
LOG_INTERVAL_S = 1.0
THRESHOLD_MIN_PCT = 1.0
THRESHOLD_MAX_PCT = 100.0

Request = dict[str, Any]
Execute = Callable[[Request], dict[str, Any]]
"""A control request → its reply (``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``)."""


class Rejected(ValueError):
    """A command message that is not one; the text says why."""


def _text(payload: bytes) -> str:
    if len(payload) > PAYLOAD_MAX_BYTES:
        raise Rejected(f"payload of {len(payload)} bytes (at most {PAYLOAD_MAX_BYTES})")
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise Rejected("payload is not UTF-8 text") from None


def parse_command(topics: Topics, sources: frozenset[str], topic: str, payload: bytes,
                  retained: bool) -> Request:
    """The control request for one command message; ``Rejected`` when it is malformed."""
    if retained:
        # Home Assistant never retains commands; a retained one would act again at every start.
        raise Rejected("a retained message (commands are never retained; clear it with an "
                       "empty retained message)")
    text = _text(payload)
    if topic == topics.reload:
        if text != PRESS:
            raise Rejected(f"payload {text[:32]!r}; send {PRESS}")
        return {"command": "reload"}
    parsed = topics.parse_command(topic)
    if parsed is None:
        raise Rejected("not a command topic")
    source, entity = parsed
    if source not in sources:
        raise Rejected(f"no source named {source[:64]!r}")
    if entity == LISTENING:
        if text not in ("ON", "OFF"):
            raise Rejected(f"payload {text[:32]!r}; send ON or OFF")
        return {"command": "resume" if text == "ON" else "pause", "source": source}
    if entity == THRESHOLD:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and THRESHOLD_MIN_PCT <= value <= THRESHOLD_MAX_PCT):
            raise Rejected(f"payload {text[:32]!r}; send a percentage "
                           f"{THRESHOLD_MIN_PCT:g}-{THRESHOLD_MAX_PCT:g}")
        return {"command": "threshold", "source": source, "value": value / 100}
    raise Rejected(f"{entity[:32]!r} takes no commands (only {LISTENING}, {THRESHOLD})")


class CommandRunner:
    """Runs accepted requests in order on its own thread; counts and logs what was refused."""

    def __init__(self, execute: Execute, done: Callable[[Request, dict[str, Any]], None]) -> None:
        self.execute = execute
        self.done = done
        """Called on the runner's thread with each request and its reply."""
        self.accepted = 0
        self.rejected = 0
        self._queue: queue.Queue[Request | None] = queue.Queue(QUEUE_COMMANDS)
        self._last_log_s = -1e9
        self._unlogged = 0
        self._thread = threading.Thread(target=self._run, name="genrecast-mqtt-commands",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, topic: str, request: Request) -> None:
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            self.reject(topic, f"more than {QUEUE_COMMANDS} commands waiting")

    def reject(self, topic: str, reason: str) -> None:
        """Count a refused command and say so in one line (rate-limited)."""
        self.rejected += 1
        now = time.monotonic()
        if now - self._last_log_s < LOG_INTERVAL_S:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more ignored since the last line)" if self._unlogged else ""
        self._last_log_s, self._unlogged = now, 0
        log.warning("mqtt: ignored a command on %s: %s%s", topic[:200], reason, more)

    def close(self) -> None:
        """Ends the thread after the command it runs (never waited for: a reload in progress
        must not hold up the daemon's stop)."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def _run(self) -> None:
        while True:
            request = self._queue.get()
            if request is None:
                return
            what = " ".join(str(v) for v in request.values())
            try:
                reply = self.execute(request)
            except Exception as exc:  # a bug in a handler must not end the command thread
                log.exception("mqtt: command %s failed", what)
                reply = {"ok": False, "error": f"internal error ({type(exc).__name__})"}
            if reply.get("ok"):
                self.accepted += 1
                log.info("mqtt: command from Home Assistant: %s: %s", what,
                         reply.get("message", "ok"))
            else:
                self.reject(what, str(reply.get("error", "refused")))
            self.done(request, reply)
