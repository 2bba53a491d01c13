"""``file:PATH``: any audio file, paced in real time (or as fast as the pipeline takes it)."""

from __future__ import annotations

import threading
import time

from genrecast.daemon.audio.decode import iter_audio_blocks
from genrecast.daemon.audio.sources.base import ThreadSource
from genrecast.daemon.settings import SourceSettings

FILE_BLOCK_FRAMES = 1024  # ~21 ms at 48 kHz: fine pacing, cheap enough


class FileSource(ThreadSource):
    def __init__(self, settings: SourceSettings,
                 block_frames: int = FILE_BLOCK_FRAMES) -> None:
        super().__init__(settings)
        self.block_frames = block_frames

    def open(self) -> None:
        self.close()
        # Decoding the header here makes a missing or undecodable file fail at startup.
        rate, channels, blocks = iter_audio_blocks(self.settings.target, self.block_frames)
        self._blocks = blocks
        self._new_ring(rate, channels)
        self._start_thread()

    def _run(self, stop: threading.Event) -> None:
        ring = self.ring
        assert ring is not None and self.rate_hz is not None
        blocks = self._blocks
        t0 = time.monotonic()
        sent = 0
        while not stop.is_set():
            for block in blocks:
                if self.settings.realtime:
                    # Sleep until this block's first frame is due: real-time pacing without drift.
                    delay = t0 + sent / self.rate_hz - time.monotonic()
                    if delay > 0 and stop.wait(delay):
                        return
                elif not ring.wait_for_space(block.shape[0], stop):
                    return
                ring.write(block)
                sent += block.shape[0]
                if stop.is_set():
                    return
            if not self.settings.loop:
                self.finish()
                return
            _, _, blocks = iter_audio_blocks(self.settings.target, self.block_frames)
