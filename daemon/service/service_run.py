"""``genrecast run``: which process this is (one of a parent's workers, the parent of several,
or the whole daemon in one), then the daemon with its ServiceRuntime, in an order that honours a
signal at any moment of start-up."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genrecast.daemon.service.runtime import ServiceRuntime

if TYPE_CHECKING:
    from genrecast.daemon.settings import Settings


def run_service(settings: Settings, overrides: Mapping[str, Any] | None = None) -> None:
    """``genrecast run``: start the daemon with systemd integration and run until stopped."""
    from genrecast.daemon.engine.daemon import Daemon
    from genrecast.daemon.service.workers import (
        WORKER_ENV,
        die_with_parent,
        run_workers,
        worker_settings,
    )
    from genrecast.daemon.settings import resolved_workers

    worker_spec = os.environ.get(WORKER_ENV)
    if worker_spec:  # one of the parent's workers: its shard, private endpoints
        die_with_parent()
        settings = worker_settings(settings, worker_spec)
    elif resolved_workers(settings) > 1:
        run_workers(settings, sys.argv[1:])
        return
    daemon = Daemon(settings)
    runtime = ServiceRuntime(daemon, overrides)
    try:
        runtime.install_signal_handlers()  # first, so a signal during startup is honoured
        runtime.open()
        daemon.start(subscriber_grace_s=settings.publish.startup_grace_s)
        runtime.start_web()
        publisher = daemon.publisher
        classifier = daemon.classifier
        print(f"genrecast: {classifier.card.model_id if classifier else '?'} on "
              f"{daemon.backend}, events on {publisher.bound_endpoint if publisher else '?'}, "
              f"control on {runtime.control.endpoint if runtime.control else 'off'}, "
              + (f"dashboard on {runtime.web.url}, " if runtime.web else "") + "sources: "
              + ", ".join(f"{s.name}={s.spec}" for s in settings.sources),
              file=sys.stderr, flush=True)
        daemon.run()
    finally:
        runtime.stopping("stopping")
        daemon.stop()
        runtime.close()


def config_path_or_default(config: Path | None, default: Path) -> Path | None:
    """--config PATH, else the default file if it exists (so `genrecast run` alone still works)."""
    if config is not None:
        return config
    return default if default.is_file() else None
