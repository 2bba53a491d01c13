"""Opening and closing every source at once, for ``Daemon.start`` and ``Daemon.stop``.

A url source may wait seconds for its first audio: a thousand of them one after another would
take most of an hour to start, and as long to stop. They open and close in parallel instead,
and a stop requested meanwhile (a signal during startup) is honoured at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from genrecast.daemon.audio.sources import Source
from genrecast.daemon.engine.parallel import PENDING, run_all
from genrecast.daemon.engine.states import SourceState
from genrecast.daemon.engine.supervisor import Supervisor
from genrecast.daemon.errors import ConfigError, DataError, UserError

log = logging.getLogger(__name__)

OPEN_CLOSE_THREADS = 64


def open_sources(sources: Sequence[Source], supervisor: Supervisor,
                 stop: threading.Event) -> list[UserError]:
    """Open every source; one that fails is retried by the supervisor, or stopped when retrying
    cannot help (bad data, a bad option, or it is the only source). Returns the failures; stops
    waiting as soon as ``stop`` is set."""
    failures: list[UserError] = []
    many = len(sources) > 1
    results = run_all([src.open for src in sources], OPEN_CLOSE_THREADS, stop=stop,
                      name="genrecast-open")
    if stop.is_set():
        return failures
    for src, exc in zip(sources, results, strict=True):
        if exc is None:
            continue
        if not isinstance(exc, UserError):
            assert isinstance(exc, BaseException)
            raise exc
        failures.append(exc)
        if many and src.restartable and not isinstance(exc, (DataError, ConfigError)):
            src.error = exc  # the supervisor retries it with backoff
        else:
            if many:
                supervisor.fatal_errors.append(exc)
            supervisor.set_state(src.name, SourceState.STOPPED, str(exc))
    return failures


def close_sources(sources: Sequence[Source], deadline_s: float) -> None:
    """Close every source in parallel, waiting at most until the monotonic ``deadline_s`` (one
    that does not close in time is left to the process exit: its threads are daemon threads)."""
    results = run_all([src.close for src in sources], OPEN_CLOSE_THREADS,
                      deadline_s=deadline_s, name="genrecast-close")
    for src, outcome in zip(sources, results, strict=True):
        if outcome is PENDING:
            log.warning("source %s did not close within the stop timeout", src.name)
        elif outcome is not None:
            log.error("closing source %s failed: %s", src.name, outcome)
