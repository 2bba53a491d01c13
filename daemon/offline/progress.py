"""The progress bar of ``genrecast classify``: files done, audio hours done, × real time.

Shown only when stderr is a terminal; otherwise nothing at all is drawn (logs and pipes stay clean).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

REFRESH_PER_S = 4


class ClassifyProgress:
    """A context manager; ``audio(seconds)`` and ``file_done()`` advance it (no-ops when hidden)."""

    def __init__(self, total_files: int, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.total_files = total_files
        self.audio_s = 0.0
        self._t0 = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> ClassifyProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.completed:.0f}/{task.total:.0f} files"), BarColumn(),
                TextColumn("{task.fields[hours]:.2f} h of audio"),
                TextColumn("{task.fields[speed]:.0f}× real time"), TimeElapsedColumn(),
                console=Console(stderr=True), refresh_per_second=REFRESH_PER_S,
                # stdout carries the results: never route it through the bar's console.
                redirect_stdout=False, redirect_stderr=False)
            self._bar.__enter__()
            self._task = self._bar.add_task("classify", total=self.total_files, hours=0.0,
                                            speed=0.0)
        self._t0 = time.monotonic()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)

    def _update(self, advance: int = 0) -> None:
        if self._bar is None:
            return
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        self._bar.update(self._task, advance=advance, hours=self.audio_s / 3600,
                         speed=self.audio_s / elapsed)

    def audio(self, seconds: float) -> None:
        self.audio_s += seconds
        self._update()

    def file_done(self) -> None:
        self._update(advance=1)

    def print(self, line: str) -> None:
        """A line on stderr that does not tear the bar."""
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)
