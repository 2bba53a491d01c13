"""``[engine] workers = N``: the sources sharded over N worker processes, one daemon to the outside.

One daemon loop holds the GIL, so it uses about one core. With ``workers = N`` the parent
process loads no model and opens no source: it starts N copies of the same ``genrecast run``
command line, each told by ``GENRECAST_WORKER=INDEX/COUNT/DIR`` to keep sources
``INDEX, INDEX+COUNT, ...`` (configuration order) and to publish and answer control requests on
private ipc paths in ``DIR`` (a 0700 folder of the parent). Each worker is an ordinary daemon
with its own loop, classifier and decoders. The parent owns what users see:

- the configured event endpoint (``worker_relay.Relay``: every worker's events, unchanged, and
  one merged heartbeat);
- the control socket: ``status``/``snapshot`` ask every worker and merge (a worker that is down
  shows its sources as ``starting: worker K restarting``); ``pause``/``resume`` go to the
  worker that owns the source; ``reload`` goes to all;
- the metrics endpoint (``worker_metrics``: per-source counters from the workers' status, and
  per-worker up/restarts);
- systemd: READY=1 once every worker is ready, WATCHDOG=1 while every worker is alive and healthy.

A worker that exits with a user-error code (64-78: bad configuration, model) stops the whole
daemon with that code; one that crashes or is killed is restarted with backoff, and its sources
open again; one that finished (its files ended) is not restarted. SIGHUP (``systemctl reload``)
reloads every worker. SIGINT/SIGTERM: SIGTERM to every worker, SIGKILL to any still running
after ``STOP_TIMEOUT_S``; a second signal exits at once.
MQTT and the web dashboard run in the parent, fed by the relay (``worker_outputs``). The
parent's loop is ``pool_run.run_pool``, shared with ``genrecast cluster run``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genrecast.daemon.errors import ConfigError, UserError
from genrecast.daemon.settings import (
    ControlSettings,
    MetricsSettings,
    MqttSettings,
    Settings,
    WebSettings,
    resolved_workers,
)

if TYPE_CHECKING:
    from genrecast.daemon.service.worker_relay import Relay

log = logging.getLogger(__name__)

WORKER_ENV = "GENRECAST_WORKER"
# The parent's relay connects before a worker binds and retries every 20 ms; a
# worker waits this long after binding so its first status events ("running") are not lost to
# ZeroMQ's slow joiner (MQTT and the page need them as much as subscribers do).
WORKER_GRACE_S = 0.2
# SIGTERM → SIGKILL. The budget is 2 s from the signal to exit; the parent needs the rest to
# forward the workers' last events and close MQTT and the dashboard.
STOP_TIMEOUT_S = 1.5
RESTART_START_S = 1.0
RESTART_MAX_S = 30.0
STABLE_S = 30.0  # a worker up this long gets its backoff reset
TICK_S = 0.1
WORKER_TIMEOUT_S = 0.5  # a control request to one worker
USER_ERROR_CODES = range(64, 79)
PR_SET_PDEATHSIG = 1


def worker_settings(settings: Settings, spec: str) -> Settings:
    """The settings of worker ``INDEX/COUNT/DIR``: its shard of the sources, private endpoints."""
    index_s, count_s, folder = spec.split("/", 2)
    index, count = int(index_s), int(count_s)
    publish = dataclasses.replace(settings.publish, endpoint=f"ipc://{folder}/w{index}.events",
                                  curve_secret_key="", curve_authorized_dir="", ipc_mode=0o600,
                                  ipc_group="", startup_grace_s=WORKER_GRACE_S)
    return dataclasses.replace(
        settings, sources=settings.sources[index::count], publish=publish,
        control=ControlSettings(endpoint=f"ipc://{folder}/w{index}.control"),
        metrics=MetricsSettings(), mqtt=MqttSettings(), web=WebSettings(), workers=1)


def die_with_parent() -> None:
    """Linux: the kernel sends this worker SIGTERM when the parent dies (even by SIGKILL)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def check_shardable(settings: Settings) -> None:
    if any(s.kind == "stdin" for s in settings.sources):
        raise ConfigError("a stdin source cannot be shared with worker processes; "
                          "set [engine] workers = 1")


@dataclass
class Worker:
    index: int
    sources: tuple[str, ...]
    proc: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0
    restarts: int = 0
    backoff_s: float = RESTART_START_S
    restart_at_s: float | None = None
    finished: bool = False
    status: dict[str, Any] | None = None  # its last control status reply

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def describe(self) -> dict[str, Any]:
        """This worker in the merged ``status`` reply's ``workers`` list."""
        return {"index": self.index, "pid": self.proc.pid if self.proc else None,
                "alive": self.alive, "restarts": self.restarts, "sources": len(self.sources)}


