"""``genrecast listen``: a subscriber that prints events (a readable line each, or JSON lines)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any, TextIO

import zmq
from genrecast.daemon.errors import ConfigError
from genrecast.daemon.text import MAX_LINE_CHARS, safe_text
from genrecast.daemon.wire.events import KINDS, TOPIC_PREFIX, decode
from genrecast.daemon.wire.limits import MAX_EVENT_BYTES, limit_receive

POLL_MS = 200
READY_LINE = "listening on"


def topics_for(kinds: list[str], sources: list[str]) -> list[str]:
    """Subscription prefixes for the chosen kinds and sources (empty lists: everything)."""
    for kind in kinds:
        if kind not in KINDS:
            raise ConfigError(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
    if not kinds and not sources:
        return [f"{TOPIC_PREFIX}."]
    out = []
    for kind in kinds or [k for k in KINDS if k != "heartbeat"]:
        if kind == "heartbeat":
            out.append(f"{TOPIC_PREFIX}.heartbeat")
        elif sources:
            out += [f"{TOPIC_PREFIX}.{kind}.{s} " for s in sources]  # space: exact source name
        else:
            out.append(f"{TOPIC_PREFIX}.{kind}.")
    return out


def _clock(iso: str) -> str:
    try:
        return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").strftime("%H:%M:%S.%f")[:-3]
    except ValueError:
        return iso


def format_event(event: dict[str, Any]) -> str:
    """One readable line per event."""
    kind = event.get("kind")
    head = f"{_clock(event.get('time', ''))} {event.get('source', '?'):<10} {kind:<10}"
    if kind == "prediction":
        probs = " ".join(f"{k}={v:.2f}" for k, v in event["probabilities"].items())
        silent = " silent" if event.get("silent") else ""
        return (f"{head} {event['start_s']:8.1f}-{event['end_s']:<8.1f} {event['label']:<12} "
                f"{event['confidence']:.2f}  [{probs}]{silent}  genre={event.get('genre')}")
    if kind == "genre":
        prev = event.get("previous")
        was = ""
        if prev is not None:
            dur = event.get("previous_duration_s")
            was = f" (was {prev}" + (f" for {dur:.1f} s)" if dur is not None else ")")
        return (f"{head} at {event['at_s']:.1f} s: {event['genre']} "
                f"(confidence {event['confidence']:.2f}){was}")
    if kind == "status":
        extra = f" {event['rate_hz']} Hz × {event['channels']}" if event.get("rate_hz") else ""
        detail = f": {event['detail']}" if event.get("detail") else ""
        return f"{head} {event['state']} ({event['spec']}{extra}, {event['backend']}){detail}"
    if kind == "heartbeat":
        parts = [f"{n}:{c['state']} windows={c['windows_classified']} dropped={c['events_dropped']}"
                 for n, c in event.get("sources", {}).items()]
        return f"{head} up {event['uptime_s']:.0f} s  " + "  ".join(parts)
    return f"{head} {json.dumps(event)}"


def listen(endpoint: str, kinds: list[str], sources: list[str], as_json: bool,
           count: int = 0, seconds: float = 0.0, out: TextIO | None = None) -> int:
    """Print events until Ctrl-C, ``count`` events or ``seconds``; returns the number printed."""
    out = out or sys.stdout
    if not endpoint.startswith(("ipc://", "tcp://", "inproc://")):
        raise ConfigError(f"endpoint {endpoint!r} must start with ipc:// or tcp://")
    ctx: zmq.Context[Any] = zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    limit_receive(sock, MAX_EVENT_BYTES)
    for topic in topics_for(kinds, sources):
        sock.setsockopt_string(zmq.SUBSCRIBE, topic)
    sock.connect(endpoint)
    # On stderr, so stdout stays pure events; `genrecast demo` waits for this line.
    print(f"{READY_LINE} {endpoint}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + seconds if seconds > 0 else None
    printed = 0
    try:
        while deadline is None or time.monotonic() < deadline:
            if not sock.poll(POLL_MS):
                continue
            topic, event = decode(sock.recv())
            # JSON escapes control characters itself; a readable line is made safe for the
            # terminal (a publisher's strings may carry escape sequences).
            line = (json.dumps(event, separators=(",", ":")) if as_json
                    else safe_text(format_event(event), MAX_LINE_CHARS))
            print(line, file=out, flush=True)
            printed += 1
            if count and printed >= count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return printed
