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

import numpy as np

ARRIVAL_LOG_LEN = 4096  # (end frame, monotonic time) of the latest writes, for latency figures


class Ring:
    """Frames × channels float32; ``write`` from one thread, ``read`` from another."""

    def __init__(self, capacity_frames: int, channels: int,
                 wake: threading.Event | None = None) -> None:
        self.capacity = int(capacity_frames)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self._wake = wake
        self._space = threading.Event()
        self.written = 0  # frames ever written (producer only)
        self._read = 0  # frames ever consumed (consumer only)
        self.overrun_frames = 0
        self.last_write_mono = 0.0
        # When each write completed: lets a benchmark tie a window's last sample to its arrival.
        self._arrival_end = np.zeros(ARRIVAL_LOG_LEN, dtype=np.int64)
        self._arrival_t = np.zeros(ARRIVAL_LOG_LEN, dtype=np.float64)
        self._arrivals = 0

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
        data = frames if frames.ndim == 2 else frames.reshape(n, 1)
        i = self.written % self.capacity
        first = min(n, self.capacity - i)
        self._buf[i : i + first] = data[:first]
        if first < n:
            self._buf[: n - first] = data[first:]
        self.written += n
        now = time.monotonic()
        self.last_write_mono = now
        slot = self._arrivals % ARRIVAL_LOG_LEN
        self._arrival_end[slot] = self.written
        self._arrival_t[slot] = now
        self._arrivals += 1
        if self._wake is not None:
            self._wake.set()

    def read(self) -> np.ndarray:
        """Everything written since the last read (a copy), oldest first."""
        end = self.written
        start = self._read
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
