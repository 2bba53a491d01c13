"""`/events`, `/api/status` and the token, over real HTTP against `genrecast run` (a process).

The daemon runs two looping tone files with a token from `[web] token_file`; the client is
`http.client`. Without the token nothing but a 401 comes back; `/?token=` sets the cookie the page
(EventSource) uses; `?source=` and `?kind=` filter the stream; predictions are throttled.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.common import TONE_MODEL, genrecast_cmd
from tests.support.daemon_proc import DaemonProc
from tests.support.radio import free_port

TOKEN = "s3cret-token-for-the-test"
INTERVAL_S = 1.0  # [web] prediction_interval_s


def _config(tmp: Path, wav: Path, port: int) -> Path:
    (tmp / "web.token").write_text(TOKEN + "\n")
    path = tmp / "genrecast.toml"
    path.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "a"
kind = "file"
target = "{wav}"
loop = true
[[sources]]
name = "b"
kind = "file"
target = "{wav}"
loop = true
[publish]
endpoint = "ipc://{tmp}/events.sock"
heartbeat_s = 1.0
[control]
endpoint = "ipc://{tmp}/control.sock"
[web]
listen = "127.0.0.1:{port}"
token_file = "web.token"
prediction_interval_s = {INTERVAL_S}
""")
    return path


