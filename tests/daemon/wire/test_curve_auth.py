"""CURVE: an authorized subscriber receives; an unauthenticated or unknown one receives nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq
from genrecast.daemon.cli import main as cli_main
from genrecast.daemon.errors import ConfigError, UserError
from genrecast.daemon.wire.curve_auth import CurveServer, create_keys, load_secret

from tests.support.common import REPO

SUBSCRIBER = REPO / "tests" / "support" / "count_subscriber.py"
LISTEN_S = 2.5


def test_keys_command(tmp_path: Path) -> None:
    assert cli_main(["keys", str(tmp_path / "k"), "server"]) == 0
    public, secret = tmp_path / "k" / "server.key", tmp_path / "k" / "server.key_secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert public.stat().st_mode & 0o777 == 0o644
    pub, sec = load_secret(secret)
    assert len(pub) == 40 and len(sec) == 40
    with pytest.raises(UserError, match="already exists"):
        create_keys(tmp_path / "k", "server")
    assert cli_main(["keys", str(tmp_path / "k"), "server"]) != 0
    with pytest.raises(ConfigError, match="holds no secret key"):
        load_secret(public)


def test_only_authorized_subscribers_receive(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    server = create_keys(keys, "server")
    good = create_keys(keys, "good")
    stranger = create_keys(keys, "stranger")
    authorized = tmp_path / "authorized"
    authorized.mkdir()
    (authorized / "good.key").write_bytes(good.public.read_bytes())

    ctx = zmq.Context()
    curve = CurveServer(ctx, server.secret, authorized)
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    curve.secure(pub)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"
    cmd = [sys.executable, str(SUBSCRIBER), endpoint, str(LISTEN_S)]
    procs = {
        "authorized": subprocess.Popen([*cmd, str(good.secret), str(server.public)],
                                       stdout=subprocess.PIPE, text=True),
        "plain": subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True),
        "stranger": subprocess.Popen([*cmd, str(stranger.secret), str(server.public)],
                                     stdout=subprocess.PIPE, text=True),
    }
    try:
        deadline = time.monotonic() + LISTEN_S + 1.0
        sent = 0
        while time.monotonic() < deadline and any(p.poll() is None for p in procs.values()):
            pub.send(b"genrecast.genre.living {}")
            sent += 1
            time.sleep(0.02)
        counts = {k: int(p.communicate(timeout=20)[0].strip()) for k, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        pub.close()
        curve.stop()
        ctx.term()
    assert counts["authorized"] > 10, counts
    assert counts["plain"] == 0, counts
    assert counts["stranger"] == 0, counts
