"""Real PortAudio capture: a private PulseAudio server, a null sink, the daemon on its monitor."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import soundfile as sf

from tests.support.common import StatusWatcher, Subscriber, genrecast_cmd, tone
from tests.support.pulse import PrivatePulse

pytestmark = pytest.mark.slow


def test_devices_lists_the_pulse_device(pulse_server: dict[str, str]) -> None:
    proc = subprocess.run(genrecast_cmd("devices", "--json"), env=pulse_server,
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    devices = json.loads(proc.stdout)
    assert any(d["default"] for d in devices), devices
    assert all(d["rate_hz"] >= 8000 for d in devices)


def test_mic_capture_through_pulseaudio(pulse_server: dict[str, str], tone_model: Path,
                                        tmp_path: Path, event_schema: dict[str, Any]) -> None:
    clip = tmp_path / "low_high.wav"
    silence = np.zeros((4 * 48_000, 2), dtype=np.float32)
    sf.write(clip, np.concatenate((silence, tone(50, 7, 48_000, 2), tone(150, 7, 48_000, 2))),
             48_000)
    endpoint = f"ipc://{tmp_path}/events.sock"
    sub = Subscriber(endpoint, "genre", "status", "prediction", seconds=90, env=pulse_server)
    watcher = StatusWatcher(endpoint)
    daemon = subprocess.Popen(
        genrecast_cmd("run", "--model", str(tone_model), "--publish", endpoint,
                      "--source", "room=mic", "--min-windows", "2", "--smooth", "3"),
        env=pulse_server, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        watcher.wait("room", "running")  # the daemon loaded the model and opened the device
        watcher.close()
        assert daemon.poll() is None, daemon.communicate()[1]
        subprocess.run(["paplay", "--device=null", str(clip)], env=pulse_server, check=True,
                       timeout=60)
        time.sleep(2.0)
    finally:
        daemon.send_signal(signal.SIGINT)
        try:
            _, err = daemon.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            _, err = daemon.communicate()
    assert daemon.returncode == 0, err
    assert "Traceback" not in err
    events = sub.stop()
    validator = jsonschema.Draft202012Validator(event_schema)
    for event in events:
        validator.validate(event)
    genres = [e["genre"] for e in events if e["kind"] == "genre"]
    assert "low" in genres and "high" in genres, genres
    assert genres.index("low") < genres.index("high"), genres
    status = [e for e in events if e["kind"] == "status"]
    assert status[0]["state"] in ("starting", "running") and status[-1]["state"] == "stopped"
    assert any(s["state"] == "running" and s["rate_hz"] for s in status)
    preds = [e for e in events if e["kind"] == "prediction"]
    assert any(p["silent"] for p in preds), "the clip's leading silence is reported as silent"


def test_sound_server_dies_and_comes_back(tmp_path: Path, tone_model: Path) -> None:
    """PortAudio raises nothing when the server dies: the supervisor sees frames stop, reports
    stalled/lost, re-initialises PortAudio with backoff, and recovers on the new server."""
    server = PrivatePulse(tmp_path / "pa")
    server.start()
    low = tmp_path / "low.wav"
    high = tmp_path / "high.wav"
    sf.write(low, tone(50, 40, 48_000, 2), 48_000)
    sf.write(high, tone(150, 40, 48_000, 2), 48_000)
    endpoint = f"ipc://{tmp_path}/events.sock"
    sub = Subscriber(endpoint, "genre", "status", seconds=180, env=server.env)
    watcher = StatusWatcher(endpoint)
    daemon = subprocess.Popen(
        genrecast_cmd("run", "--model", str(tone_model), "--publish", endpoint,
                      "--source", "room=mic", "--min-windows", "2", "--smooth", "2"),
        env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    player = None
    try:
        watcher.wait("room", "running")  # model loaded, device open (slow on a busy machine)
        player = server.play(low)
        time.sleep(9.0)
        player.kill()
        player.wait()
        server.stop(kill=True)  # the sound server dies
        watcher.wait("room", "lost")
        server.start()
        player = server.play(high)
        watcher.wait("room", "running", detail="recovered", timeout_s=90)
        time.sleep(9.0)
    finally:
        watcher.close()
        if player is not None:
            player.kill()
            player.wait()
        daemon.send_signal(signal.SIGTERM)
        try:
            _, err = daemon.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            _, err = daemon.communicate()
        server.stop()
    assert daemon.returncode == 0, err
    events = sub.stop()
    states = [e["state"] for e in events if e["kind"] == "status"]
    genres = [e["genre"] for e in events if e["kind"] == "genre"]
    assert "stalled" in states and "lost" in states and "recovering" in states, states
    recovered = [e for e in events if e["kind"] == "status" and e["state"] == "running"
                 and e["detail"] == "recovered"]
    assert recovered, states
    assert "low" in genres and "high" in genres and genres.index("low") < genres.index("high")
    assert states[-1] == "stopped"


def test_demo_uses_the_default_input_device_when_there_is_one(
        pulse_server: dict[str, str]) -> None:
    env = dict(pulse_server)
    proc = subprocess.run(genrecast_cmd("demo", "--seconds", "5", "--json", "--kind", "status"),
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    status = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert status and all(e["spec"] == "mic" for e in status), status
    assert status[-1]["state"] == "stopped"
