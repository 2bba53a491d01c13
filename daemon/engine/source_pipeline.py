"""Per-source pipeline: ring → SourceDSP (downmix, resample, window) → smoother → events.

The main loop pulls due windows from every source's pipeline, classifies them together in one
batch, then hands each window's probabilities back to its pipeline, which decides and returns
the events to publish (``WindowOutcome``): data flows one way, and the loop only batches,
publishes and counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from genrecast.daemon.audio.ring import Ring
from genrecast.daemon.audio.sources.base import Source
from genrecast.daemon.dsp.chain import SourceDSP
from genrecast.daemon.engine.now_playing import NowPlaying
from genrecast.daemon.engine.smoothing import Decision, Smoother, rms_dbfs
from genrecast.daemon.model.card import ModelCard
from genrecast.daemon.settings import DecisionSettings
from genrecast.daemon.wire.events import EventFactory, utc_iso


@dataclass
class SourceCounters:
    """What the pipeline itself counts for its source. Frames, overruns, restarts and the state
    belong to the source and the supervisor and are read from them (``Daemon.source_report``)."""

    windows_classified: int = 0
    events_published: int = 0
    events_dropped: int = 0


@dataclass(frozen=True)
class WindowOutcome:
    """What one classified window decided: its level, the smoother's decision and the events to
    publish for it (a prediction, and a genre change when there is one)."""

    level_db: float
    decision: Decision
    events: list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class DueWindow:
    """A window ready to classify, with its place in the stream."""

    pipeline: SourcePipeline
    start_sample: int
    """First model-rate sample of the window within the current source generation."""
    window: np.ndarray
    start_s: float
    end_s: float
    start_wall_s: float
    end_wall_s: float


class SourcePipeline:
    def __init__(self, source: Source, card: ModelCard, decisions: DecisionSettings,
                 events: EventFactory) -> None:
        self.source = source
        self.decisions = decisions
        self.events = events
        self.counters = SourceCounters()
        self.current_genre: dict[str, Any] | None = None
        """The last genre event's fields (genre, previous, confidence, at_utc, seq): snapshots."""
        self.paused = False
        self.drained = False  # the input ended and its last windows were flushed
        self._dsp: SourceDSP | None = None
        self._generation = -1
        self._pending: list[np.ndarray] = []  # frames read but not yet worth resampling
        self._pending_frames = 0
        self._frames_base = 0  # ring frames read before the current DSP started
        self._offset_s = 0.0  # stream seconds covered by earlier generations (restarts)
        self._wall_base_s = 0.0
        self._resumed_wall_s: float | None = None
        self.now_playing = NowPlaying(source.has_titles, decisions.reset_on_track)
        self.set_card(card)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def titles_suppressed(self) -> int:
        """Title changes never published: over the flood limit, or over what the source keeps
        unread (``changes_dropped`` of url sources)."""
        return self.now_playing.suppressed + int(getattr(self.source, "changes_dropped", 0))

    def set_card(self, card: ModelCard) -> None:
        """A new model (SIGHUP reload): new decision state, and new DSP if rate/window changed."""
        old = getattr(self, "card", None)
        self.card = card
        self.hop_samples = max(1, round(self.decisions.hop_s * card.sample_rate_hz))
        self.smoother = Smoother(card.labels, self.decisions)
        if old is not None and (old.sample_rate_hz, old.window_samples) != (
            card.sample_rate_hz, card.window_samples
        ):
            self._restart_dsp()

    def set_threshold(self, threshold: float) -> None:
        """This source's base threshold (``genrecast ctl threshold``, Home Assistant's number);
        it outlives a model reload, not a restart."""
        self.decisions = replace(self.decisions, threshold=threshold)
        self.smoother.set_threshold(threshold)

    def _set_wake(self, dsp: SourceDSP, ring: Ring) -> None:
        """Ask the ring to wake the loop only when the next window is complete (at most half a
        ring ahead, so a long hop never overruns it); paused sources wake on every write."""
        if self.paused:
            ring.wake_at = 0
        else:
            ring.wake_at = min(self._frames_base + dsp.frames_for_next_window(),
                               ring.read_count + ring.capacity // 2)

    def _restart_dsp(self) -> None:
        self._pending = []
        self._pending_frames = 0
        if self._dsp is not None:
            self._offset_s += self._dsp.windower.samples_seen / self._dsp.model_rate
        self._dsp = None
        self._generation = -1

    def reset(self) -> None:
        """Forget the stream so far (resume after a pause): the next window starts fresh."""
        self._restart_dsp()
        self._resumed_wall_s = time.time()
        self.smoother.reset()

    def pull(self) -> list[DueWindow]:
        """Drain the ring; return the windows that are now complete (none while paused)."""
        source = self.source
        if source.has_titles:
            self.now_playing.release()  # a title held by the flood limit, even while lost
        ring = source.ring
        if ring is None or self.drained:
            return []
        if source.generation != self._generation:
            self._restart_dsp()
            self._generation = source.generation
            assert source.rate_hz is not None
            self._dsp = SourceDSP(source.rate_hz, self.card.sample_rate_hz,
                                  self.card.window_samples, self.hop_samples)
            self._frames_base = ring.read_count
            # Wall clock of the DSP's first sample: the source's start, or the moment of resume.
            self._wall_base_s = (source.start_wall_s if self._resumed_wall_s is None
                                 else self._resumed_wall_s)
            self._resumed_wall_s = None
            self.smoother.reset()
        dsp = self._dsp
        assert dsp is not None
        if source.has_titles:
            self._note_tracks(source)
        ended = source.ended  # read before draining: once set, every frame is already written
        if not (ended or self.paused or ring.due):
            # Nothing completes a window yet: leave the frames in the ring (no copy, no call).
            return []
        frames = ring.read()
        if self.paused:
            return []
        if frames.shape[0]:
            self._pending.append(frames)
            self._pending_frames += frames.shape[0]
        pairs: list[tuple[int, np.ndarray]] = []
        # The resampler's cost is mostly per call, so frames wait here until they complete a
        # window: one push per hop instead of one per capture block (about 10x less CPU at
        # 22 kHz with 20-ms blocks), no added latency, and the same samples (the resampler is
        # chunking-invariant).
        if self._pending and (ended or dsp.completes_window(self._pending_frames)):
            chunk = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
            self._pending.clear()
            self._pending_frames = 0
            pairs = dsp.push(chunk)
        if ended and ring.available == 0:
            pairs += dsp.flush()
            self.drained = True
        else:
            self._set_wake(dsp, ring)
        rate = self.card.sample_rate_hz
        window_s = self.card.window_samples / rate
        out = []
        for start, window in pairs:
            local_s = start / rate
            out.append(DueWindow(
                pipeline=self, start_sample=start, window=window,
                start_s=self._offset_s + local_s, end_s=self._offset_s + local_s + window_s,
                start_wall_s=self._wall_base_s + local_s,
                end_wall_s=self._wall_base_s + local_s + window_s,
            ))
        return out

    def _note_tracks(self, source: Source) -> None:
        """Title changes → stream seconds (where their metadata arrived) for ``now_playing``."""
        rate = source.rate_hz or 1
        for change in source.take_track_changes():
            local_s = max(0, change.frames_written - self._frames_base) / rate
            self.now_playing.note(change, self._offset_s + local_s, self._wall_base_s + local_s)

    def take_track_events(self) -> list[tuple[str, dict[str, Any]]]:
        """``genrecast.track.<source>`` events for the title changes noted since the last call."""
        tracks, self.now_playing.pending = self.now_playing.pending, []
        return [self.events.make("track", self.name, time.time(), title=t.title,
                                 previous=t.previous, stream_url=t.stream_url,
                                 at_s=round(t.at_s, 6), at_utc=utc_iso(t.at_wall_s))
                for t in tracks]

    def decide(self, due: DueWindow, probs: np.ndarray) -> WindowOutcome:
        """Smooth and decide one classified window; build its events."""
        if self.now_playing.at_window(due.start_s, due.end_s):
            self.smoother.reset()  # a new track: decide its genre from its own windows
        level = rms_dbfs(due.window)
        self.counters.windows_classified += 1
        decision = self.smoother.update(probs, level, due.end_s)
        labels = self.card.labels
        values = probs.tolist()  # Python floats: rounding them is cheaper than numpy scalars
        top = max(range(len(values)), key=values.__getitem__)
        now = time.time()
        events = [self.events.make(
            "prediction", self.name, now,
            label=labels[top], confidence=round(values[top], 6),
            probabilities={lab: round(x, 6) for lab, x in zip(labels, values, strict=True)},
            smoothed={lab: round(x, 6)
                      for lab, x in zip(labels, decision.smoothed.tolist(), strict=True)},
            silent=decision.silent, rms_dbfs=round(max(level, -200.0), 2),
            start_s=round(due.start_s, 6), end_s=round(due.end_s, 6),
            start_utc=utc_iso(due.start_wall_s), end_utc=utc_iso(due.end_wall_s),
            genre=decision.genre, **self.now_playing.fields(),
        )]
        if decision.changed:
            assert decision.genre is not None
            duration = decision.previous_duration_s
            topic, event = self.events.make(
                "genre", self.name, now, genre=decision.genre, previous=decision.previous,
                confidence=round(decision.confidence, 6),
                previous_duration_s=None if duration is None else round(duration, 6),
                at_s=round(due.end_s, 6), at_utc=utc_iso(due.end_wall_s),
                **self.now_playing.fields(),
            )
            events.append((topic, event))
            self.current_genre = {k: event[k]
                                  for k in ("genre", "previous", "confidence", "at_utc", "seq")}
        return WindowOutcome(level, decision, events)
