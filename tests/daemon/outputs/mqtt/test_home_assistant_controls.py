"""What Home Assistant users expect, against the real daemon and a real mosquitto: nothing that
would show as "None" on start, the confidence sent with its genre, the genre as an enum of the
model's labels and an event entity, the daemon's own device, the dashboard linked, a display name,
and commands (switch, number, button) through the control socket's path, malformed ones logged in
one line, counted and ignored; a burst of Home Assistant birth messages republishes once."""

from __future__ import annotations

import json
import shutil
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from genrecast.daemon.service.control import request

from tests.daemon.outputs.mqtt.test_home_assistant import NODE, mqtt_config
from tests.support.common import TONE_MODEL
from tests.support.daemon_proc import DaemonProc, wait_for
from tests.support.mosquitto import Mosquitto, Recorder
from tests.support.radio import free_port

SOURCE = "living_room"  # the id made from name = "Living room"
P = f"genrecast/{SOURCE}"
GROUPED_MACRO = 0.5  # written into the test model's card


def _model_with_grouped_accuracy(folder: Path) -> Path:
    """The tone model with a leave-package-out figure in its card (the card's hash is the
    .tflite file's, so the card may gain sections)."""
    folder.mkdir()
    model = folder / "tone.tflite"
    shutil.copy(TONE_MODEL, model)
    card = json.loads(TONE_MODEL.with_suffix(".json").read_text())
    card["leave_package_out"] = {"macro": {card["quantization"]: {"+0": GROUPED_MACRO}}}
    model.with_suffix(".json").write_text(json.dumps(card))
    return model


def _metric(port: int, line_start: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[1])
    return 0.0


def _config(rec_topic: str) -> str:
    component, entity = rec_topic.split(":")
    return f"homeassistant/{component}/{NODE}/{entity}/config"


