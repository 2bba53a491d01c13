"""Decode a file in blocks and cut its windows as the blocks come: memory bounded by a block.

Each block goes through the one DSP path (``SourceDSP``: downmix, streaming resampler, windower),
the very objects the live daemon and training use, so the windows equal theirs bit for bit.
Windows leave in chunks, already scaled by the card's normalisation and with their level (the
silence gate's input), so that work is spread over the decoding threads.
"""

from __future__ import annotations

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
    for block in blocks:
        totals.frames += block.shape[0]
        pending.extend(dsp.push(block))
        while len(pending) >= chunk_windows:
            yield _chunk(pending[:chunk_windows], card)
            del pending[:chunk_windows]
    pending.extend(dsp.flush())
    for i in range(0, len(pending), chunk_windows):
        yield _chunk(pending[i : i + chunk_windows], card)
