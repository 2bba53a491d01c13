"""One progress display for training: epoch, loss, validation accuracy and time left.

On a terminal it is a rich progress bar (Keras's own per-epoch lines are switched off); elsewhere
(a log file, CI) one plain line per epoch on stderr. TensorFlow's native log lines are silenced
unless the user asked for ``-v`` (see ``quiet_tensorflow``).
"""

from __future__ import annotations

import logging
import os
import sys
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)


def verbose_requested() -> bool:
    """True when the CLI's ``-v`` lowered the root logger to INFO or DEBUG."""
    level = logging.getLogger().level
    return level != logging.NOTSET and level <= logging.INFO


def quiet_tensorflow(verbose: bool | None = None) -> None:
    """Keep TensorFlow's C++ and Python log lines off the terminal unless ``verbose``.

    Must run before TensorFlow is imported: the C++ level is read once, at import."""
    verbose = verbose_requested() if verbose is None else verbose
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "3")
    # Level 3 also hides the oneDNN notice; setting TF_ENABLE_ONEDNN_OPTS here would bring it
    # back (measured with TensorFlow 2.21).
    if not verbose:
        for name in ("tensorflow", "absl", "keras"):
            logging.getLogger(name).setLevel(logging.ERROR)


class EpochProgress:
    """``with EpochProgress(n, "training specnet") as p: p.update(epoch, loss, val_acc)``."""

    def __init__(self, epochs: int, title: str, live: bool | None = None) -> None:
        self.epochs = epochs
        self.title = title
        self.live = sys.stderr.isatty() if live is None else live
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> EpochProgress:
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[metrics]}"), TimeElapsedColumn(), TextColumn("left"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=False)
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=self.epochs,
                                                 metrics="epoch 1")
        return self

    def update(self, epoch: int, loss: float, val_accuracy: float) -> None:
        text = f"loss {loss:.4f}  val acc {100 * val_accuracy:.1f}%"
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=epoch, metrics=text)
        else:
            print(f"{self.title}: epoch {epoch}/{self.epochs}: {text}", file=sys.stderr,
                  flush=True)

    def stop_early(self, epoch: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=epoch, completed=epoch)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