def _get(port: int, path: str, headers: dict[str, str] | None = None,
         ) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def _sse(port: int, path: str, seconds: float, headers: dict[str, str]
         ) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """(arrival monotonic time, event name, data) for every SSE message within ``seconds``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    assert r.status == 200, r.read()
    assert r.getheader("Content-Type") == "text/event-stream"
    end = time.monotonic() + seconds
    name, data = "", ""
    try:
        while time.monotonic() < end:
            line = r.fp.readline().decode()
            if not line:
                return
            line = line.rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif not line and name:
                yield time.monotonic(), name, json.loads(data)
                name, data = "", ""
    finally:
        conn.close()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, low_high_wav: Path) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("web")
    port = free_port()
    proc = DaemonProc(tmp, _config(tmp, low_high_wav, port))
    try:
        proc.wait_ready(60)
        yield port
    finally:
        proc.close()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.slow
def test_token_required(daemon: int) -> None:
    for path in ("/", "/app.js", "/events", "/api/status", "/api/timeline?source=a"):
        status, headers, body = _get(daemon, path)
        assert status == 401, (path, status)
        assert "Bearer" in headers["WWW-Authenticate"]
        assert b"token" in body and TOKEN.encode() not in body
    assert _get(daemon, "/api/status", {"Authorization": "Bearer wrong"})[0] == 401
    assert _get(daemon, "/?token=wrong")[0] == 401
    # /?token= sets the cookie and sends the browser to / (the token leaves the address bar).
    status, headers, _ = _get(daemon, f"/?token={TOKEN}")
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, headers, body = _get(daemon, "/", {"Cookie": cookie.split(";")[0]})
    assert status == 200 and b"<title>genrecast</title>" in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert _get(daemon, "/api/status", AUTH)[0] == 200


@pytest.mark.slow
def test_api_status_is_the_control_status(daemon: int, tmp_path: Path) -> None:
    status, _, body = _get(daemon, "/api/status", AUTH)
    assert status == 200
    api = json.loads(body)
    assert set(api["status"]["sources"]) == {"a", "b"}
    assert api["status"]["model"].startswith("tone@")
    assert set(api["snapshot"]["sources"]) == {"a", "b"}
    assert api["dashboard"]["labels"] == ["low", "high"]
    # The same answer as the control socket's, apart from what moves (counters, uptime).
    ctl = subprocess.run(genrecast_cmd("ctl", "status", "--json", "--config",
                                       str(Path(api["status"]["config"]))),
                         capture_output=True, text=True, timeout=30)
    assert ctl.returncode == 0, ctl.stderr
    reply = json.loads(ctl.stdout)
    assert set(reply) - {"ok"} == set(api["status"])
    assert set(reply["sources"]) == set(api["status"]["sources"])


@pytest.mark.slow
def test_events_filtered_by_source_and_kind(daemon: int) -> None:
    got = list(_sse(daemon, "/events?source=a&kind=prediction,genre", 6 * INTERVAL_S, AUTH))
    events = [(t, name, e) for t, name, e in got if name != "ping"]
    assert events, got
    assert {e["source"] for _, _, e in events} == {"a"}
    assert {name for _, name, _ in events} <= {"prediction", "genre"}
    assert all(name == e["kind"] for _, name, e in events)
    # Throttled: a 0.5-s hop makes two windows a second; the page gets one per interval.
    times = [t for t, name, _ in events if name == "prediction"]
    assert len(times) >= 3
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) > 0.5 * INTERVAL_S, gaps
    seqs = [e["seq"] for _, name, e in events if name == "prediction"]
    assert all(b - a >= 2 for a, b in zip(seqs, seqs[1:], strict=False)), seqs

    both = [e for _, name, e in _sse(daemon, "/events?kind=heartbeat", 3, AUTH) if name != "ping"]
    assert both and all(e["kind"] == "heartbeat" for e in both)
    assert set(both[0]["sources"]) == {"a", "b"}

    status, _, body = _get(daemon, "/events?kind=nonsense", AUTH)
    assert status == 400 and b"prediction" in body


@pytest.mark.slow
def test_status_events_reach_the_stream(daemon: int, tmp_path: Path) -> None:
    """A source paused over the control socket is a status event on /events at once."""
    status, _, body = _get(daemon, "/api/status", AUTH)
    config = json.loads(body)["status"]["config"]
    stream = _sse(daemon, "/events?kind=status&source=b", 15, AUTH)
    next(stream)  # connected (the first ping)
    subprocess.run(genrecast_cmd("ctl", "pause", "b", "--config", config), check=True,
                   capture_output=True, timeout=30)
    try:
        states = []
        for _, name, e in stream:
            if name == "status":
                states.append(e["state"])
                if e["state"] == "paused":
                    break
        assert "paused" in states, states
    finally:
        subprocess.run(genrecast_cmd("ctl", "resume", "b", "--config", config),
                       capture_output=True, timeout=30)


def test_refuses_other_than_loopback_without_token(tmp_path: Path) -> None:
    config = tmp_path / "genrecast.toml"
    config.write_text(f'[model]\npath = "{TONE_MODEL}"\n[[sources]]\nkind = "mic"\n')
    r = subprocess.run(genrecast_cmd("run", "--config", str(config), "--web", "0.0.0.0:8090"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 78, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "token_file" in lines[0] and "0.0.0.0:8090" in lines[0], lines[0]
    assert "command line" in lines[0]


def test_token_file_makes_other_addresses_possible(tmp_path: Path) -> None:
    from genrecast.daemon.errors import ConfigError
    from genrecast.daemon.service.config_file import load_settings

    token = "abc123" * 4
    (tmp_path / "t").write_text(token + "\n")
    config = tmp_path / "genrecast.toml"
    config.write_text(f'[model]\npath = "{TONE_MODEL}"\n[[sources]]\nkind = "mic"\n'
                      '[web]\nlisten = "0.0.0.0:8090"\ntoken_file = "t"\n')
    settings = load_settings(config)
    assert settings.web.token == token and settings.web.listen == "0.0.0.0:8090"
    assert token not in repr(settings)  # never in a log line
    (tmp_path / "t").write_text("x\n")  # a token guessed in a few requests was accepted
    with pytest.raises(ConfigError, match="token has 1 characters; use at least 16"):
        load_settings(config)
    config.write_text(f'[model]\npath = "{TONE_MODEL}"\n[[sources]]\nkind = "mic"\n'
                      '[web]\nlisten = "0.0.0.0:8090"\ntoken_file = "missing"\n')
    with pytest.raises(ConfigError, match="web.token_file"):
        load_settings(config)
