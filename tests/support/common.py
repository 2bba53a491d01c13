
"""Shared test parts: tone recordings, the tiny model's folder, ``genrecast`` as a subprocess, a
subscriber in another process and an in-process status watcher."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "support" / "data"
TONE_MODEL = DATA / "tone.tflite"
SCHEMA_PATH = REPO / "daemon" / "wire" / "event_schema.json"
TONE_SECONDS = 10.0


def tone(freq_hz: float, seconds: float, rate: int, channels: int = 1,
         level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = (level * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def low_high(rate: int = 48_000, channels: int = 2) -> np.ndarray:
    """10 s of a 50-Hz tone, then 10 s of a 150-Hz tone: the tone model says low, then high."""
    return np.concatenate((tone(50, TONE_SECONDS, rate, channels),
                           tone(150, TONE_SECONDS, rate, channels)))


def genrecast_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "genrecast.daemon.cli", *args]


class Subscriber:
    """``genrecast listen --json`` in another process; ``events()`` parses what it printed."""

    def __init__(self, endpoint: str, *kinds: str, seconds: float = 60.0,
                 env: dict[str, str] | None = None) -> None:
        cmd = genrecast_cmd("listen", endpoint, "--json", "--seconds", str(seconds))
        for kind in kinds:
            cmd += ["--kind", kind]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        assert self.proc.stderr is not None
        ready = self.proc.stderr.readline()  # "listening on ...": its SUB socket exists
        assert ready.startswith("listening on"), ready

    def events(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            out, err = self.proc.communicate()
        assert "Traceback" not in err, err
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def stop(self) -> list[dict[str, Any]]:
        self.proc.terminate()
        return self.events()


class StatusWatcher:
    """An in-process SUB socket on status events: wait for a source to reach a state.

    Connect it before the daemon starts (ZeroMQ connects to an ipc endpoint once it is bound), so
    no status event is missed; it replaces fixed sleeps that a busy machine can outlast.
    """

    def __init__(self, endpoint: str) -> None:
        import zmq

        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.setsockopt_string(zmq.SUBSCRIBE, "genrecast.status.")
        self._sock.connect(endpoint)
        self.seen: list[dict[str, Any]] = []

    def wait(self, source: str, state: str, detail: str | None = None,
             timeout_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if not self._sock.poll(int(left * 1000)):
                break
            event = json.loads(self._sock.recv_string().split(" ", 1)[1])
            self.seen.append(event)
            if (event.get("source") == source and event.get("state") == state
                    and (detail is None or event.get("detail") == detail)):
                return event
        raise AssertionError(f"{source} did not reach {state} ({detail}) within {timeout_s} s; "
                             f"status events: {[(e.get('state'), e.get('detail')) for e in self.seen]}")

    def close(self) -> None:
        self._sock.close()
        self._ctx.term()
