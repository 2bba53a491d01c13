"""MQTT and the web dashboard with ``[engine] workers = 2``: the parent runs them, fed by the
relay. A real mosquitto gets the genre and state of the sources of both workers and the
daemon's availability; the dashboard's /api/status lists every source; ZeroMQ subscribers get
the MQTT connection's status and it rides in the merged heartbeat; on SIGINT the final
``stopped`` states reach the broker before ``offline``."""

from __future__ import annotations

import json
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon_proc import DaemonProc, Listener, wait_for
from tests.support.icecast import free_port
from tests.support.mosquitto import Mosquitto, Recorder
from tests.support.worker_config import SOURCES, workers_config


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    folder = tmp_path / "broker"
    folder.mkdir()
    server = Mosquitto(folder, {"genrecast": "daemon-pw", "ha": "ha-pw"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _config(tmp: Path, broker: Mosquitto, wav: Path, web_port: int) -> Path:
    (tmp / "mqtt_password").write_text("daemon-pw\n")
    return workers_config(tmp, wav, f"""[mqtt]
url = "{broker.url}"
username = "genrecast"
password_file = "mqtt_password"
client_id = "genrecast-workers"
[web]
listen = "127.0.0.1:{web_port}"
""")


def _api_status(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as resp:
        return dict(json.loads(resp.read()))


@pytest.mark.slow
def test_mqtt_and_dashboard_see_every_worker(tmp_path: Path, broker: Mosquitto,
                                             low_high_wav: Path) -> None:
    web_port = free_port()
    rec = Recorder(broker, "ha", "genrecast/#", "homeassistant/#")
    listener = Listener(f"ipc://{tmp_path}/events.sock", "status", "heartbeat")
    daemon = DaemonProc(tmp_path, _config(tmp_path, broker, low_high_wav, web_port))
    try:
        daemon.wait_ready(60)
        for name in SOURCES:  # both workers' sources, through the parent's one MQTT client
            assert rec.wait_payload(f"genrecast/{name}/state", "running")
            rec.wait(lambda n=name: rec.last(f"genrecast/{n}/genre"), 30, f"{name}'s genre")
            assert rec.last(f"homeassistant/sensor/genrecast-workers/{name}_genre/config")
        assert rec.last("genrecast/availability").payload == "online"
        genres = {rec.last(f"genrecast/{n}/genre").json()["genre"] for n in SOURCES}
        assert genres <= {"low", "high", None}, genres

        wait_for(lambda: any(e.get("mqtt", {}).get("state") == "connected"
                             for e in listener.of("heartbeat")), 15, "a heartbeat with mqtt")
        wait_for(lambda: any(e.get("spec") == "mqtt" and e["source"] == "*"
                             for e in listener.of("status")), 15, "the mqtt status event")

        status = _api_status(web_port)
        assert set(status["status"]["sources"]) == set(SOURCES), status["status"]
        assert len(status["status"]["workers"]) == 2

        daemon.proc.send_signal(signal.SIGINT)
        assert daemon.proc.wait(10) == 0, daemon.stderr()
        for name in SOURCES:
            assert rec.wait_payload(f"genrecast/{name}/state", "stopped", 10)
        assert rec.wait_payload("genrecast/availability", "offline", 10)
        assert "Traceback" not in daemon.stderr()
    finally:
        listener.close()
        rec.close()
        daemon.close()
