"""A signal early in start-up closes the sources while they are opening: a source whose reader
thread exists but has not started yet closes without an error (it logged "ERROR closing source
file failed: cannot join thread before it is started"), and the reader, once started, stops at
once."""

from __future__ import annotations

import threading

from genrecast.daemon.audio.sources.base import ThreadSource
from genrecast.daemon.settings import SourceSettings


class _Reader(ThreadSource):
    def __init__(self) -> None:
        super().__init__(SourceSettings(name="s", kind="file", target="x"))
        self.ran_until_stop = threading.Event()

    def open(self) -> None:
        self._start_thread()

    def _run(self, stop: threading.Event) -> None:
        if stop.wait(5.0):
            self.ran_until_stop.set()


def test_close_between_making_and_starting_the_reader() -> None:
    source = _Reader()
    source._stop = threading.Event()
    made = threading.Thread(target=source._guarded, daemon=True)  # what _start_thread makes
    source._thread = made
    source.close()  # the signal's stop, before made.start()
    made.start()
    assert source.ran_until_stop.wait(1.0), "the late reader did not see the stop"
    made.join(1.0)
