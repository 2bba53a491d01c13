"""The supervisor's state machine on a fake source and an explicit clock: no threads, no sleeps."""

from __future__ import annotations

from genrecast.daemon.audio.sources.base import Source
from genrecast.daemon.engine.states import SourceState as S
from genrecast.daemon.engine.supervisor import (
    BACKOFF_JITTER,
    BACKOFF_MAX_S,
    BACKOFF_START_S,
    RECOVERY_TIMEOUT_S,
    STALL_S,
    Supervisor,
)
from genrecast.daemon.errors import DataError, InputNotFound
from genrecast.daemon.settings import SourceSettings


class FakeSource(Source):
    """Frames advance when the test says so; open/close are counted; reopen may fail."""

    def __init__(self, restartable: bool = True) -> None:
        super().__init__(SourceSettings(name="f", kind="file", target="x"))
        self.restartable = restartable
        self.frames = 0
        self.opens = 0
        self.closes = 0
        self.fail_reopen: Exception | None = None

    @property
    def frames_received(self) -> int:
        return self.frames

    def open(self) -> None:
        if self.fail_reopen is not None:
            raise self.fail_reopen
        self.opens += 1
        self.error = None

    def close(self) -> None:
        self.closes += 1


def _setup(source: FakeSource) -> tuple[Supervisor, list[tuple[S, S | None, str]]]:
    seen: list[tuple[S, S | None, str]] = []
    sup = Supervisor(lambda name, state, prev, detail: seen.append((state, prev, detail)))
    sup.add(source, 0.0)
    return sup, seen


def test_starting_then_running_when_frames_advance() -> None:
    src = FakeSource()
    sup, seen = _setup(src)
    sup.check(src, 0.5)
    assert sup.state("f") == S.STARTING
    src.frames = 100
    sup.check(src, 0.6)
    assert [s for s, _, _ in seen] == [S.STARTING, S.RUNNING]


def test_stall_then_lost_then_reopened_with_growing_backoff() -> None:
    src = FakeSource()
    sup, seen = _setup(src)
    src.frames = 1
    sup.check(src, 1.0)
    sup.check(src, 1.0 + STALL_S)  # no new frames for STALL_S
    assert sup.state("f") == S.STALLED
    sup.check(src, 1.0 + 2 * STALL_S)
    assert sup.state("f") == S.LOST and src.closes == 1
    retry = sup.watches["f"].retry_at_s
    # the backoff is scattered by ±BACKOFF_JITTER so that streams do not retry in lockstep
    assert retry is not None
    assert near(retry - (1.0 + 2 * STALL_S), BACKOFF_START_S)
    sup.check(src, retry - 0.01)
    assert sup.state("f") == S.LOST  # not before the backoff
    sup.check(src, retry)
    assert sup.state("f") == S.RECOVERING and sup.watches["f"].restarts == 1
    src.frames = 2
    sup.check(src, retry + 1.0)
    assert sup.state("f") == S.RUNNING
    assert sup.watches["f"].backoff_s == BACKOFF_START_S  # reset once it recovered


def test_failed_reopens_back_off_up_to_the_cap() -> None:
    src = FakeSource()
    src.fail_reopen = InputNotFound("gone")
    sup, _ = _setup(src)
    src.error = InputNotFound("device unplugged")
    now = 0.0
    sup.check(src, now)
    gaps = []
    for _ in range(8):
        retry = sup.watches["f"].retry_at_s
        assert retry is not None
        gaps.append(retry - now)
        now = retry
        sup.check(src, now)
        assert sup.state("f") == S.LOST
    for gap, nominal in zip(gaps, [BACKOFF_START_S, 2 * BACKOFF_START_S, 4 * BACKOFF_START_S],
                            strict=False):
        assert near(gap, nominal), gaps
    assert near(gaps[-1], BACKOFF_MAX_S) and max(gaps) <= BACKOFF_MAX_S * (1 + BACKOFF_JITTER)


def near(wait_s: float, nominal_s: float) -> bool:
    return nominal_s * (1 - BACKOFF_JITTER) - 1e-9 <= wait_s <= nominal_s * (1 + BACKOFF_JITTER) + 1e-9


def test_a_reopened_source_that_never_delivers_is_lost_again() -> None:
    src = FakeSource()
    sup, _ = _setup(src)
    src.error = InputNotFound("x")
    sup.check(src, 0.0)
    retry = sup.watches["f"].retry_at_s
    assert retry is not None
    sup.check(src, retry)
    assert sup.state("f") == S.RECOVERING
    sup.check(src, retry + RECOVERY_TIMEOUT_S - 0.5)
    assert sup.state("f") == S.RECOVERING  # still within the time a reopened stream is given
    # Strictly past the timeout: retry + T - retry can round to just below T.
    sup.check(src, retry + RECOVERY_TIMEOUT_S + 0.01)
    assert sup.state("f") == S.LOST


def test_bad_data_stops_the_source_for_good() -> None:
    src = FakeSource()
    sup, _ = _setup(src)
    src.fail(DataError("garbage"), fatal=True)
    sup.check(src, 0.0)
    assert sup.state("f") == S.STOPPED
    assert [str(e) for e in sup.fatal_errors] == ["garbage"]
    sup.check(src, 100.0)
    assert src.opens == 0  # never retried


def test_a_source_that_cannot_restart_is_stopped_not_retried() -> None:
    src = FakeSource(restartable=False)
    sup, _ = _setup(src)
    src.error = InputNotFound("stdin closed")
    sup.check(src, 0.0)
    assert sup.state("f") == S.STOPPED and src.opens == 0


def test_pause_and_resume_are_not_supervised() -> None:
    src = FakeSource()
    sup, _ = _setup(src)
    sup.pause(src)
    sup.check(src, 1000.0)  # no frames for ages while paused: still paused
    assert sup.state("f") == S.PAUSED
    sup.resume(src, 1000.0)
    assert sup.state("f") == S.STARTING
    sup.check(src, 1000.0 + STALL_S - 0.01)
    assert sup.state("f") == S.STARTING  # the stall clock restarted at resume
