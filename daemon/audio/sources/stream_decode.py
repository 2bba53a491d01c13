"""In-process MP3/AAC decoding for ``url:`` streams: a few decoder threads serve every stream.

Each stream's reader thread only waits on its socket (no GIL held) and hands the compressed bytes
over in batches of about half a second (``BATCH_BYTES``). A decoder thread turns a batch into
mono PCM, resamples it to the ring's rate (``ring_rate_for`` the model) with soxr and writes the
stream's ring: one pass of Python per batch rather than a thread per stream waking for every
26-ms MP3 frame. A stream is pinned to one decoder thread, so its batches stay in order.

MP3 decodes with libmpg123 (``mpg123.py``: mono, a quarter of the rate, about 2.5× cheaper);
AAC, and MP3 where libmpg123 is missing or ``GENRECAST_MP3_DECODER=libavcodec`` is set, with PyAV
(FFmpeg's libavcodec in the wheel: ``CodecContext.parse`` + ``decode``, no container, no
probing) and a numpy downmix.

Measured on a 2-core machine (one MP3, 128 kbit/s, 44.1 kHz stereo): PyAV's own resampler
(``AudioResampler`` to 8 kHz mono) cost about 5 ms of CPU per stream-second on top of decoding,
numpy downmix + soxr about 0.7 ms, so soxr does the rate change.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

import genrecast.daemon.audio.sources.mpg123 as mpg123  # the module, not the package's __init__
import numpy as np
import soxr

log = logging.getLogger(__name__)

OUT_RATE_HZ = 8_000  # the ring's least rate: 20× the model's 400 Hz, 5.5× less memory than 44.1 kHz


def ring_rate_for(model_rate_hz: int) -> int:
    """The rate a stream is decoded to for a model at ``model_rate_hz``: OUT_RATE_HZ, or the
    model's own rate when it is higher (a 16-kHz model needs the band up to 8 kHz)."""
    return max(OUT_RATE_HZ, int(model_rate_hz))
BATCH_BYTES = 8_192  # ~0.5 s of a 128 kbit/s stream per hand-over to a decoder thread
DECODER_THREADS = max(1, min(2, os.cpu_count() or 1))
# Batches of one stream waiting for its decoder thread: beyond this (4 s of audio) the decoders
# cannot keep up (too many streams for the cores), and new batches are dropped and counted
# instead of queueing without bound (memory, and latency that only grows).
MAX_QUEUED_BATCHES = 8
# Bytes decoded without one valid frame: the stream is not what its Content-Type says.
MAX_UNDECODABLE_BYTES = 256 * 1024
CODECS = {"audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mpeg3": "mp3", "audio/x-mpeg": "mp3",
          "audio/aac": "aac", "audio/aacp": "aac", "audio/x-aac": "aac"}


MP3_DECODER_ENV = "GENRECAST_MP3_DECODER"  # "libavcodec" forces PyAV for MP3 (comparisons)


def use_mpg123(codec: str) -> bool:
    return (codec == "mp3" and os.environ.get(MP3_DECODER_ENV, "") != "libavcodec"
            and mpg123.available())


def codec_for(content_type: str) -> str | None:
    """The libavcodec decoder for a stream's Content-Type, or None (ffmpeg takes it)."""
    return CODECS.get(content_type)


