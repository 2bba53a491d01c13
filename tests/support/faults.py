"""Fault-injection parts shared by the fault tests and ``benchmarks/soak.py``: an HTTP "radio"
that can be stopped or stalled, a private PulseAudio whose null sink can vanish, a stdin feeder,
a stuck subscriber, Prometheus scraping, and the window accounting over event sequence numbers.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import zmq

from tests.support.common import TONE_MODEL
from tests.support.daemon_proc import DaemonProc, Listener, wait_for
from tests.support.pulse import PrivatePulse
from tests.support.radio import Radio, free_port, tone_s16

__all__ = ["TONE_MODEL", "Listener", "PrivatePulse", "Radio", "VerboseDaemon", "free_port", "wait_for"]


class VerboseDaemon(DaemonProc):
    """``genrecast -v run --config CONFIG``: like DaemonProc, with INFO logging, so the daemon's
    closing ``stopped: N windows classified, P events published, D dropped`` line is there even
    when nothing was dropped."""

    def __init__(self, tmp: Path, config: Path, *, stdin: bool = False,
                 env: dict[str, str] | None = None, watchdog_usec: int = 5_000_000) -> None:
        super().__init__(tmp, config, watchdog_usec=watchdog_usec, stdin=stdin, env=env,
                         verbose=True)


HEARTBEAT_SOURCE = "*"


class StdinFeeder:
    """Writes a tone to a daemon's stdin in real time until ``close()``."""

    def __init__(self, stdin: IO[bytes], rate_hz: int, freq_hz: float = 50.0) -> None:
        self.stdin = stdin
        self.rate_hz = rate_hz
        self.chunk = tone_s16(freq_hz, 0.1, rate_hz)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            try:
                self.stdin.write(self.chunk)
                self.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return
            next_t += 0.1
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def null_sink_module(env: dict[str, str]) -> int | None:
    out = subprocess.run(["pactl", "list", "short", "modules"], env=env, capture_output=True,
                         text=True, check=False).stdout
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) > 2 and fields[1] == "module-null-sink" and "sink_name=null" in fields[2]:
            return int(fields[0])
    return None


def unplug_null_sink(env: dict[str, str]) -> None:
    """The capture device vanishes: unload the null sink whose monitor the daemon records."""
    index = null_sink_module(env)
    assert index is not None, "no null sink loaded"
    subprocess.run(["pactl", "unload-module", str(index)], env=env, check=True)


def plug_null_sink(env: dict[str, str]) -> None:
    subprocess.run(["pactl", "load-module", "module-null-sink", "sink_name=null", "rate=48000"],
                   env=env, check=True, capture_output=True)
    subprocess.run(["pactl", "set-default-source", "null.monitor"], env=env, check=True)


def stuck_subscriber(ctx: zmq.Context[Any], endpoint: str) -> zmq.Socket[Any]:
    """Connects, subscribes to everything, never reads (tiny buffers: the queue fills fast)."""
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 1)
    sock.setsockopt(zmq.RCVBUF, 4096)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    return sock


def scrape(port: int) -> dict[str, float]:
    """Prometheus text → {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[key] = float(value)
    return out


STOP_LINE = re.compile(r"stopped: (\d+) windows classified, (\d+) events published, (\d+) dropped")


def stop_totals(stderr: str) -> tuple[int, int, int]:
    """(windows classified, events published, events dropped) from the daemon's last line."""
    matches = STOP_LINE.findall(stderr)
    assert matches, f"no 'stopped:' line in the daemon's log: {stderr[-2000:]}"
    windows, published, dropped = map(int, matches[-1])
    return windows, published, dropped


def account(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Every event a subscriber received since the daemon started (it must have been connected
    before the first event and received the final ``stopped`` status of every source): per
    source and kind, the sequence numbers seen, the number the daemon made (last seq + 1) and
    the gaps. Heartbeats and reload outcomes (source ``*``) are not per-source counters."""
    seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in events:
        if e["source"] != HEARTBEAT_SOURCE:
            seqs[(e["source"], e["kind"])].append(int(e["seq"]))
    per: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for (source, kind), got in seqs.items():
        assert got == sorted(got) and len(set(got)) == len(got), f"{source}/{kind} out of order"
        made = got[-1] + 1
        per[source][kind] = {"made": made, "received": len(got), "gaps": made - len(got)}
    windows = sum(k.get("prediction", {}).get("made", 0) for k in per.values())
    received = sum(k.get("prediction", {}).get("received", 0) for k in per.values())
    gaps = sum(v["gaps"] for k in per.values() for v in k.values())
    total = sum(v["received"] for k in per.values() for v in k.values())
    return {"per_source": dict(per), "windows": windows, "predictions_received": received,
            "gaps": gaps, "events_received": total}


def check_accounting(events: list[dict[str, Any]], stderr: str) -> dict[str, Any]:
    """Every window is accounted for, and every event.

    * windows: the daemon's count of windows classified equals the predictions the subscriber
      received plus the gaps in their sequence numbers (one prediction per window; the last
      prediction of each source arrived, so the seqs span them all);
    * events: the subscriber received exactly the events the daemon counted as published, and
      every gap is among those counted as dropped (a drop after a kind's last received event,
      e.g. a genre change, leaves no visible gap: hence ``<=``).
    """
    acc = account(events)
    windows, published, dropped = stop_totals(stderr)
    acc.update(daemon_windows=windows, daemon_published=published, daemon_dropped=dropped)
    assert acc["windows"] == windows, f"windows: subscriber saw seqs for {acc['windows']}, " \
        f"daemon classified {windows}: {acc}"
    assert acc["events_received"] == published, f"received != published: {acc}"
    assert acc["gaps"] <= dropped, f"gaps {acc['gaps']} > dropped {dropped}: {acc}"
    return acc
