"""Now playing: a source's title changes → track events, ``stream_title`` per window, and the
smoother's reset on a new track (``decisions.reset_on_track``).

A change is placed in stream seconds where its ICY block arrived. A window carries the title
current at its end; the smoother forgets the previous track at the first window that starts
after the change, so the new song's genre is decided from its own windows only (the windows that
straddle the change still count for the old track, whose average is then thrown away).

Title floods are limited per source: a station may change its title ``TITLE_BURST`` times at once,
then once per ``TITLE_INTERVAL_S`` (one station sent 293 titles a second, each a track event to
every subscriber, a retained MQTT message and a dashboard event). A change over the limit is
held, and a newer one replaces it; the held one is published when the limit allows, so the
current title is never lost, only the ones in between (counted in ``suppressed``).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace

from genrecast.daemon.audio.sources.base import TrackChange

TITLE_BURST = 4
TITLE_INTERVAL_S = 2.0


class TitleLimiter:
    """A token bucket: ``TITLE_BURST`` at once, then one per ``TITLE_INTERVAL_S``."""

    def __init__(self, burst: int = TITLE_BURST, interval_s: float = TITLE_INTERVAL_S) -> None:
        self.burst = burst
        self.interval_s = interval_s
        self._tokens = float(burst)
        self._last_s: float | None = None

    def allow(self, now_s: float) -> bool:
        if self._last_s is not None:
            self._tokens = min(self.burst, self._tokens + (now_s - self._last_s) / self.interval_s)
        self._last_s = now_s
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@dataclass(frozen=True)
class Track:
    title: str
    previous: str | None
    stream_url: str
    at_s: float
    at_wall_s: float


class NowPlaying:
    """Per source; ``note`` changes as they are read, ``at_window`` once per decided window."""

    def __init__(self, enabled: bool, reset_on_track: bool) -> None:
        self.enabled = enabled
        self.reset_on_track = reset_on_track
        self.title: str | None = None
        """The title current at the end of the last decided window."""
        self.pending: list[Track] = []
        """Changes not yet published (the loop takes them)."""
        self._marks: deque[Track] = deque()
        self._reset_at_s: float | None = None
        self._limiter = TitleLimiter()
        self._held: Track | None = None
        self._published: str | None = None  # the last title published
        self.suppressed = 0
        """Title changes never published (a flood: newer ones replaced them)."""

    def note(self, change: TrackChange, at_s: float, at_wall_s: float,
             now_s: float | None = None) -> None:
        track = Track(change.title, change.previous, change.stream_url, at_s, at_wall_s)
        if self._held is not None:
            self.suppressed += 1  # replaced before it could go out
            self._held = None
        if self._limiter.allow(time.monotonic() if now_s is None else now_s):
            self._publish(track)
        else:
            self._held = track

    def release(self, now_s: float | None = None) -> None:
        """Publish the held title once the limit allows (called on every read of the source)."""
        if self._held is not None and self._limiter.allow(
                time.monotonic() if now_s is None else now_s):
            track, self._held = self._held, None
            self._publish(track)

    def _publish(self, track: Track) -> None:
        # "previous" is what subscribers were told last, not a title they never saw.
        if track.previous != self._published and track.previous is not None:
            track = replace(track, previous=self._published)
        self._published = track.title
        self.pending.append(track)
        self._marks.append(track)

    def at_window(self, start_s: float, end_s: float) -> bool:
        """Advance to a window; True when the smoother must forget the previous track first."""
        while self._marks and self._marks[0].at_s <= end_s:
            track = self._marks.popleft()
            if self.reset_on_track and track.previous is not None:
                self._reset_at_s = track.at_s
            self.title = track.title
        if self._reset_at_s is not None and start_s >= self._reset_at_s:
            self._reset_at_s = None
            return True
        return False

    def fields(self) -> dict[str, str | None]:
        """Extra fields of prediction and genre events: ``stream_title`` for sources with titles."""
        return {"stream_title": self.title} if self.enabled else {}
