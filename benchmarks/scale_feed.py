"""Benchmark sources for ``scale.py``: many 48 kHz mono streams fed like live capture.

``FedSource`` is a ``Source`` whose ring is written by a shared ``Feeder`` thread, the way
PortAudio callbacks write a mic source's ring: one block of ``BLOCK_FRAMES`` per source every
block period, at real-time pace, copied into the same ``Ring`` class with the same wake-up of the
daemon's loop. Nothing else about the daemon is replaced. The feeder records when it started
writing each block, so a window's end can be tied to the moment its last sample entered.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from genrecast.daemon.audio.ring import Ring
from genrecast.daemon.audio.sources.base import RING_SECONDS, Source
from genrecast.daemon.settings import SourceSettings

RATE_HZ = 48_000
BLOCK_FRAMES = 1024  # ~21 ms: a typical PortAudio / ffmpeg pipe block at 48 kHz
RING_S = RING_SECONDS  # the daemon's own ring size, so the memory figures are the daemon's


class FedSource(Source):
    """A live-paced 48 kHz mono source whose frames come from a ``Feeder``."""

    def __init__(self, settings: SourceSettings, feeder: Feeder) -> None:
        super().__init__(settings)
        self.feeder = feeder

    def open(self) -> None:
        self.rate_hz = RATE_HZ
        self.channels = 1
        self.ring = Ring(int(RING_S * RATE_HZ), 1, self.wake)
        self.generation += 1
        self.start_wall_s = time.time()
        self.feeder.attach(self)

    def close(self) -> None:
        self.feeder.detach(self)


class Feeder(threading.Thread):
    """Writes the next block of ``audio`` (looped, a different offset per source) into every
    attached source's ring each block period; ``tick_mono[k]`` is when tick ``k`` started.

    Source ``i`` of ``n`` starts ``i / n`` of ``stagger_s`` after the first, as streams opened at
    different moments do, so their windows fall due spread over the hop rather than all at once
    (``stagger_s=0``: every source in lockstep, the worst case for one loop iteration)."""

    def __init__(self, audio: np.ndarray, max_seconds: float, n: int = 1,
                 stagger_s: float = 0.0) -> None:
        super().__init__(name="feeder", daemon=True)
        # Padded so every block is one contiguous slice, whatever the offset.
        self.audio = np.concatenate((audio, audio[:BLOCK_FRAMES])).astype(np.float32).reshape(-1, 1)
        self.loop_frames = audio.shape[0]
        self.sources: list[FedSource] = []
        self.n = max(1, n)
        self.stagger_ticks = int(stagger_s * RATE_HZ / BLOCK_FRAMES)
        self.start_tick: dict[str, int] = {}  # source name → tick of its first block
        self._lock = threading.Lock()
        self.stop_flag = threading.Event()
        ticks = int(max_seconds * RATE_HZ / BLOCK_FRAMES) + 16
        self.tick_mono = np.full(ticks, np.nan)
        self.ticks = 0
        self.max_lag_s = 0.0  # how late a block started against its schedule
        self.t0 = 0.0

    def attach(self, source: FedSource) -> None:
        with self._lock:
            i = len(self.start_tick) % self.n
            self.start_tick.setdefault(source.name, i * self.stagger_ticks // self.n)
            self.sources.append(source)

    def detach(self, source: FedSource) -> None:
        with self._lock:
            if source in self.sources:
                self.sources.remove(source)

    def run(self) -> None:
        period_s = BLOCK_FRAMES / RATE_HZ
        self.t0 = time.monotonic()
        k = 0
        while not self.stop_flag.is_set() and k < self.tick_mono.size:
            due = self.t0 + k * period_s
            delay = due - time.monotonic()
            if delay > 0 and self.stop_flag.wait(delay):
                return
            now = time.monotonic()
            self.max_lag_s = max(self.max_lag_s, now - due)
            self.tick_mono[k] = now
            with self._lock:
                sources = list(self.sources)
            for i, src in enumerate(sources):
                block = k - self.start_tick[src.name]
                if block < 0:
                    continue
                pos = (block * BLOCK_FRAMES + i * 7919) % self.loop_frames
                assert src.ring is not None
                src.ring.write(self.audio[pos : pos + BLOCK_FRAMES])
            k += 1
            self.ticks = k

    def stream_offset_s(self, name: str) -> float:
        """Seconds after the feeder's start at which source ``name`` got its first frame."""
        return self.start_tick[name] * BLOCK_FRAMES / RATE_HZ

    def frame_arrival(self, name: str, frame_index: int) -> float | None:
        """Monotonic time the feeder began writing the block holding ``frame_index``."""
        k = self.start_tick[name] + frame_index // BLOCK_FRAMES
        if 0 <= k < self.ticks:
            return float(self.tick_mono[k])
        return None
