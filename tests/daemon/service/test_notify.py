"""sd_notify against a real unix datagram socket (path and abstract namespace)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from genrecast.daemon.service.notify import Notifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(2.0)
    yield sock, str(path)
    sock.close()


def _recv(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def test_sequence_over_path_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
    assert n.enabled and n.watchdog_interval_s == pytest.approx(1.0)
    assert n.ready("2 sources running")
    assert _recv(sock) == ["READY=1", "STATUS=2 sources running"]
    assert n.status("all\nfine")
    assert _recv(sock) == ["STATUS=all fine"]
    assert not n.status("all fine")  # unchanged: not resent
    assert n.watchdog_if_due(healthy=True, now_s=100.0)
    assert _recv(sock) == ["WATCHDOG=1"]
    assert not n.watchdog_if_due(healthy=True, now_s=100.5)  # not due yet
    assert not n.watchdog_if_due(healthy=False, now_s=102.0)  # due but stalled
    assert n.watchdog_if_due(healthy=True, now_s=102.0)
    assert _recv(sock) == ["WATCHDOG=1"]
    assert n.stopping("stopping")
    assert _recv(sock) == ["STOPPING=1", "STATUS=stopping"]
    n.close()


def test_abstract_namespace() -> None:
    name = f"genrecast-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2.0)
    try:
        n = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert n.ready()
        assert _recv(sock) == ["READY=1"]
        n.close()
    finally:
        sock.close()


def test_disabled_without_socket() -> None:
    n = Notifier({})
    assert not n.enabled
    assert not n.ready("x") and not n.watchdog() and not n.stopping()
    assert n.watchdog_interval_s is None and not n.watchdog_if_due(True)


def test_watchdog_for_another_pid_is_ignored(listener: tuple[socket.socket, str]) -> None:
    _, path = listener
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert n.watchdog_interval_s is None


def test_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert not n.ready()
    n.close()
