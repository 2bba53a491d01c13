"""A preallocated single-producer / single-consumer ring of audio frames at the source's rate.

The producer (a PortAudio callback or a reader thread) only copies into preallocated memory and
bumps a counter: no allocation of audio buffers, no lock that can block. Under CPython's GIL the
counter update is atomic, which is all one producer and one consumer need. When the consumer
falls behind by more than the capacity, the oldest frames are lost and counted as overrun.
Producers that can wait (files read as fast as possible, stdin) call ``wait_for_space`` first.
"""

from __future__ import annotations

import threading
import time
from array import array

import numpy as np

# (end frame, monotonic time) of the latest writes, for latency figures: ~20 s of 20-ms blocks,
# 16 KB per ring (4096 entries made it 64 KB, a third of a 1000-source daemon's memory per source)
ARRIVAL_LOG_LEN = 1024


class Ring:
    """Frames × channels float32; ``write`` from one thread, ``read`` from another."""

    def __init__(self, capacity_frames: int, channels: int,
                 wake: threading.Event | None = None) -> None:
        self.capacity = int(capacity_frames)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), dtype=np.float32)
        # Touch every page now: the first pass of writes would otherwise page-fault its way
        # through the buffer (3× the cost of a write, in the capture callback).
        self._buf.fill(0.0)
        self._empty = np.zeros((0, self.channels), dtype=np.float32)
        self._empty.flags.writeable = False
        self._wake = wake
        self._space = threading.Event()
        self.written = 0  # frames ever written (producer only)
        self._read = 0  # frames ever consumed (consumer only)
        self.overrun_frames = 0
        self.last_write_mono = 0.0
        # When each write completed: lets a benchmark tie a window's last sample to its arrival.
        self._arrival_end = array("q", bytes(8 * ARRIVAL_LOG_LEN))
        self._arrival_t = array("d", bytes(8 * ARRIVAL_LOG_LEN))
        self._arrivals = 0
        # The consumer's wake-up threshold: writes set ``wake`` only once ``written`` reaches it.
        # 0 wakes on every write; a pipeline sets it to the frame that completes its next window,
        # so 1000 sources × 47 blocks/s cost one loop wake-up per window, not one per block.
        self.wake_at = 0

    @property
    def available(self) -> int:
        return min(self.written - self._read, self.capacity)

    def write(self, frames: np.ndarray) -> None:
        """Copy frames (n × channels, or n for mono) in; wakes the consumer."""
        n = frames.shape[0]
        if n == 0:
            return
        if n > self.capacity:
            frames = frames[n - self.capacity :]
            self.overrun_frames += n - self.capacity
            self.written += n - self.capacity
            n = self.capacity
        # ~50k writes/s at 1000 sources: every numpy call here counts (a slice assignment is
        # ~3 µs on this machine, an index into an array.array 40 ns, into numpy 400 ns).
        data = frames if frames.ndim == 2 else frames.reshape(n, 1)
        i = self.written % self.capacity
        if i + n <= self.capacity:
            self._buf[i : i + n] = data
        else:
            first = self.capacity - i
            self._buf[i:] = data[:first]
            self._buf[: n - first] = data[first:]
        written = self.written = self.written + n
        now = self.last_write_mono = time.monotonic()
        slot = self._arrivals % ARRIVAL_LOG_LEN
        self._arrival_end[slot] = written
        self._arrival_t[slot] = now
        self._arrivals += 1
        wake = self._wake
        if written >= self.wake_at and wake is not None and not wake.is_set():
            wake.set()  # (set() takes a lock even when already set)

    @property
    def read_count(self) -> int:
        """Frames ever consumed (including those skipped by an overrun)."""
        return self._read

    @property
    def due(self) -> bool:
        """Has the producer reached ``wake_at`` (the consumer has something worth reading)?"""
        return self.written >= self.wake_at

    def read(self) -> np.ndarray:
        """Everything written since the last read (a copy), oldest first."""
        end = self.written
        start = self._read
        if end == start:
            return self._empty
        if end - start > self.capacity:
            self.overrun_frames += end - start - self.capacity
            start = end - self.capacity
        n = end - start
        i = start % self.capacity
        first = min(n, self.capacity - i)
        out = np.empty((n, self.channels), dtype=np.float32)
        out[:first] = self._buf[i : i + first]
        out[first:] = self._buf[: n - first]
        self._read = end
        self._space.set()
        return out

    def wait_for_space(self, frames: int, stop: threading.Event, timeout_s: float = 0.5) -> bool:
        """Block a producer that can wait until ``frames`` fit; False when ``stop`` is set."""
        while self.written + frames - self._read > self.capacity:
            if stop.is_set():
                return False
            self._space.clear()
            if self.written + frames - self._read <= self.capacity:
                break
            self._space.wait(timeout_s)
        return not stop.is_set()

    def arrival_time(self, frame_index: int) -> float | None:
        """Monotonic time at which frame ``frame_index`` (0-based) entered, if still logged."""
        count = min(self._arrivals, ARRIVAL_LOG_LEN)
        best = None
        for back in range(count):
            slot = (self._arrivals - 1 - back) % ARRIVAL_LOG_LEN
            if self._arrival_end[slot] > frame_index:
                best = float(self._arrival_t[slot])
            else:
                break
        return best
