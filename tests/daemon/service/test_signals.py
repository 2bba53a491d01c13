"""Signals at any moment: a stop requested while the sources are still opening is honoured at
once, and a second signal exits immediately, whatever the daemon is doing."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.common import TONE_MODEL, genrecast_cmd
from tests.support.daemon_proc import wait_for

STOP_LIMIT_S = 2.0
SOURCES = 20


@pytest.fixture
def silent_radio() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server that accepts connections and never answers: a url source opening against
    it waits (for headers, then for audio) until it gives up or is closed."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()
    for conn in accepted:
        conn.close()


def _start(port: int, tmp_path: Path) -> subprocess.Popen[str]:
    args = ["run", "--model", str(TONE_MODEL), "--publish", f"ipc://{tmp_path}/events.sock"]
    for i in range(SOURCES):
        args += ["--source", f"r{i}=url:http://127.0.0.1:{port}/s{i}.mp3"]
    return subprocess.Popen(genrecast_cmd(*args), stderr=subprocess.PIPE, text=True,
                            env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(tmp_path),
                                 "HOME": str(tmp_path)})


@pytest.mark.slow
def test_sigint_while_sources_open_exits_within_the_bound(
        silent_radio: tuple[int, list[socket.socket]], tmp_path: Path) -> None:
    port, accepted = silent_radio
    proc = _start(port, tmp_path)
    try:
        # Every source is connecting at once (they open in parallel), none has audio yet.
        wait_for(lambda: len(accepted) >= SOURCES, 60, f"{SOURCES} connections")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        proc.kill()
    assert took < STOP_LIMIT_S, f"took {took:.2f} s to stop: {err}"
    assert proc.returncode == 0 and "Traceback" not in err, err


@pytest.mark.slow
def test_a_second_signal_exits_at_once(silent_radio: tuple[int, list[socket.socket]],
                                       tmp_path: Path) -> None:
    port, accepted = silent_radio
    proc = _start(port, tmp_path)
    try:
        wait_for(lambda: len(accepted) >= 1, 60, "a connection")
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode in (0, 128 + signal.SIGINT), err
    if proc.returncode:
        assert "second SIGINT, exiting now" in err
