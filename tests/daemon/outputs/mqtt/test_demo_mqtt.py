"""`genrecast demo --mqtt URL` shows the product in Home Assistant: the demo's source as a device
with its genre, under a client id that stays the same from one demo to the next."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.common import TONE_MODEL, genrecast_cmd
from tests.support.mosquitto import Mosquitto, Recorder


@pytest.mark.slow
def test_demo_publishes_to_home_assistant(tmp_path: Path, broker: Mosquitto) -> None:
    broker.start()
    password = tmp_path / "pw"
    password.write_text(broker.users["genrecast"] + "\n")
    node = f"genrecast-demo-{socket.gethostname()}"
    rec = Recorder(broker, "ha", "homeassistant/#", "genrecast/#")
    proc = subprocess.Popen(genrecast_cmd("demo", "--file", "--model", str(TONE_MODEL),
                                          "--seconds", "60", "--kind", "genre",
                                          "--mqtt", broker.url, "--mqtt-username", "genrecast",
                                          "--mqtt-password-file", str(password)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        config = f"homeassistant/sensor/{node.replace('.', '_')}/demo_genre/config"
        rec.wait(lambda: rec.last(config), 60, "the demo's discovery")
        genre = rec.wait(lambda: rec.last("genrecast/demo/genre"), 60, "the demo's genre").json()
        assert genre["genre"] in rec.last(config).json()["options"]  # type: ignore[union-attr]
        assert rec.last("genrecast/availability").payload == "online"  # type: ignore[union-attr]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        rec.close()
    assert "Traceback" not in err, err
    assert f"demo: MQTT to {broker.url} as {node}" in err, err
