"""Decode a file in blocks and cut its windows as the blocks come: memory bounded by a block.

Each block goes through the one DSP path (``SourceDSP``: downmix, streaming resampler, windower),
the very objects the live daemon and training use, so the windows equal theirs bit for bit.
Windows leave in chunks, already scaled by the card's normalisation and with their level (the
silence gate's input), so that work is spread over the decoding threads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from genrecast.daemon.audio.decode import iter_audio_blocks
from genrecast.daemon.dsp.chain import SourceDSP
from genrecast.daemon.engine.smoothing import rms_dbfs
from genrecast.daemon.model.card import ModelCard

BLOCK_FRAMES = 65_536  # ~1.4 s at 48 kHz: large enough that per-call overhead vanishes
CHUNK_WINDOWS = 256  # windows per chunk handed to the classifier (one full LiteRT batch)
PREFETCH_BLOCKS = 4  # decoded blocks a reader thread may hold ahead of the DSP (0.5 MB each)
_END = object()


def prefetch(blocks: Iterator[np.ndarray], depth: int = PREFETCH_BLOCKS) -> Iterator[np.ndarray]:
    """Decode on a thread of its own while the caller resamples the previous blocks.

    libsndfile's decoders and the ffmpeg pipe run without the GIL, so decoding and the DSP take
    two cores for one file: on one thread, decoding was half of the file's critical path. The
    reader's exceptions (a file damaged mid-way) are raised here, in order; closing this
    generator stops the reader and closes ``blocks`` (an ffmpeg child is killed).
    """
    out: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            try:
                for block in blocks:
                    if not put(block):
                        return
            finally:
                close = getattr(blocks, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed over and raised on the consuming side
            put(exc)
            return
        put(_END)

    reader = threading.Thread(target=read, name="decode-read", daemon=True)
    reader.start()
    try:
        while True:
            item = out.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, np.ndarray)
            yield item
    finally:
        stop.set()
        reader.join(timeout=10)


@dataclass(frozen=True)
class WindowChunk:
    """Consecutive windows of one file."""

    starts: np.ndarray
    """Start of each window in model-rate samples (int64)."""
    windows: np.ndarray
    """n × window_samples float32, normalised as the card says (ready for the model)."""
    levels_db: np.ndarray
    """RMS level of each raw window in dBFS (float64), before normalisation."""


@dataclass
class StreamTotals:
    """Filled in while a file streams: its length once the last block is decoded."""

    frames: int = 0
    rate_hz: int = 0

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate_hz if self.rate_hz else 0.0


def _chunk(pairs: list[tuple[int, np.ndarray]], card: ModelCard) -> WindowChunk:
    raw = np.stack([w for _, w in pairs])
    return WindowChunk(
        starts=np.asarray([s for s, _ in pairs], dtype=np.int64),
        windows=card.normalisation.apply(raw),
        levels_db=np.asarray([rms_dbfs(w) for _, w in pairs], dtype=np.float64),
    )


def stream_windows(path: Path, card: ModelCard, hop_samples: int, totals: StreamTotals,
                   block_frames: int = BLOCK_FRAMES,
                   chunk_windows: int = CHUNK_WINDOWS) -> Iterator[WindowChunk]:
    """Chunks of at most ``chunk_windows`` windows of ``path``, in order; UserError if undecodable.

    Windows start every ``hop_samples`` at the model's rate, exactly as ``audio_to_windows`` cuts
    a whole recording (the resampler's tail included).
    """
    rate, _, blocks = iter_audio_blocks(path, block_frames)
    totals.rate_hz = rate
    dsp = SourceDSP(rate, card.sample_rate_hz, card.window_samples, hop_samples)
    pending: list[tuple[int, np.ndarray]] = []
    for block in prefetch(blocks):
        totals.frames += block.shape[0]
        pending.extend(dsp.push(block))
        while len(pending) >= chunk_windows:
            yield _chunk(pending[:chunk_windows], card)
            del pending[:chunk_windows]
    pending.extend(dsp.flush())
    for i in range(0, len(pending), chunk_windows):
        yield _chunk(pending[i : i + chunk_windows], card)