class WorkerPool:
    """Starts, watches, restarts and stops the worker processes."""

    def __init__(self, settings: Settings, argv: list[str]) -> None:
        self.settings = settings
        self.count = resolved_workers(settings)
        self.dir = Path(tempfile.mkdtemp(prefix="genrecast-workers-"))  # 0700
        self.argv = argv
        self.workers = [Worker(i, tuple(s.name for s in settings.sources[i::self.count]))
                        for i in range(self.count)]
        self.exit_code = 0
        self._lock = threading.Lock()

    def endpoint(self, index: int, what: str) -> str:
        return f"ipc://{self.dir}/w{index}.{what}"

    def relay_endpoints(self) -> dict[int, str]:
        """Where the relay subscribes: every worker's private event socket."""
        return {w.index: self.endpoint(w.index, "events") for w in self.workers}

    def watch_relay(self, relay: Relay) -> None:
        """The workers' endpoints never move: nothing to tell the relay after the start."""

    def start_line(self) -> str:
        return f"{self.count} workers"

    def ask(self, worker: Worker, command: str, source: str | None = None,
            value: float | None = None) -> dict[str, Any]:
        """A control request to one worker's private control socket (its raw reply)."""
        from genrecast.daemon.service.control import request

        return request(self.endpoint(worker.index, "control"), command, source,
                       timeout_s=WORKER_TIMEOUT_S, value=value)

    def owner(self, source: str) -> Worker:
        for worker in self.workers:
            if source in worker.sources:
                return worker
        raise UserError(f"no source named {source!r}; sources: "
                        f"{', '.join(s.name for s in self.settings.sources)}")

    def _spawn(self, worker: Worker) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS")}
        env[WORKER_ENV] = f"{worker.index}/{self.count}/{self.dir}"
        worker.proc = subprocess.Popen([sys.executable, "-m", "genrecast.daemon.cli", *self.argv],
                                       env=env, stdin=subprocess.DEVNULL)
        worker.started_s = time.monotonic()
        worker.status = None
        log.info("worker %d (pid %d): %d sources", worker.index, worker.proc.pid,
                 len(worker.sources))

    def start(self) -> None:
        for worker in self.workers:
            self._spawn(worker)

    def check(self, now: float, on_exit: Any = None) -> bool:
        """Restart dead workers when due; False when the daemon should stop (all finished, or
        one exited with a user error)."""
        for worker in self.workers:
            proc = worker.proc
            if worker.finished or proc is None:
                continue
            code = proc.poll()
            if code is None:
                if now - worker.started_s >= STABLE_S:
                    worker.backoff_s = RESTART_START_S
                continue
            if worker.restart_at_s is None:
                if code == 0:
                    worker.finished = True
                    log.info("worker %d finished (its sources ended)", worker.index)
                    continue
                if code in USER_ERROR_CODES:
                    log.error("worker %d exited with code %d", worker.index, code)
                    self.exit_code = code
                    return False
                worker.restart_at_s = now + worker.backoff_s
                log.warning("worker %d (pid %d) exited with %s; restarting in %.1f s",
                            worker.index, proc.pid, code, worker.backoff_s)
                if on_exit is not None:
                    on_exit(worker)
                worker.backoff_s = min(worker.backoff_s * 2, RESTART_MAX_S)
            elif now >= worker.restart_at_s:
                worker.restart_at_s = None
                worker.restarts += 1
                self._spawn(worker)
        return not all(w.finished for w in self.workers)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM to all at once, SIGKILL to the ones still running at the deadline."""
        deadline = time.monotonic() + timeout_s
        procs = [w.proc for w in self.workers if w.alive]
        for proc in procs:
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            if proc is None:
                continue
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in %.1f s; killing it", proc.pid,
                            timeout_s)
                proc.kill()
                proc.wait()
        for path in self.dir.iterdir():
            path.unlink(missing_ok=True)
        self.dir.rmdir()

    def kill_all(self) -> None:
        for worker in self.workers:
            if worker.alive and worker.proc is not None:
                worker.proc.kill()


def run_workers(settings: Settings, argv: list[str]) -> None:
    """``genrecast run`` with ``workers > 1``: the parent process (see the module docstring)."""
    from genrecast.daemon.service.pool_run import run_pool

    check_shardable(settings)
    run_pool(settings, WorkerPool(settings, argv))
