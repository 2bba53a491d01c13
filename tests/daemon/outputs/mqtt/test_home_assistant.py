"""The real daemon (``genrecast run``) publishing to a real mosquitto, checked by a paho
subscriber the way Home Assistant would see it: discovery, state changes while a low then a high
tone plays (the tiny tone model: "rock" then "classical" for the real one), the opt-in
predictions, the Home Assistant birth message, retained state, and the last will when the daemon
is killed; unique ids must be the same after a restart."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.common import TONE_MODEL
from tests.support.daemon_proc import DaemonProc, Listener, wait_for
from tests.support.mosquitto import Mosquitto, Recorder
from tests.support.radio import Radio, free_port

CLIENT_ID = "genrecast-test"
NODE = CLIENT_ID
REQUIRED = ("name", "unique_id", "state_topic", "availability", "device")
FILE_ENTITIES = {"sensor": ("genre", "confidence", "level", "state"), "binary_sensor": ("music",)}


def mqtt_config(folder: Path, broker: Mosquitto, sources: str, *, password: str = "daemon-pw",
                extra: str = "", model: Path = TONE_MODEL, control: str = "off") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "mqtt_password").write_text(password + "\n")
    path = folder / "genrecast.toml"
    path.write_text(f"""
[model]
path = "{model}"
{sources}
[publish]
endpoint = "ipc://{folder}/events.sock"
heartbeat_s = 1.0
startup_grace_s = 1.0  # subscribers that are connecting hear the first (one-time) status events
[control]
endpoint = "{control}"
[mqtt]
url = "{broker.url}"
username = "genrecast"
password_file = "mqtt_password"
client_id = "{CLIENT_ID}"
{extra}
""")
    return path


def file_source(wav: Path) -> str:
    return f"""
[[sources]]
name = "living"
kind = "file"
target = "{wav}"
loop = true
"""


def config_topic(component: str, source: str, entity: str) -> str:
    return f"homeassistant/{component}/{NODE}/{source}_{entity}/config"


def _genres(rec: Recorder) -> list[Any]:
    return [m.json()["genre"] for m in rec.on("genrecast/living/genre")]


def _unique_ids(rec: Recorder, after_s: float) -> dict[str, str]:
    return {m.topic: m.json()["unique_id"] for m in list(rec.messages)
            if m.topic.endswith("/config") and m.at_s >= after_s}


@pytest.mark.slow
def test_discovery_state_birth_message_and_last_will(tmp_path: Path, broker: Mosquitto,
                                                     low_high_wav: Path,
                                                     event_schema: dict[str, Any]) -> None:
    broker.start()
    radio = Radio(free_port())
    radio.start()
    sources = file_source(low_high_wav) + f"""
