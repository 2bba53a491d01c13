"""The broker down at start, restarted mid-run, refusing the login: the daemon keeps classifying
and publishing on ZeroMQ, says what MQTT is doing (status and heartbeat events, metrics, one log
line), reconnects with backoff and republishes discovery and state afterwards."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.daemon.outputs.mqtt.test_home_assistant import config_topic, file_source, mqtt_config
from tests.support.daemon_proc import DaemonProc, Listener, wait_for
from tests.support.mosquitto import Mosquitto, Recorder
from tests.support.radio import free_port

GENRE_CONFIG = config_topic("sensor", "living", "genre")


def _mqtt_states(listener: Listener) -> list[str]:
    return [e["mqtt"]["state"] for e in listener.of("status", "*") if e.get("spec") == "mqtt"]


def _predictions(listener: Listener) -> int:
    return len(listener.of("prediction", "living"))


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.slow
def test_broker_down_at_start_then_restarted_mid_run(tmp_path: Path, broker: Mosquitto,
                                                     low_high_wav: Path,
                                                     event_schema: dict[str, Any]) -> None:
    metrics_port = free_port()
    config = mqtt_config(tmp_path / "d", broker, file_source(low_high_wav),
                         extra=f"[metrics]\nport = {metrics_port}")
    daemon = DaemonProc(tmp_path / "d", config)
    listener = Listener(f"ipc://{tmp_path}/d/events.sock", "status", "heartbeat", "prediction")
    rec: Recorder | None = None
    try:
        # No broker: the daemon is ready and classifies; MQTT says it cannot connect.
        daemon.wait_ready(60)
        wait_for(lambda: "disconnected" in _mqtt_states(listener), 30, "mqtt disconnected")
        wait_for(lambda: _predictions(listener) >= 5, 30, "predictions without a broker")
        assert _metric(metrics_port, "genrecast_mqtt_connected") == 0.0

        broker.start()  # comes up later: the backoff finds it (at most 30 s)
        rec = Recorder(broker, "ha", "homeassistant/#", "genrecast/#")
        wait_for(lambda: _mqtt_states(listener)[-1:] == ["connected"], 45, "mqtt connected")
        rec.wait(lambda: rec.last(GENRE_CONFIG), 20, "discovery after the late broker")
        assert _metric(metrics_port, "genrecast_mqtt_connected") == 1.0

        # The broker restarts (and forgets every retained message: no persistence).
        broker.stop()
        down_s = time.monotonic()
        wait_for(lambda: _mqtt_states(listener)[-1:] == ["disconnected"], 20,
                 "mqtt disconnected after the broker stopped")
        seen = _predictions(listener)
        wait_for(lambda: _predictions(listener) >= seen + 4, 20, "predictions while it is down")
        assert daemon.proc.poll() is None
        broker.start()
        up_s = time.monotonic()
        wait_for(lambda: _mqtt_states(listener).count("connected") >= 2, 45, "mqtt reconnected")
        rec.wait(lambda: any(m.at_s >= up_s for m in rec.on(GENRE_CONFIG)), 30,
                 "discovery republished after the restart")
        rec.wait(lambda: any(m.at_s >= up_s for m in rec.on("genrecast/living/genre")), 30,
                 "state republished after the restart")
        assert rec.wait_payload("genrecast/availability", "online", 10, after_s=down_s)
        wait_for(lambda: any(e.get("mqtt", {}).get("connects", 0) >= 2
                             for e in listener.of("heartbeat")), 10, "heartbeat connects ≥ 2")
        assert _metric(metrics_port, "genrecast_mqtt_connects_total") >= 2
        for event in list(listener.events):
            jsonschema.validate(event, event_schema)

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(15) == 0, daemon.stderr()
        assert "Traceback" not in daemon.stderr()
    finally:
        listener.close()
        if rec is not None:
            rec.close()
        daemon.close()


@pytest.mark.slow
def test_refused_login_is_one_line_and_the_daemon_keeps_running(
        tmp_path: Path, broker: Mosquitto, low_high_wav: Path) -> None:
    broker.start()
    config = mqtt_config(tmp_path / "d", broker, file_source(low_high_wav), password="wrong")
    daemon = DaemonProc(tmp_path / "d", config)
    listener = Listener(f"ipc://{tmp_path}/d/events.sock", "status", "prediction")
    try:
        daemon.wait_ready(60)
        wait_for(lambda: "refused" in _mqtt_states(listener), 30, "mqtt refused")
        # It keeps trying (backoff), and says so once, not once per attempt.
        wait_for(lambda: broker.log().count("not authorised") >= 3, 30,
                 f"three refused logins at the broker; its log: {broker.log()}")
        wait_for(lambda: _predictions(listener) >= 5, 30, "predictions meanwhile")
        lines = [line for line in daemon.stderr().splitlines() if "mqtt:" in line
                 and "connecting to" not in line]
        assert len(lines) == 1, lines
        assert "password_file" in lines[0] and "wrong" not in lines[0]
        status = next(e for e in listener.of("status", "*") if e.get("spec") == "mqtt"
                      and e["mqtt"]["state"] == "refused")
        assert "refused the login of user 'genrecast'" in status["detail"]
        assert daemon.proc.poll() is None
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(15) == 0, daemon.stderr()
        assert "Traceback" not in daemon.stderr()
    finally:
        listener.close()
        daemon.close()
