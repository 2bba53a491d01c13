"""The parent's loop over a pool of shards: ``[engine] workers = N`` and ``genrecast cluster run``.

A pool (``workers.WorkerPool``: processes on this host; the cluster room's pool: Ray actors on
many) owns the shards; this loop owns what users see, the same for both:

- the configured event endpoint (``worker_relay.Relay``: every shard's events, unchanged, and one
  merged heartbeat);
- the control socket (``worker_control.WorkerControl``: status/snapshot merged over the shards,
  pause/resume to the owner of the source);
- the metrics endpoint, MQTT and the web dashboard (``worker_metrics``, ``worker_outputs``);
- systemd: READY=1 once every shard is ready, WATCHDOG=1 while every shard is alive and healthy.

SIGINT/SIGTERM stop the pool (its own timeout); a second signal exits at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from genrecast.daemon.errors import ServiceUnavailable, UserError
from genrecast.daemon.settings import Settings

TICK_S = 0.1
STATUS_EVERY_S = 1.0
EXIT_SIGNAL_BASE = 128


class Shard(Protocol):
    """One member of a pool, as the merged control replies and the metrics see it."""

    index: int
    sources: tuple[str, ...]
    restarts: int
    finished: bool
    status: dict[str, Any] | None

    @property
    def alive(self) -> bool: ...

    def describe(self) -> dict[str, Any]: ...


class Pool(Protocol):
    settings: Settings
    workers: list[Any]  # the Shard members (a list of a concrete class: invariant)
    exit_code: int

    def relay_endpoints(self) -> dict[int, str]: ...
    def watch_relay(self, relay: Any) -> None: ...
    def start_line(self) -> str: ...
    def start(self) -> None: ...
    def check(self, now: float, on_exit: Callable[[Any], None] | None = None) -> bool: ...
    def stop(self) -> None: ...
    def kill_all(self) -> None: ...
    def owner(self, source: str) -> Any: ...
    def ask(self, worker: Any, command: str, source: str | None = None,
            value: float | None = None) -> dict[str, Any]: ...


def _refresh_until(control: Any, done: threading.Event) -> None:
    while not done.is_set():
        control.refresh()
        done.wait(STATUS_EVERY_S)


def card_facts(settings: Settings) -> tuple[tuple[str, ...], str]:
    """The model's labels and id for the parent's outputs (the shards load the model itself;
    a bad model stops them with its own error)."""
    from genrecast.daemon.model.card import load_card

    try:
        card = load_card(settings.model_path)
    except (UserError, OSError, ValueError):
        return (), ""
    return tuple(card.labels), card.model_id


def run_pool(settings: Settings, pool: Pool) -> None:
    """Run ``pool`` until a signal, or until every shard finished or one failed for good."""
    import zmq
    from genrecast.daemon.service.control import ControlServer
    from genrecast.daemon.service.notify import Notifier
    from genrecast.daemon.service.worker_control import WorkerControl
    from genrecast.daemon.service.worker_metrics import serve_worker_metrics
    from genrecast.daemon.service.worker_outputs import ParentOutputs
    from genrecast.daemon.service.worker_relay import Relay
    from genrecast.daemon.wire.curve_auth import CurveServer

    stop = threading.Event()
    done = threading.Event()  # the main loop ended (signal, or every shard finished or failed)

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            pool.kill_all()
            os._exit(EXIT_SIGNAL_BASE + signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    control = WorkerControl(pool)

    def on_hup(_signum: int, _frame: object) -> None:  # systemctl reload: every shard reloads
        threading.Thread(target=control.reload, name="genrecast-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, on_hup)
    notifier = Notifier()
    setup = []
    p = settings.publish
    if p.curve_secret_key:
        setup.append(CurveServer(zmq.Context.instance(), p.curve_secret_key,
                                 p.curve_authorized_dir).secure)
    labels, model_id = card_facts(settings)
    relay = Relay(p, pool.relay_endpoints(), setup=setup, model_id=model_id)
    pool.watch_relay(relay)
    server = None
    metrics = None
    outputs: ParentOutputs | None = None
    ready = False
    try:
        outputs = ParentOutputs(settings, relay, control)
        relay.extra = outputs.heartbeat_fields
        if settings.control.endpoint != "off":
            server = ControlServer(zmq.Context.instance(), settings.control.resolved_endpoint(),
                                   control.handlers(), ipc_mode=p.ipc_mode,
                                   ipc_group=p.ipc_group).start()
        if settings.metrics.port:
            metrics = serve_worker_metrics(control, settings.metrics)
        outputs.watch(metrics)
        relay.start()
        pool.start()
        outputs.start(labels)
        web = outputs.web
        print(f"genrecast: {pool.start_line()}, events on {relay.publisher.bound_endpoint}, "
              f"control on {server.endpoint if server else 'off'}, "
              + (f"dashboard on {web.url}, " if web is not None else "") + "sources: "
              + ", ".join(f"{s.name}={s.spec}" for s in settings.sources),
              file=sys.stderr, flush=True)
        # Status is asked of the shards on a thread of its own: a busy shard answers late, and
        # the signal must not wait behind it.
        threading.Thread(target=_refresh_until, args=(control, done), name="genrecast-status",
                         daemon=True).start()
        while not stop.wait(TICK_S):
            now = time.monotonic()
            if not pool.check(now, on_exit=lambda w: relay.forget(w.index)):
                break
            if not ready and control.all_ready():
                ready = True
                relay.open()
                notifier.ready(control.summary())
            elif ready:
                notifier.status(control.summary())
            notifier.watchdog_if_due(control.all_healthy(), now)
    finally:
        done.set()
        notifier.stopping("stopping")
        pool.stop()
        relay.stop()  # after the shards: their last events are forwarded first
        if outputs is not None:
            outputs.close()
        if server is not None:
            server.stop()
        if metrics is not None:
            metrics.close()
        notifier.close()
    if pool.exit_code:
        raise UserError(f"a worker stopped with exit code {pool.exit_code}; "
                        "its error is printed above", exit_code=pool.exit_code)
    if not ready and not stop.is_set() and not all(w.finished for w in pool.workers):
        raise ServiceUnavailable("the workers stopped before they were ready")