class StreamDecoder:
    """Decoding state of one stream; ``feed`` runs on its decoder thread only."""

    def __init__(self, codec: str, sink: Callable[[np.ndarray], None],
                 on_error: Callable[[Exception], None], out_rate_hz: int = OUT_RATE_HZ) -> None:
        self.codec = codec
        self.sink = sink
        """Takes mono float32 PCM at ``out_rate_hz`` (the stream's ring)."""
        self.out_rate_hz = out_rate_hz
        self.on_error = on_error
        self.closed = False
        self.invalid_packets = 0
        # Each counter has one writer (the reader thread, the decoder thread): no lock needed.
        self.submitted = 0
        self.done = 0
        self.dropped_batches = 0
        self._resampler: Any = None
        self._in_rate = 0
        self._undecodable = 0
        self._ctx: Any = None
        self._mp3: mpg123.Mpg123Stream | None = None
        if use_mpg123(codec):
            self.backend = "libmpg123"
            self._mp3 = mpg123.Mpg123Stream(out_rate_hz)
        else:
            import av  # FFmpeg's libraries: imported only when a url source decodes with them

            self.backend = "libavcodec"
            self._av: Any = av
            self._ctx = av.CodecContext.create(codec, "r")

    def feed(self, data: bytes) -> None:
        if self.closed:
            if self._mp3 is not None:
                self._mp3.close()
            self._ctx = self._resampler = self._mp3 = None  # freed on the decoder thread
            return
        if self._mp3 is not None:
            mono = self._mp3.decode(data)
            rate = self._mp3.rate
        else:
            mono, rate = self._decode_av(data)
        if not mono.size:
            self._undecodable += len(data)
            if self._undecodable > MAX_UNDECODABLE_BYTES:
                self.closed = True
                self.on_error(ConnectionError(
                    f"{self._undecodable} bytes of the stream did not decode as {self.codec}"))
            return
        self._undecodable = 0
        if rate != self._in_rate:
            self._in_rate = rate
            self._resampler = (None if rate == self.out_rate_hz else
                               soxr.ResampleStream(rate, self.out_rate_hz, 1, dtype="float32",
                                                   quality="MQ"))
        out = mono if self._resampler is None else self._resampler.resample_chunk(mono)
        if out.shape[0] and not self.closed:
            self.sink(out)

    def _decode_av(self, data: bytes) -> tuple[np.ndarray, int]:
        """Mono float32 PCM of one batch with libavcodec, and its rate (empty: no frame)."""
        av = self._av
        blocks = []
        rate = 0
        for packet in self._ctx.parse(data):
            try:
                frames = self._ctx.decode(packet)
            except av.error.InvalidDataError:  # e.g. an ID3 tag or a torn first frame
                self.invalid_packets += 1
                continue
            for frame in frames:
                rate = frame.sample_rate
                blocks.append(frame.to_ndarray())
        if not blocks:
            return np.empty(0, np.float32), 0
        pcm = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
        if pcm.dtype != np.float32:  # planar float is the decoders' usual output
            pcm = pcm.astype(np.float32) / np.float32(32768.0)
        # Interleaved formats come as 1 × (samples·channels): the channel count tells them apart.
        channels = self._ctx.layout.nb_channels if self._ctx.layout is not None else 1
        if pcm.shape[0] == 1 and channels > 1:
            pcm = pcm.reshape(-1, channels).T
        mono = pcm.mean(axis=0, dtype=np.float32) if pcm.shape[0] > 1 else pcm[0]
        return mono, rate


class DecoderPool:
    """``DECODER_THREADS`` threads; ``submit(decoder, data)`` queues a batch on the decoder's
    thread (assigned round-robin when the stream starts)."""

    def __init__(self, threads: int = DECODER_THREADS) -> None:
        self._queues: list[queue.SimpleQueue[tuple[StreamDecoder, bytes]]] = []
        self._lock = threading.Lock()
        self._next = 0
        for i in range(threads):
            q: queue.SimpleQueue[tuple[StreamDecoder, bytes]] = queue.SimpleQueue()
            self._queues.append(q)
            threading.Thread(target=self._work, args=(q,), name=f"stream-decoder-{i}",
                             daemon=True).start()

    def lane(self) -> int:
        with self._lock:
            self._next = (self._next + 1) % len(self._queues)
            return self._next

    def submit(self, lane: int, decoder: StreamDecoder, data: bytes) -> None:
        if data and decoder.submitted - decoder.done >= MAX_QUEUED_BATCHES:
            decoder.dropped_batches += 1  # the decoder resynchronises on the next frame
            return
        decoder.submitted += 1
        self._queues[lane].put((decoder, data))

    @staticmethod
    def _work(q: queue.SimpleQueue[tuple[StreamDecoder, bytes]]) -> None:
        while True:
            decoder, data = q.get()
            decoder.done += 1
            try:
                decoder.feed(data)
            except Exception as exc:  # noqa: BLE001 - one bad stream never stops the others
                log.debug("stream decoder failed", exc_info=True)
                decoder.closed = True
                decoder.on_error(exc)
            del decoder, data  # a closed stream's codec and resampler are freed now

_pool: DecoderPool | None = None
_pool_lock = threading.Lock()


def pool() -> DecoderPool:
    """The process's decoder pool (started on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = DecoderPool()
        return _pool
