"""Home Assistant's commands with ``[engine] workers = 2``: the parent's MQTT client hands them to
the parent's control handlers, which ask the worker that owns the source; the state comes back
through the relay, and a threshold set with ``genrecast ctl`` through the merged heartbeat."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from genrecast.daemon.service.control import request

from tests.support.daemon_proc import DaemonProc, wait_for
from tests.support.mosquitto import Mosquitto, Recorder
from tests.support.worker_config import SOURCES, workers_config


@pytest.mark.slow
def test_commands_reach_the_worker_that_owns_the_source(tmp_path: Path, broker: Mosquitto,
                                                        low_high_wav: Path) -> None:
    broker.start()
    (tmp_path / "mqtt_password").write_text("daemon-pw\n")
    config = workers_config(tmp_path, low_high_wav, f"""[mqtt]
url = "{broker.url}"
username = "genrecast"
password_file = "mqtt_password"
client_id = "genrecast-workers"
""")
    rec = Recorder(broker, "ha", "genrecast/#")
    daemon = DaemonProc(tmp_path, config)
    try:
        daemon.wait_ready(60)
        for name in SOURCES:
            rec.wait_payload(f"genrecast/{name}/state", "running", 30)
        rec.wait(lambda: (m := rec.last("genrecast/status")) and m.json()["sources_running"] == 4,
                 20, "four sources running on the daemon's device")
        sent_s = time.monotonic()
        rec.client.publish("genrecast/b/listening/set", "OFF")  # worker 1's source
        rec.client.publish("genrecast/c/threshold/set", "80")  # worker 0's source
        rec.wait_payload("genrecast/b/state", "paused", 15, after_s=sent_s)
        rec.wait_payload("genrecast/b/listening", "OFF", 15, after_s=sent_s)
        rec.wait_payload("genrecast/c/threshold", "80", 15, after_s=sent_s)
        rec.wait(lambda: (m := rec.last("genrecast/status")) and m.json()["sources_running"] == 3,
                 15, "three sources running after the pause")
        time.sleep(1.5)  # three merged heartbeats: the worker reports the threshold it now uses
        assert rec.last("genrecast/c/threshold").payload == "80"  # type: ignore[union-attr]
        # Set with genrecast ctl instead: Home Assistant hears of it with the next heartbeat.
        reply = request(f"ipc://{tmp_path}/control.sock", "threshold", "d", value=0.9)
        assert reply["ok"], reply
        rec.wait_payload("genrecast/d/threshold", "90", 10, after_s=sent_s)
        assert [m.payload for m in rec.on("genrecast/a/state")][-1] == "running"
        wait_for(lambda: daemon.proc.poll() is None, 1, "the daemon running")
        daemon.proc.send_signal(signal.SIGINT)
        assert daemon.proc.wait(15) == 0, daemon.stderr()
        assert "Traceback" not in daemon.stderr()
    finally:
        rec.close()
        daemon.close()
