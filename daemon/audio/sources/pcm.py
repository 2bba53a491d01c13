"""``stdin``: raw interleaved PCM (``s16le`` or ``f32le``) on standard input, e.g. from arecord.

Also the reader behind ``url:`` (ffmpeg writes f32le to a pipe). Bytes arrive in arbitrary
chunks; a partial frame is carried over to the next chunk. At the end of the stream a byte count
that is not a whole frame, or NaN/Inf samples, is malformed input (a one-line DataError).
"""

from __future__ import annotations

import sys
import threading
from typing import IO, Any

import numpy as np
from genrecast.daemon.audio.decode import MAX_ABS_SAMPLE
from genrecast.daemon.audio.sources.base import ThreadSource
from genrecast.daemon.errors import ConfigError, DataError
from genrecast.daemon.settings import PCM_FORMATS, SourceSettings

READ_BYTES = 16_384
_DTYPES: dict[str, np.dtype[Any]] = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}
_SCALE = {"s16le": 1.0 / 32768.0, "f32le": 1.0}


class PcmDecoder:
    """Bytes in any chunking → frames × channels float32."""

    def __init__(self, pcm_format: str, channels: int, what: str) -> None:
        if pcm_format not in PCM_FORMATS:
            raise ConfigError(f"PCM format {pcm_format!r} is not one of {', '.join(PCM_FORMATS)}")
        if channels < 1:
            raise ConfigError(f"{what}: --channels must be at least 1")
        self.format = pcm_format
        self.dtype = _DTYPES[pcm_format]
        self.channels = channels
        self.frame_bytes = self.dtype.itemsize * channels
        self.what = what
        self._carry = b""
        self.total_bytes = 0

    def decode(self, data: bytes) -> np.ndarray:
        self.total_bytes += len(data)
        data = self._carry + data
        whole = len(data) - len(data) % self.frame_bytes
        self._carry = data[whole:]
        samples = np.frombuffer(data[:whole], dtype=self.dtype).reshape(-1, self.channels)
        frames = samples.astype(np.float32) * np.float32(_SCALE[self.format])
        if self.format == "f32le" and not np.isfinite(frames).all():
            raise DataError(f"{self.what} contains NaN or infinite samples; check the producer "
                            "(--format f32le expects little-endian 32-bit floats)")
        # Finite but absurd floats overflow the downmix into inf, then NaN in the events.
        if self.format == "f32le" and frames.size and float(np.abs(frames).max()) > MAX_ABS_SAMPLE:
            raise DataError(f"{self.what} has samples beyond ±{MAX_ABS_SAMPLE:g} (full scale is "
                            "1.0); check the producer (--format f32le expects little-endian "
                            "32-bit floats)")
        return frames

    def finish(self) -> None:
        if self._carry:
            raise DataError(
                f"{self.what} ended with {len(self._carry)} stray bytes: {self.total_bytes} bytes is "
                f"not a whole number of {self.frame_bytes}-byte frames ({self.format} × "
                f"{self.channels} channels); check --format and --channels"
            )


def pump(stream: IO[bytes] | Any, decoder: PcmDecoder, source: ThreadSource,
         stop: threading.Event) -> None:
    """Read ``stream`` until EOF or ``stop``, decoding into ``source.ring`` (waits for space)."""
    ring = source.ring
    assert ring is not None
    # read1: whatever has arrived, up to the size (read() would wait for the full size)
    read = stream.read1 if hasattr(stream, "read1") else stream.read
    while not stop.is_set():
        data = read(READ_BYTES)
        if not data:
            decoder.finish()
            return
        frames = decoder.decode(data)
        if frames.shape[0] and not ring.wait_for_space(frames.shape[0], stop):
            return
        ring.write(frames)


class StdinSource(ThreadSource):
    restartable = False  # standard input can be read once

    def __init__(self, settings: SourceSettings,
                 stream: IO[bytes] | Any = None) -> None:
        super().__init__(settings)
        self.stream = stream

    def open(self) -> None:
        self.close()
        self._decoder = PcmDecoder(self.settings.pcm_format, self.settings.channels, "stdin")
        from genrecast.daemon.dsp.resample import MAX_RATE_HZ, MIN_RATE_HZ

        if not MIN_RATE_HZ <= self.settings.rate_hz <= MAX_RATE_HZ:
            raise ConfigError(f"stdin: --rate {self.settings.rate_hz} is outside "
                              f"{MIN_RATE_HZ}-{MAX_RATE_HZ} Hz")
        self._new_ring(self.settings.rate_hz, self.settings.channels)
        self._start_thread()

    def _run(self, stop: threading.Event) -> None:
        stream = self.stream if self.stream is not None else sys.stdin.buffer
        pump(stream, self._decoder, self, stop)
        if not stop.is_set():
            self.finish()
