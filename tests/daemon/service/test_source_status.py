"""Per-source state with its reason in ``genrecast ctl status``, and the malformed-metadata count
in heartbeats and metrics: a real daemon process, a real Icecast 2 (one mount fed by ffmpeg, one
that does not exist) and a crafted ICY server sending malformed blocks (Icecast never does)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import soundfile as sf

from tests.support.common import TONE_MODEL, tone
from tests.support.daemon_proc import DaemonProc, Listener, genrecast, wait_for
from tests.support.icecast import Icecast, free_port, icecast_binary
from tests.support.icy_server import METAINT, OneShotServer, icy_block, with_icy

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(icecast_binary() is None, reason="needs icecast2 (.ci/setup)")]
RATE_HZ = 44_100


@pytest.fixture(scope="module")
def icecast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Icecast]:
    wav = tmp_path_factory.mktemp("icecast") / "tone.wav"
    sf.write(wav, tone(150, 20.0, RATE_HZ, 2), RATE_HZ, subtype="PCM_16")
    server = Icecast(clients=10)
    server.start()
    try:
        server.feed("/live", wav)
        yield server
    finally:
        server.stop()


@pytest.fixture
def crafted(tmp_path: Path) -> Iterator[OneShotServer]:
    wav, mp3 = tmp_path / "c.wav", tmp_path / "c.mp3"
    sf.write(wav, tone(50, 30.0, RATE_HZ, 2), RATE_HZ, subtype="PCM_16")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a",
                    "libmp3lame", "-b:a", "128k", "-write_xing", "0", "-id3v2_version", "0",
                    str(mp3)], check=True)
    blocks = [icy_block(b"StreamTitle='Fine';"), icy_block(b"\xff\xfe not a field at all")]
    server = OneShotServer(f"Content-Type: audio/mpeg\r\nicy-metaint: {METAINT}\r\n",
                           with_icy(mp3.read_bytes(), blocks))
    yield server
    server.close()


def _metric(port: int, name: str, labels: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    match = re.search("^" + re.escape(name + "{" + labels + "}") + r" (\S+)$", text, re.M)
    return float(match.group(1)) if match else float("nan")


def test_ctl_status_gives_each_source_its_reason_and_metadata_faults_are_counted(
        tmp_path: Path, icecast: Icecast, crafted: OneShotServer,
        event_schema: dict[str, Any]) -> None:
    icecast.wait_mount("/live")
    metrics_port = free_port()
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "good"
kind = "url"
target = "{icecast.url('/live')}"
[[sources]]
name = "missing"
kind = "url"
target = "{icecast.url('/nope')}"
[[sources]]
name = "crafted"
kind = "url"
target = "http://127.0.0.1:{crafted.port}/live"
[publish]
endpoint = "ipc://{tmp_path}/events.sock"
heartbeat_s = 0.5
[control]
endpoint = "ipc://{tmp_path}/control.sock"
[metrics]
port = {metrics_port}
""")
    daemon = DaemonProc(tmp_path, config)
    listener = Listener(f"ipc://{tmp_path}/events.sock", "heartbeat")
    try:
        wait_for(lambda: (tmp_path / "control.sock").exists() or daemon.proc.poll() is not None,
                 30, "the control socket")
        assert daemon.proc.poll() is None, daemon.stderr()

        def ctl_status() -> str:
            proc = subprocess.run(genrecast("ctl", "-e", f"ipc://{tmp_path}/control.sock",
                                            "status"), capture_output=True, text=True, timeout=30)
            assert proc.returncode == 0, proc.stderr
            return proc.stdout

        def lines() -> dict[str, str]:
            out = {}
            for line in ctl_status().splitlines():
                match = re.match(r"^  (\w+): (.*)$", line)
                if match:
                    out[match.group(1)] = match.group(2)
            return out

        seen = wait_for(lambda: (lambda d: d if d.get("good", "").startswith("running")
                                 and d.get("missing", "").startswith("lost") else None)(lines()),
                        40, "good running and missing lost in ctl status", interval_s=0.3)
        # Icecast's answer is the reason, and when the next attempt comes.
        assert re.match(r"lost: HTTP 404 .*, retry in \d+\.\d s \|", seen["missing"]), seen
        assert "restarts=" in seen["missing"] and "frames_received=" in seen["good"]

        def counted() -> dict[str, Any] | None:
            for beat in reversed(listener.of("heartbeat")):
                # The 404 source alternates between lost (waiting) and recovering
                # (reopening); take a beat from a waiting moment.
                if (beat["sources"]["crafted"].get("malformed_meta_blocks", 0) >= 1
                        and beat["sources"]["missing"].get("reason", "").startswith("lost")):
                    return beat
            return None

        beat = wait_for(counted, 30,
                        "a heartbeat counting crafted's malformed blocks while missing is lost")
        jsonschema.validate(beat, event_schema)
        assert beat["sources"]["good"]["malformed_meta_blocks"] == 0  # Icecast's are well formed
        assert beat["sources"]["missing"]["reason"].startswith("lost: HTTP 404")
        assert "malformed_meta_blocks" in json.dumps(beat)
        assert _metric(metrics_port, "genrecast_icy_metadata_malformed_total",
                       'source="crafted"') >= 1
        assert _metric(metrics_port, "genrecast_icy_metadata_malformed_total",
                       'source="good"') == 0
    finally:
        listener.close()
        daemon.close()