[[sources]]
name = "radio"
kind = "url"
target = "http://127.0.0.1:{radio.port}/stream.wav"
"""
    config = mqtt_config(tmp_path / "first", broker, sources, extra="predictions = true")
    rec = Recorder(broker, "ha", "homeassistant/#", "genrecast/#")
    # The subscriber first, and the daemon waits startup_grace_s after binding, so the one-time
    # MQTT "connected" status (published as soon as the loop runs) reaches it.
    listener = Listener(f"ipc://{tmp_path}/first/events.sock", "status", "heartbeat", "genre")
    daemon = DaemonProc(tmp_path / "first", config)
    second: DaemonProc | None = None
    try:
        daemon.wait_ready(60)
        expected = {config_topic(c, "living", e) for c, es in FILE_ENTITIES.items() for e in es}
        expected |= {config_topic(c, "radio", e) for c, es in FILE_ENTITIES.items() for e in es}
        expected.add(config_topic("sensor", "radio", "title"))
        rec.wait(lambda: expected <= rec.topics(), 30, "every discovery config")
        configs = {t: rec.last(t) for t in expected}
        assert not any(t.endswith("living_title/config") for t in rec.topics())  # files: no title
        for topic, message in configs.items():
            assert message is not None
            payload = message.json()
            assert all(k in payload for k in REQUIRED), (topic, sorted(payload))
            source, entity = topic.split("/")[3].split("_", 1)
            assert payload["unique_id"] == f"{NODE}_{source}_{entity}"
            assert payload["state_topic"] == f"genrecast/{source}/{entity}"
            assert payload["availability"][0]["topic"] == "genrecast/availability"
            assert payload["device"]["identifiers"] == [f"{NODE}_{source}"]
        assert rec.last(config_topic("sensor", "living", "genre")).json()["value_template"] \
            == "{{ value_json.genre }}"
        assert rec.last("genrecast/availability").payload == "online"

        # The genre follows the music: low (10 s), then high; sent on change, not per window.
        rec.wait(lambda: "high" in _genres(rec) and "low" in _genres(rec), 60,
                 "genre low then high")
        genres = [g for g in _genres(rec) if g is not None]
        assert genres.index("low") < genres.index("high"), genres
        assert len(genres) <= 3, genres  # one message per decision (a loop may add one more)
        assert rec.wait_payload("genrecast/living/music", "ON")
        assert rec.wait_payload("genrecast/living/state", "running")
        assert rec.wait_payload("genrecast/radio/state", "running")
        level = rec.wait(lambda: rec.last("genrecast/living/level"), 10, "a level")
        assert -30 < float(level.payload) < 0, level.payload  # a 0.3-amplitude tone: ≈ -13 dBFS
        assert 50 <= int(rec.last("genrecast/living/confidence").payload) <= 100
        # This radio sends no title: nothing is sent, so Home Assistant shows unknown.
        assert rec.last("genrecast/radio/title") is None

        # Every window on the opt-in topic: the prediction event itself, not retained.
        predictions = rec.on("genrecast/living/prediction")
        assert len(predictions) >= 10 and not any(m.retain for m in predictions)
        for m in predictions[:5]:
            jsonschema.validate(m.json(), event_schema)

        # The MQTT state reaches ZeroMQ subscribers: a status event and every heartbeat.
        wait_for(lambda: any(e.get("mqtt", {}).get("state") == "connected"
                             for e in listener.of("heartbeat")), 10, "a heartbeat with mqtt")
        mqtt_status = [e for e in listener.of("status", "*") if e.get("spec") == "mqtt"]
        assert mqtt_status and mqtt_status[-1]["mqtt"]["state"] == "connected", mqtt_status
        for event in list(listener.events):
            jsonschema.validate(event, event_schema)

        # Home Assistant restarts: its birth message makes the daemon republish discovery.
        birth_s = time.monotonic()
        rec.client.publish("homeassistant/status", "online")
        rec.wait(lambda: expected <= set(_unique_ids(rec, birth_s)), 20,
                 "discovery again after the birth message")

        # A subscriber that joins later gets the retained state at once.
        late = Recorder(broker, "ha", "genrecast/living/+", "genrecast/availability")
        try:
            late.wait(lambda: {"genrecast/living/genre", "genrecast/living/music",
                               "genrecast/living/state", "genrecast/availability"}
                      <= late.topics(), 10, "retained state")
            assert all(m.retain for m in late.messages if not m.topic.endswith("/prediction"))
        finally:
            late.close()

        # Killed (no clean disconnect): the broker publishes the last will.
        first_ids = _unique_ids(rec, 0.0)
        kill_s = time.monotonic()
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(10)
        rec.wait_payload("genrecast/availability", "offline", 30, after_s=kill_s)

        # Started again: online, and the same entities (same unique ids).
        restart_s = time.monotonic()
        config = mqtt_config(tmp_path / "second", broker, file_source(low_high_wav))
        second = DaemonProc(tmp_path / "second", config)
        second.wait_ready(60)
        rec.wait_payload("genrecast/availability", "online", 30, after_s=restart_s)
        living = {t for t in expected if "/living_" in t}
        rec.wait(lambda: living <= set(_unique_ids(rec, restart_s)), 30, "discovery again")
        again = _unique_ids(rec, restart_s)
        assert {t: again[t] for t in living} == {t: first_ids[t] for t in living}

        # A clean stop says offline too (no last will needed).
        stop_s = time.monotonic()
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(15) == 0, second.stderr()
        rec.wait_payload("genrecast/living/state", "stopped", 10, after_s=stop_s)
        rec.wait_payload("genrecast/availability", "offline", 10, after_s=stop_s)
        assert "Traceback" not in daemon.stderr() + second.stderr()
    finally:
        listener.close()
        rec.close()
        daemon.close()
        if second is not None:
            second.close()
        radio.stop()


def test_password_never_in_the_process_arguments(tmp_path: Path, broker: Mosquitto) -> None:
    """The login lives in the file (or a systemd credential), not in argv or the URL."""
    from genrecast.daemon.errors import EXIT_CONFIG
    from genrecast.daemon.service.config_file import load_settings

    config = mqtt_config(tmp_path, broker, '[[sources]]\nkind = "mic"\n')
    settings = load_settings(config)
    assert settings.mqtt.password == "daemon-pw" and "daemon-pw" not in repr(settings)
    with pytest.raises(Exception) as info:
        load_settings(config, {"mqtt.url": "mqtt://genrecast:daemon-pw@127.0.0.1:1883"})
    assert getattr(info.value, "exit_code", None) == EXIT_CONFIG
    assert "password_file" in str(info.value) and "\n" not in str(info.value)
