"""Many files through one set of interpreters: decoding threads feed one batching classifier.

``decode_workers`` threads each take the next file, decode it in blocks and cut its windows
(``stream.py``); their chunks meet in one bounded queue, so memory is bounded by the queue, not by
the files. The calling thread batches the windows (across files), runs LiteRT (which releases the
GIL, so decoding goes on meanwhile), and when a file's last window is classified runs the smoother
and yields the file's outcome, in the order the files were given. While it classifies a file, the
threads are already decoding the next ones.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from genrecast.daemon.errors import DataError, UserError
from genrecast.daemon.model.card import ModelCard
from genrecast.daemon.model.classifier import MAX_BATCH, Classifier
from genrecast.daemon.offline.classify import Timeline, build_timeline
from genrecast.daemon.offline.stream import StreamTotals, WindowChunk, stream_windows
from genrecast.daemon.settings import DecisionSettings

log = logging.getLogger(__name__)

QUEUE_CHUNKS_PER_WORKER = 4  # chunks (≤ 256 windows, 1.2 MB each) a decoder may run ahead
PUT_POLL_S = 0.2  # how often a blocked decoder checks whether the run was stopped


@dataclass(frozen=True)
class FileOutcome:
    """One file's result: a timeline, or the error that made the run skip it."""

    index: int
    path: Path
    timeline: Timeline | None = None
    error: UserError | None = None


@dataclass
class _Pending:
    """What the classifier has of one file so far."""

    starts: list[np.ndarray] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)
    levels: list[np.ndarray] = field(default_factory=list)
    duration_s: float | None = None  # set when the decoder reached the file's end
    unclassified: int = 0  # windows queued for a batch, not classified yet


class _Decoders:
    """The decoding threads and the queue they fill: (kind, file index, payload) items."""

    def __init__(self, paths: Sequence[Path], card: ModelCard, hop_samples: int,
                 workers: int) -> None:
        self.paths = paths
        self.card = card
        self.hop_samples = hop_samples
        self.queue: queue.Queue[tuple[str, int, object]] = queue.Queue(
            maxsize=QUEUE_CHUNKS_PER_WORKER * workers)
        self.stop = threading.Event()
        self._next = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"decode-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def _put(self, item: tuple[str, int, object]) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=PUT_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self.paths):
                return None
            self._next += 1
            return self._next - 1

    def _run(self) -> None:
        try:
            while (index := self._take()) is not None:
                totals = StreamTotals()
                try:
                    chunks = stream_windows(self.paths[index], self.card, self.hop_samples, totals)
                    with contextlib.closing(chunks):  # an ffmpeg child dies with its generator
                        for chunk in chunks:
                            if not self._put(("chunk", index, chunk)):
                                return
                except UserError as exc:
                    if not self._put(("failed", index, exc)):
                        return
                    continue
                if not self._put(("end", index, totals.duration_s)):
                    return
        except BaseException as exc:  # a bug: the classifier side re-raises it
            self._put(("crash", -1, exc))
            return
        self._put(("done", -1, None))

    def close(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=10)

    @property
    def workers(self) -> int:
        return len(self._threads)


def classify_stream(paths: Sequence[Path], card: ModelCard,
                    make_classifier: Callable[[], Classifier], decisions: DecisionSettings,
                    decode_workers: int = 1,
                    on_windows: Callable[[float], None] | None = None) -> Iterator[FileOutcome]:
    """Classify ``paths``; yield one outcome per file, in order, as soon as it is complete.

    ``make_classifier`` is called after the decoders have started, so loading and probing the
    model overlaps with decoding the first file. ``on_windows(seconds)`` reports progress: the
    hop-seconds of audio each batch covered.
    """
    hop = max(1, round(decisions.hop_s * card.sample_rate_hz))
    hop_s = hop / card.sample_rate_hz
    decoders = _Decoders(paths, card, hop, max(1, min(decode_workers, len(paths))))
    try:
        classifier = make_classifier()
        files: dict[int, _Pending] = {}
        batch: list[tuple[int, WindowChunk]] = []
        batch_rows = 0
        ready: dict[int, FileOutcome] = {}
        next_out = 0
        running = decoders.workers

        def run_batch() -> None:
            nonlocal batch, batch_rows
            if not batch:
                return
            x = (np.concatenate([c.windows for _, c in batch]) if len(batch) > 1
                 else batch[0][1].windows)
            probs = classifier.predict(x, normalised=True)
            row = 0
            for index, chunk in batch:
                n = len(chunk.starts)
                pending = files.get(index)
                if pending is not None:  # None: the file failed after these windows were cut
                    pending.starts.append(chunk.starts)
                    pending.probs.append(probs[row : row + n])
                    pending.levels.append(chunk.levels_db)
                    pending.unclassified -= n
                row += n
            if on_windows is not None:
                on_windows(batch_rows * hop_s)
            batch, batch_rows = [], 0

        def complete(index: int) -> None:
            pending = files.pop(index)
            path = paths[index]
            if not pending.starts:
                error: UserError = DataError(
                    f"{path} is shorter than one {card.window_seconds:g}-s window; "
                    "nothing to classify")
                ready[index] = FileOutcome(index, path, error=error)
                return
            assert pending.duration_s is not None
            timeline = build_timeline(path, card.labels, card.window_seconds, card.sample_rate_hz,
                                      np.concatenate(pending.starts), np.concatenate(pending.probs),
                                      np.concatenate(pending.levels), pending.duration_s, decisions)
            ready[index] = FileOutcome(index, path, timeline=timeline)

        while running or next_out < len(paths):
            if next_out in ready:
                yield ready.pop(next_out)
                next_out += 1
                continue
            kind, index, payload = decoders.queue.get()
            if kind == "chunk":
                assert isinstance(payload, WindowChunk)
                pending = files.setdefault(index, _Pending())
                pending.unclassified += len(payload.starts)
                batch.append((index, payload))
                batch_rows += len(payload.starts)
                if batch_rows >= MAX_BATCH:
                    run_batch()
            elif kind == "end":
                assert isinstance(payload, float)
                pending = files.setdefault(index, _Pending())
                pending.duration_s = payload
                if pending.unclassified:
                    run_batch()  # the file's last windows: classify them now, not later
                complete(index)
            elif kind == "failed":
                assert isinstance(payload, UserError)
                files.pop(index, None)
                ready[index] = FileOutcome(index, paths[index], error=payload)
            elif kind == "crash":
                assert isinstance(payload, BaseException)
                raise payload
            else:  # "done": one decoder has no file left
                running -= 1
    finally:
        decoders.close()


def classify_file(path: Path, classifier: Classifier, decisions: DecisionSettings) -> Timeline:
    """One file through the streaming pipeline (decode in blocks, batched classify)."""
    (outcome,) = classify_stream([Path(path)], classifier.card, lambda: classifier, decisions,
                                 decode_workers=1)
    if outcome.error is not None:
        raise outcome.error
    assert outcome.timeline is not None
    return outcome.timeline
