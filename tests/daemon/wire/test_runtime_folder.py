"""The daemon's runtime folder (the default place of its sockets): created private (0700); one
that another user owns or others can write is refused, by ``genrecast run`` before it binds and
by ``genrecast ctl`` before it trusts a socket there (another user's socket could forge replies).
Exit code 77, one line, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
import zmq
from genrecast.daemon.errors import EXIT_NO_PERMISSION, UnsafeFolder
from genrecast.daemon.wire.binding import bind, ensure_private_folder

from tests.support.common import genrecast_cmd

NOBODY_UID = 65534


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(genrecast_cmd(*args), env=env, capture_output=True, text=True,
                          timeout=60)


def _one_line_refusal(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode == EXIT_NO_PERMISSION, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and words in errors[0], proc.stderr


def test_runtime_folder_is_created_private(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    try:
        old = os.umask(0)  # a permissive umask must not widen the folder
        try:
            bind(sock, f"ipc://{tmp_path}/genrecast/events.sock")
        finally:
            os.umask(old)
        assert (tmp_path / "genrecast").stat().st_mode & 0o777 == 0o700
    finally:
        sock.close(linger=0)
        ctx.term()


def test_world_writable_runtime_folder_is_refused(tmp_path: Path, tone_model: Path,
                                                  low_high_wav: Path) -> None:
    folder = tmp_path / "genrecast"
    folder.mkdir()
    folder.chmod(0o777)
    env = {k: v for k, v in os.environ.items() if k != "RUNTIME_DIRECTORY"}
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    proc = _run(env, "run", "--model", str(tone_model), "--source", f"file:{low_high_wav}")
    _one_line_refusal(proc, "writable by others")
    assert list(folder.iterdir()) == [], "a socket was created in the unsafe folder"


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a folder to another user")
def test_ctl_refuses_a_runtime_folder_of_another_user(tmp_path: Path) -> None:
    """Another user made the folder and serves a forged control socket in it."""
    folder = tmp_path / "genrecast"
    folder.mkdir(mode=0o755)
    ctx = zmq.Context()
    forger = ctx.socket(zmq.ROUTER)
    forger.linger = 0
    forger.bind(f"ipc://{folder}/control.sock")
    os.chown(folder, NOBODY_UID, NOBODY_UID)
    asked: list[bytes] = []
    done = threading.Event()

    def forge() -> None:
        while not done.is_set():
            if forger.poll(50):
                ident, _, body = forger.recv_multipart()
                asked.append(body)
                forger.send_multipart([ident, b"", json.dumps({"ok": True}).encode()])

    thread = threading.Thread(target=forge, daemon=True)
    thread.start()
    env = {k: v for k, v in os.environ.items() if k != "RUNTIME_DIRECTORY"}
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    try:
        proc = _run(env, "ctl", "status")
        _one_line_refusal(proc, "not a folder of this user")
        assert asked == []
    finally:
        done.set()
        thread.join(5)
        forger.close()
        ctx.term()
    with pytest.raises(UnsafeFolder):  # and the daemon will not bind there either
        ensure_private_folder(folder)
