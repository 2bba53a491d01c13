"""Per-source state machine: watch frames against the monotonic clock, restart with backoff.

The states are ``SourceState`` (``states.py``): no frames for ``STALL_S`` → stalled; the source
failed → lost, retried after a backoff → recovering → running. A dead
PulseAudio server makes a PortAudio callback stream go quiet without any error, so frames that
stop advancing are the signal, whatever the source kind.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from genrecast.daemon.audio.sources.base import Source
from genrecast.daemon.engine.states import SourceState
from genrecast.daemon.errors import UserError
from genrecast.daemon.text import MAX_DETAIL_CHARS, safe_text

log = logging.getLogger(__name__)

STALL_S = 2.0  # frames not advancing for this long: the source is stalled
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
RECOVERY_TIMEOUT_S = 15.0  # a reopened stream may take this long to deliver its first audio
# (ffmpeg analyses about 5 s of a live stream before it outputs anything)
# Each wait is the backoff times a random factor in [1 - JITTER, 1 + JITTER]: 500 streams from
# one server that dropped together then reconnect spread over seconds, not in lockstep.
BACKOFF_JITTER = 0.5


def jittered(backoff_s: float) -> float:
    return backoff_s * random.uniform(1.0 - BACKOFF_JITTER, 1.0 + BACKOFF_JITTER)

STARTING, RUNNING, STALLED, LOST, RECOVERING, PAUSED, STOPPED = (
    SourceState.STARTING, SourceState.RUNNING, SourceState.STALLED, SourceState.LOST,
    SourceState.RECOVERING, SourceState.PAUSED, SourceState.STOPPED)

# (source name, new state, previous state, detail)
TransitionHook = Callable[[str, SourceState, "SourceState | None", str], None]


@dataclass
class Watch:
    """Supervision state of one source."""

    state: SourceState
    last_frames: int = 0
    last_advance_s: float = 0.0
    backoff_s: float = BACKOFF_START_S
    retry_at_s: float | None = None
    restarts: int = 0
    detail: str = ""
    """Why the source is in its state (the last transition's detail, e.g. the HTTP error)."""

    def reason(self, now_s: float) -> str:
        """The state with its reason, for ``ctl status``: ``lost: HTTP 503 ..., retry in 4.2 s``."""
        text = f"{self.state}: {self.detail}" if self.detail else str(self.state)
        if self.state == LOST and self.retry_at_s is not None:
            text += f", retry in {max(0.0, self.retry_at_s - now_s):.1f} s"
        return text


class Supervisor:
    def __init__(self, on_transition: TransitionHook, stall_s: float = STALL_S) -> None:
        self.on_transition = on_transition
        self.stall_s = stall_s
        self.watches: dict[str, Watch] = {}
        self.fatal_errors: list[UserError] = []

    def state(self, name: str) -> SourceState:
        return self.watches[name].state

    def set_state(self, name: str, state: SourceState, detail: str = "") -> None:
        watch = self.watches[name]
        if watch.state == state:
            return
        previous, watch.state = watch.state, state
        detail = safe_text(detail, MAX_DETAIL_CHARS)  # often a station's words: see text.py
        watch.detail = detail
        log.info("source %s: %s → %s %s", name, previous, state, detail)
        self.on_transition(name, state, previous, detail)

    def add(self, source: Source, now_s: float, state: SourceState = STARTING,
            detail: str = "") -> None:
        detail = safe_text(detail, MAX_DETAIL_CHARS)
        self.watches[source.name] = Watch(state=state, last_frames=source.frames_received,
                                          last_advance_s=now_s, detail=detail)
        self.on_transition(source.name, state, None, detail)

    def lost(self, source: Source, now_s: float, detail: str) -> None:
        """The source failed: stop it, and retry after the current backoff if it can restart."""
        watch = self.watches[source.name]
        source.close()
        if not source.restartable or source.fatal:
            if source.fatal and isinstance(source.error, UserError):
                self.fatal_errors.append(source.error)
            self.set_state(source.name, STOPPED, detail)
            return
        self.set_state(source.name, LOST, detail)
        watch.retry_at_s = now_s + jittered(watch.backoff_s)
        watch.backoff_s = min(watch.backoff_s * 2, BACKOFF_MAX_S)

    def check(self, source: Source, now_s: float) -> None:
        """Called every loop iteration (cheap): advance the state machine of ``source``."""
        watch = self.watches[source.name]
        if watch.state in (STOPPED, PAUSED):
            return
        frames = source.frames_received
        advanced = frames != watch.last_frames
        if advanced:
            watch.last_frames = frames
            watch.last_advance_s = now_s
        if watch.state in (RUNNING, STARTING, STALLED, RECOVERING) and source.error is not None:
            self.lost(source, now_s, f"{source.error}")
            return
        if watch.state == LOST:
            if watch.retry_at_s is not None and now_s >= watch.retry_at_s:
                self._restart(source, now_s)
            return
        if advanced and watch.state != RUNNING:
            detail = "recovered" if watch.state in (STALLED, RECOVERING) else "started"
            if watch.state == RECOVERING:
                watch.backoff_s = BACKOFF_START_S
            self.set_state(source.name, RUNNING, detail)
            return
        if source.ended:
            return  # the pipeline drains the ring, then calls finished()
        quiet_s = now_s - watch.last_advance_s
        if watch.state == STARTING and source.first_audio_timeout_s is not None:
            # Still connecting in the background (url): not stalled, but lost after the timeout.
            if quiet_s >= source.first_audio_timeout_s:
                self.lost(source, now_s, f"no audio within {quiet_s:.1f} s")
            return
        if quiet_s >= self.stall_s and watch.state in (RUNNING, STARTING):
            self.set_state(source.name, STALLED, f"no audio for {quiet_s:.1f} s")
        elif source.restartable and (
                (watch.state == STALLED and quiet_s >= 2 * self.stall_s)
                or (watch.state == RECOVERING and quiet_s >= RECOVERY_TIMEOUT_S)):
            self.lost(source, now_s, f"no audio for {quiet_s:.1f} s")

    def _restart(self, source: Source, now_s: float) -> None:
        watch = self.watches[source.name]
        watch.restarts += 1
        self.set_state(source.name, RECOVERING, f"reopening (attempt {watch.restarts})")
        try:
            source.reopen()
        except Exception as exc:  # noqa: BLE001 - any failure here is retried with backoff
            watch.retry_at_s = now_s + jittered(watch.backoff_s)
            watch.backoff_s = min(watch.backoff_s * 2, BACKOFF_MAX_S)
            self.set_state(source.name, LOST, f"reopen failed: {exc}")
            return
        watch.retry_at_s = None
        watch.last_frames = source.frames_received
        watch.last_advance_s = now_s

    def finished(self, source: Source, detail: str = "end of input") -> None:
        self.set_state(source.name, STOPPED, detail)

    def pause(self, source: Source) -> None:
        self.set_state(source.name, PAUSED, "paused")

    def resume(self, source: Source, now_s: float) -> None:
        watch = self.watches[source.name]
        watch.last_frames = source.frames_received
        watch.last_advance_s = now_s
        self.set_state(source.name, STARTING, "resumed")

    def all_stopped(self) -> bool:
        return all(w.state == STOPPED for w in self.watches.values())
