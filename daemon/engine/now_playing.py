"""Now playing: a source's title changes → track events, ``stream_title`` per window, and the
smoother's reset on a new track (``decisions.reset_on_track``).

A change is placed in stream seconds where its ICY block arrived. A window carries the title
current at its end; the smoother forgets the previous track at the first window that starts
after the change, so the new song's genre is decided from its own windows only (the windows that
straddle the change still count for the old track, whose average is then thrown away).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from genrecast.daemon.audio.sources.base import TrackChange


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

    def note(self, change: TrackChange, at_s: float, at_wall_s: float) -> None:
        track = Track(change.title, change.previous, change.stream_url, at_s, at_wall_s)
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