@pytest.mark.slow
def test_states_devices_and_commands(tmp_path: Path, broker: Mosquitto,
                                     low_high_wav: Path) -> None:
    broker.start()
    web_port, metrics_port = free_port(), free_port()
    folder = tmp_path / "d"
    control = f"ipc://{folder}/control.sock"
    sources = f"""
[[sources]]
name = "Living room"
kind = "file"
target = "{low_high_wav}"
loop = true
"""
    config = mqtt_config(folder, broker, sources, control=control,
                         model=_model_with_grouped_accuracy(tmp_path / "model"),
                         extra=f'[web]\nlisten = "127.0.0.1:{web_port}"\n'
                               f"[metrics]\nport = {metrics_port}\n")
    rec = Recorder(broker, "ha", "homeassistant/#", "genrecast/#")
    daemon = DaemonProc(folder, config)
    try:
        daemon.wait_ready(60)
        genres = lambda: [m.json()["genre"] for m in rec.on(f"{P}/genre")]  # noqa: E731
        rec.wait(lambda: "high" in genres(), 60, "genre low, then high")

        # 1. Nothing Home Assistant would show as "None": no state before it is known.
        states = [m for m in list(rec.messages) if m.topic.startswith(f"{P}/")]
        assert not [m for m in states if m.payload in ("None", "null", "")], states
        assert all(g in ("low", "high") for g in genres()), genres()
        # 2. Each genre carries its own confidence, sent just before it.
        ordered = [m for m in states if m.topic in (f"{P}/genre", f"{P}/confidence")]
        for i, m in enumerate(ordered):
            if m.topic == f"{P}/genre":
                before = [c for c in ordered[:i] if c.topic == f"{P}/confidence"]
                assert before and before[-1].payload == str(round(100 * m.json()["confidence"]))
        # ...and the event entity says what changed (not retained).
        changes = rec.on(f"{P}/genre_change")
        assert [(c.json()["from"], c.json()["to"]) for c in changes][:2] == \
            [(None, "low"), ("low", "high")]
        assert all(c.json()["event_type"] == c.json()["to"] and not c.retain for c in changes)

        # 3. Discovery: the enum's options, the event types, the devices and their links.
        genre = rec.last(_config(f"sensor:{SOURCE}_genre")).json()
        assert genre["device_class"] == "enum" and genre["options"] == ["low", "high", "silence"]
        assert genre["unique_id"] == f"{NODE}_{SOURCE}_genre"
        dashboard = f"http://127.0.0.1:{web_port}/"
        assert genre["device"]["name"] == "Living room"
        assert genre["device"]["via_device"] == NODE
        assert genre["device"]["configuration_url"] == dashboard
        event = rec.last(_config(f"event:{SOURCE}_genre_change")).json()
        assert event["event_types"] == ["low", "high", "silence"]
        accuracy = rec.last(_config("sensor:daemon_model_accuracy")).json()
        assert accuracy["device"]["identifiers"] == [NODE]
        assert accuracy["device"]["configuration_url"] == dashboard
        for entity in ("binary_sensor:daemon_mqtt", "sensor:daemon_started", "sensor:daemon_model",
                       "sensor:daemon_sources_running", "sensor:daemon_sources_lost",
                       "sensor:daemon_events_dropped", "button:daemon_reload",
                       f"switch:{SOURCE}_listening", f"number:{SOURCE}_threshold"):
            assert rec.last(_config(entity)) is not None, entity

        # 4. The daemon's device.
        status = rec.wait(lambda: rec.last("genrecast/status"), 10, "the daemon's status").json()
        assert status["mqtt"] == "connected" and status["model_id"].startswith("tone@")
        assert status["model_accuracy_pct"] == 50.0
        assert (status["sources"], status["sources_running"], status["sources_lost"]) == (1, 1, 0)
        assert status["events_dropped"] == 0 and status["started_utc"].endswith("Z")

        # 5. A burst of Home Assistant birth messages: one republish.
        burst_s = time.monotonic()
        for _ in range(500):
            rec.client.publish("homeassistant/status", "online")
        model_config = _config("sensor:daemon_model")
        rec.wait(lambda: [m for m in rec.on(model_config) if m.at_s >= burst_s], 15,
                 "discovery after the birth messages")
        time.sleep(2.0)
        assert len([m for m in rec.on(model_config) if m.at_s >= burst_s]) == 1

        # 6. Commands, through the control socket's path (its status shows what they did).
        def source_status() -> dict[str, object]:
            return request(control, "status")["sources"][SOURCE]

        sent_s = time.monotonic()
        rec.client.publish(f"{P}/listening/set", "OFF")
        rec.wait_payload(f"{P}/state", "paused", 10, after_s=sent_s)
        rec.wait_payload(f"{P}/listening", "OFF", 10, after_s=sent_s)
        assert source_status()["state"] == "paused"
        rec.client.publish(f"{P}/listening/set", "ON")
        rec.wait_payload(f"{P}/listening", "ON", 10, after_s=sent_s)
        wait_for(lambda: source_status()["state"] == "running", 10, "running again")
        assert rec.last(f"{P}/threshold").payload == "60"  # [decisions] threshold, in %
        rec.client.publish(f"{P}/threshold/set", "72")
        rec.wait_payload(f"{P}/threshold", "72", 10, after_s=sent_s)
        wait_for(lambda: source_status()["threshold"] == 0.72, 10, "threshold 0.72")
        assert _metric(metrics_port, 'genrecast_mqtt_commands_total{result="ok"}') == 3

        # A malformed command: one log line, counted, nothing done.
        rec.client.publish(f"{P}/listening/set", "maybe")
        wait_for(lambda: _metric(metrics_port,
                                 'genrecast_mqtt_commands_total{result="rejected"}') == 1,
                 10, "the malformed command counted")
        lines = [line for line in daemon.stderr().splitlines() if "ignored a command" in line]
        assert len(lines) == 1 and f"{P}/listening/set" in lines[0] and "ON or OFF" in lines[0]
        assert source_status()["state"] == "running" and daemon.proc.poll() is None

        # The reload button.
        reload_s = time.monotonic()
        rec.client.publish("genrecast/reload", "PRESS")
        wait_for(lambda: _metric(metrics_port, 'genrecast_reloads_total{result="ok"}') == 1, 20,
                 "the reload")
        rec.wait(lambda: [m for m in rec.on(model_config) if m.at_s >= reload_s], 10,
                 "discovery after the reload")

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(15) == 0, daemon.stderr()
        assert "Traceback" not in daemon.stderr()
    finally:
        rec.close()
        daemon.close()
