"""Control socket: the request handler, a real ROUTER server, and `genrecast ctl` in a subprocess."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from genrecast.daemon.errors import EXIT_UNAVAILABLE, ServiceUnavailable, UserError
from genrecast.daemon.service.control import ControlServer, handle_request, request


class FakeDaemon:
    """Handlers with observable state (what the real service glue does, minus audio)."""

    def __init__(self) -> None:
        self.paused: set[str] = set()
        self.reloads = 0

    def status(self) -> dict[str, Any]:
        return {"state": "running", "sources": {
            n: {"state": "paused" if n in self.paused else "running"} for n in ("a", "b")}}

    def pause(self, source: str) -> dict[str, Any]:
        if source not in ("a", "b"):
            raise UserError(f"no source named {source!r}; sources: a, b")
        self.paused.add(source)
        return {"message": f"paused {source}"}

    def resume(self, source: str) -> dict[str, Any]:
        self.paused.discard(source)
        return {"message": f"resumed {source}"}

    def reload(self) -> dict[str, Any]:
        self.reloads += 1
        raise RuntimeError("boom")

    def handlers(self) -> dict[str, Any]:
        return {"status": self.status, "pause": self.pause, "resume": self.resume,
                "reload": self.reload,
                "snapshot": lambda: {"sources": {"a": {"genre": "rock"}}}}


def test_handle_request_pure() -> None:
    d = FakeDaemon()
    h = d.handlers()
    assert handle_request(h, b'{"command": "pause", "source": "a"}') == {
        "ok": True, "message": "paused a"}
    assert d.paused == {"a"}
    assert handle_request(h, b'{"command": "pause"}')["error"] == "pause needs a source name"
    assert "no source named 'zz'" in handle_request(h, b'{"command":"pause","source":"zz"}')[
        "error"]
    assert "unknown command" in handle_request(h, b'{"command": "explode"}')["error"]
    assert "JSON object" in handle_request(h, b"status")["error"]
    reply = handle_request(h, b'{"command": "reload"}')
    assert reply["ok"] is False and "RuntimeError: boom" in reply["error"]
    assert "not available" in handle_request({}, b'{"command": "status"}')["error"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ControlServer, FakeDaemon]]:
    ctx = zmq.Context()
    daemon = FakeDaemon()
    srv = ControlServer(ctx, f"ipc://{tmp_path}/control.sock", daemon.handlers()).start()
    yield srv, daemon
    srv.stop()
    ctx.term()


def test_server_and_client(server: tuple[ControlServer, FakeDaemon], tmp_path: Path) -> None:
    srv, daemon = server
    assert (tmp_path / "control.sock").stat().st_mode & 0o777 == 0o660
    ctx = zmq.Context()
    try:
        assert request(srv.endpoint, "status", context=ctx)["sources"]["a"]["state"] == "running"
        assert request(srv.endpoint, "pause", "b", context=ctx)["ok"]
        assert daemon.paused == {"b"}
        # the server survives a handler bug and keeps answering
        assert not request(srv.endpoint, "reload", context=ctx)["ok"]
        assert request(srv.endpoint, "snapshot", context=ctx)["sources"]["a"]["genre"] == "rock"
    finally:
        ctx.term()


def _ctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "genrecast.daemon.cli", "ctl", *args],
                          capture_output=True, text=True, timeout=30)


def test_ctl_command_in_another_process(server: tuple[ControlServer, FakeDaemon]) -> None:
    srv, daemon = server
    proc = _ctl("pause", "a", "--endpoint", srv.endpoint)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "paused a" and daemon.paused == {"a"}
    proc = _ctl("status", "--json", "--endpoint", srv.endpoint)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sources"]["a"]["state"] == "paused"
    proc = _ctl("status", "--endpoint", srv.endpoint)
    assert "  a: paused\n" in proc.stdout and "  b: running\n" in proc.stdout
    proc = _ctl("pause", "nope", "--endpoint", srv.endpoint)
    assert proc.returncode != 0 and "no source named 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ctl_reads_endpoint_from_config(server: tuple[ControlServer, FakeDaemon],
                                        tmp_path: Path) -> None:
    srv, _ = server
    config = tmp_path / "g.toml"
    config.write_text(f'[control]\nendpoint = "{srv.endpoint}"\n')
    proc = _ctl("resume", "a", "--config", str(config))
    assert proc.returncode == 0 and proc.stdout.strip() == "resumed a", proc.stderr


def test_ctl_without_daemon(tmp_path: Path) -> None:
    proc = _ctl("status", "--endpoint", f"ipc://{tmp_path}/none.sock")
    assert proc.returncode == EXIT_UNAVAILABLE
    assert proc.stderr.startswith("error: no control socket at") and proc.stderr.count("\n") == 1
    # a socket file nobody serves (a crashed daemon): bounded wait, then the same exit code
    with pytest.raises(ServiceUnavailable, match="within 0.3 s"):
        ctx = zmq.Context()
        try:
            request("tcp://127.0.0.1:1", "status", timeout_s=0.3, context=ctx)
        finally:
            ctx.term()


def test_second_server_on_same_path_is_refused(server: tuple[ControlServer, FakeDaemon]) -> None:
    srv, _ = server
    ctx = zmq.Context()
    try:
        with pytest.raises(ServiceUnavailable, match="served by another running genrecast"):
            ControlServer(ctx, srv.endpoint, {})
        # the first server still answers: nothing was stolen
        assert request(srv.endpoint, "status", context=ctx)["ok"]
    finally:
        ctx.term()


def test_a_clean_stop_leaves_no_socket_and_ctl_says_nothing_runs(tmp_path: Path) -> None:
    """A clean stop left control.sock behind: ctl waited 3 s and said "no genrecast answered"."""
    ctx = zmq.Context()
    srv = ControlServer(ctx, f"ipc://{tmp_path}/control.sock", FakeDaemon().handlers()).start()
    srv.stop()
    ctx.term()
    assert not (tmp_path / "control.sock").exists()
    proc = _ctl("status", "--endpoint", f"ipc://{tmp_path}/control.sock")
    assert proc.returncode == EXIT_UNAVAILABLE and "no control socket" in proc.stderr
    # a file left by a daemon that crashed: said at once, not after a timeout
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "control.sock"))
    stale.close()
    with pytest.raises(ServiceUnavailable, match="no genrecast is running"):
        request(f"ipc://{tmp_path}/control.sock", "status", timeout_s=3.0)
