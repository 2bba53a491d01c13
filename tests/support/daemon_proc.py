"""Helpers for service tests: `genrecast run` as a real process, its sd_notify messages read from
a real datagram socket, and `genrecast listen --json` as a subscriber in another process."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def genrecast(*args: str) -> list[str]:
    return [sys.executable, "-m", "genrecast.daemon.cli", *args]


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str,
             interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


class NotifyListener:
    """Binds a datagram socket like systemd's and records (monotonic time, message) pairs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def times_of(self, field: str) -> list[float]:
        return [t for t, m in list(self.messages) if field in m.split("\n")]

    def has(self, prefix: str) -> bool:
        return any(line.startswith(prefix) for _, m in list(self.messages)
                   for line in m.split("\n"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class DaemonProc:
    """`genrecast run --config CONFIG` with NOTIFY_SOCKET set; stderr kept for failures."""

    def __init__(self, tmp: Path, config: Path, *args: str, watchdog_usec: int = 1_000_000,
                 stdin: bool = False, env: dict[str, str] | None = None,
                 verbose: bool = False) -> None:
        self.notify = NotifyListener(tmp / "notify.sock")
        full_env = {**(env or os.environ), "NOTIFY_SOCKET": str(self.notify.path),
                    "WATCHDOG_USEC": str(watchdog_usec), "PYTHONUNBUFFERED": "1"}
        full_env.pop("WATCHDOG_PID", None)
        self.stderr_path = tmp / "daemon.stderr"
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in close()
        cmd = genrecast(*(["-v"] if verbose else []), "run", "--config", str(config), *args)
        self.proc = subprocess.Popen(cmd,
                                     env=full_env, stderr=self._stderr,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}): {self.stderr()}")
            return self.notify.has("READY=1")

        wait_for(ready, timeout_s, f"READY=1; stderr: {self.stderr()[-2000:]}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        self._stderr.close()
        self.notify.close()


class Listener:
    """`genrecast listen ENDPOINT --json` in another process."""

    def __init__(self, endpoint: str, *kinds: str, seconds: float = 60.0) -> None:
        cmd = genrecast("listen", endpoint, "--json", "--seconds", str(seconds))
        for kind in kinds:
            cmd += ["--kind", kind]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.events: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.events.append(json.loads(line))

    def of(self, kind: str, source: str | None = None) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["kind"] == kind
                and (source is None or e["source"] == source)]

    def close(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        self._thread.join(5)
        return err
