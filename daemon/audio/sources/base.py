"""What every source provides: a ring at its own rate, counters, and open/close for restarts."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from genrecast.daemon.audio.ring import Ring
from genrecast.daemon.settings import SourceSettings

log = logging.getLogger(__name__)

# Seconds of device-rate audio a ring holds before overrunning: the loop drains a ring at least
# every half ring (wake_at) and usually every few tens of ms, so 4 s rides out long pauses of the
# loop while keeping a 48 kHz source at 0.77 MB (10 s was 1.9 MB: 1.9 GB for 1000 streams).
RING_SECONDS = 4.0


@dataclass(frozen=True)
class TrackChange:
    """The station's now-playing title changed (url sources)."""

    title: str
    previous: str | None
    stream_url: str
    frames_written: int
    """``ring.written`` when the title arrived: where in the current ring the change sits."""


class Source(ABC):
    """An audio input. ``open()`` raises a UserError when it cannot start; afterwards failures
    are reported through ``error`` (retryable) or ``fatal`` (bad data: retrying cannot help)."""

    restartable = True
    """False for inputs that cannot be opened twice (stdin)."""
    first_audio_timeout_s: float | None = None
    """Sources that connect in the background (url) stay ``starting`` this long before their
    first audio (a thousand streams opening at once on a busy host take seconds), instead of
    going ``stalled`` after STALL_S."""
    has_titles = False
    """True for inputs that can say what is playing (url: ICY StreamTitle)."""

    def __init__(self, settings: SourceSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.wake = threading.Event()
        """Set on every ring write; the Daemon replaces it with its loop's event."""
        self.ring: Ring | None = None
        self.rate_hz: int | None = None
        self.channels: int | None = None
        self.generation = 0  # bumped on every successful open: the pipeline restarts its DSP
        self.start_wall_s = 0.0
        self.error: Exception | None = None
        self.fatal = False
        self.ended = False  # no more data will come (end of file or stdin)
        self._frames_before = 0  # frames received by earlier rings (restarts)

    @property
    def frames_received(self) -> int:
        return self._frames_before + (self.ring.written if self.ring is not None else 0)

    @property
    def overrun_frames(self) -> int:
        return self.ring.overrun_frames if self.ring is not None else 0

    def _new_ring(self, rate_hz: int, channels: int) -> Ring:
        if self.ring is not None:
            self._frames_before += self.ring.written
        self.rate_hz = int(rate_hz)
        self.channels = int(channels)
        self.ring = Ring(int(RING_SECONDS * rate_hz), channels, self.wake)
        self.error = None
        self.fatal = False
        self.ended = False
        self.generation += 1
        self.start_wall_s = time.time()
        return self.ring

    def fail(self, exc: Exception, fatal: bool = False) -> None:
        """Called from the source's thread: record the failure and wake the main loop."""
        self.error = exc
        self.fatal = fatal
        self.wake.set()

    def finish(self) -> None:
        self.ended = True
        self.wake.set()

    @abstractmethod
    def open(self) -> None:
        """Start capturing into a new ring; raise a UserError naming the problem and the fix."""

    @abstractmethod
    def close(self) -> None:
        """Stop capturing (idempotent, quick)."""

    def take_track_changes(self) -> list[TrackChange]:
        """Title changes since the last call (sources with ``has_titles``)."""
        return []

    def wait_ready(self, timeout_s: float) -> None:
        """Sources whose ``open()`` returns before the input is reached (url) wait here for
        the first audio or raise the UserError that names why none came; others return."""
        return None

    def reopen(self) -> None:
        """Open again after a failure (called by the supervisor from the main loop: must not
        block for long)."""
        self.open()


class ThreadSource(Source):
    """A source whose frames come from a reader thread running ``_run``."""

    def __init__(self, settings: SourceSettings) -> None:
        super().__init__(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start_thread(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._guarded, name=f"source-{self.name}",
                                        daemon=True)
        self._thread.start()

    def _guarded(self) -> None:
        from genrecast.daemon.errors import DataError

        try:
            self._run(self._stop)
        except DataError as exc:
            self.fail(exc, fatal=True)
        except Exception as exc:  # noqa: BLE001 - reported as a status event, then retried
            log.debug("source %s failed", self.name, exc_info=True)
            self.fail(exc)

    @abstractmethod
    def _run(self, stop: threading.Event) -> None:
        """Read until ``stop`` is set or the input ends (then call ``finish``)."""

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        # ident is None: open() made the thread but has not started it yet (a signal early in
        # start-up closes the sources while they open); it will see the stop flag at once.
        if (thread is not None and thread.ident is not None
                and thread is not threading.current_thread()):
            thread.join(timeout=2.0)
        self._thread = None
