"""ipc binding: socket file mode and group, stale files, and no silent takeover of a live path."""

from __future__ import annotations

import grp
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq
from genrecast.daemon.errors import ServiceUnavailable
from genrecast.daemon.wire.binding import bind, ipc_in_use


def test_mode_and_group(tmp_path: Path) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    group = grp.getgrgid(os.getgid()).gr_name
    try:
        bind(sock, f"ipc://{tmp_path}/sub/events.sock", mode=0o660, group=group)
        st = (tmp_path / "sub" / "events.sock").stat()
        assert st.st_mode & 0o777 == 0o660 and st.st_gid == os.getgid()
        assert ipc_in_use(tmp_path / "sub" / "events.sock")
    finally:
        sock.close()
        ctx.term()


def test_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a socket file nobody listens on: what a killed daemon leaves
    dead.close()
    assert path.exists() and not ipc_in_use(path)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    try:
        bind(sock, f"ipc://{path}")
        assert ipc_in_use(path)
    finally:
        sock.close()
        ctx.term()


def test_live_path_in_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import zmq,sys,time; c=zmq.Context(); s=c.socket(zmq.PUB); "
         f"s.bind('ipc://{path}'); print('bound', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "bound"
        ctx = zmq.Context()
        sock = ctx.socket(zmq.PUB)
        try:
            with pytest.raises(ServiceUnavailable, match="another running genrecast"):
                bind(sock, f"ipc://{path}", what="event endpoint")
        finally:
            sock.close()
            ctx.term()
        time.sleep(0.1)
        assert ipc_in_use(path), "the first daemon's socket must survive"
    finally:
        holder.communicate("", timeout=10)


def test_tcp_port_in_use(tmp_path: Path) -> None:
    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PUB), ctx.socket(zmq.PUB)
    try:
        endpoint = bind(a, "tcp://127.0.0.1:*")
        assert endpoint.startswith("tcp://127.0.0.1:")
        with pytest.raises(ServiceUnavailable, match="choose a free port"):
            bind(b, endpoint)
    finally:
        a.close()
        b.close()
        ctx.term()
