"""The running daemon's control socket, metrics, SIGHUP reload with a corrupt model, and CURVE."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile as sf
from genrecast.daemon.wire.curve_auth import create_keys

from tests.support.common import REPO, TONE_MODEL
from tests.support.daemon_proc import DaemonProc, Listener, genrecast, wait_for

SUBSCRIBER = REPO / "tests" / "support" / "count_subscriber.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _low_high_wav(path: Path, seconds: float = 5.0, rate: int = 16_000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    x = np.concatenate([0.3 * np.sin(2 * np.pi * 50 * t), 0.3 * np.sin(2 * np.pi * 150 * t)])
    sf.write(path, x.astype(np.float32), rate)
    return path


def _ctl(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(genrecast("ctl", "--endpoint", f"ipc://{tmp}/control.sock", *args),
                          capture_output=True, text=True, timeout=30)


def _metric(port: int, name: str, labels: str = "") -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    pattern = "^" + re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" (\S+)$"
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else float("nan")


def _write_config(path: Path, tmp: Path, model: str, metrics_port: int) -> None:
    path.write_text(f"""
[model]
path = "{model}"
[[sources]]
name = "a"
kind = "file"
target = "low_high.wav"
loop = true
[decisions]
hop_s = 0.5
smooth_windows = 2
min_windows = 2
[publish]
endpoint = "ipc://{tmp}/events.sock"
heartbeat_s = 1.0
[control]
endpoint = "ipc://{tmp}/control.sock"
[metrics]
port = {metrics_port}
""")


def _corrupt_model(models: Path) -> None:
    """A model file that is not a flatbuffer, with a card that matches its hash (so the card
    check passes and the model loader itself must reject it)."""
    bad = models / "bad.tflite"
    bad.write_bytes(b"TFL3" + bytes(range(256)) * 8)
    card = json.loads((models / "tone.json").read_text())
    card["name"] = "bad"
    card["model_sha256"] = hashlib.sha256(bad.read_bytes()).hexdigest()
    (models / "bad.json").write_text(json.dumps(card))


@pytest.mark.slow
def test_control_metrics_and_sighup_with_corrupt_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(TONE_MODEL, models / "tone.tflite")
    shutil.copy(TONE_MODEL.with_suffix(".json"), models / "tone.json")
    _corrupt_model(models)
    _low_high_wav(tmp_path / "low_high.wav")
    port = _free_port()
    config = tmp_path / "genrecast.toml"
    _write_config(config, tmp_path, "models/tone.tflite", port)
    daemon = DaemonProc(tmp_path, config)
    listener = None
    try:
        daemon.wait_ready()
        listener = Listener(f"ipc://{tmp_path}/events.sock", "prediction", "genre", "status")
        wait_for(lambda: listener.of("prediction"), 15, "predictions")
        model_id = listener.of("prediction")[-1]["model_id"]
        assert model_id.startswith("tone@")

        # control: status, pause/resume, snapshot
        status = json.loads(_ctl(tmp_path, "status", "--json").stdout)
        assert status["ready"] and status["sources"]["a"]["state"] == "running", status
        assert status["model"] == model_id
        proc = _ctl(tmp_path, "pause", "a")
        assert proc.returncode == 0, proc.stderr
        wait_for(lambda: any(e["state"] == "paused" for e in listener.of("status", "a")), 5,
                 "a paused status event")
        paused_at = len(listener.events)
        assert _ctl(tmp_path, "resume", "a").returncode == 0
        wait_for(lambda: any(e["kind"] == "status" and e["state"] == "running"
                             for e in listener.events[paused_at:]), 10,
                 f"running after resume: {[e.get('state') for e in listener.of('status')]}")
        assert "no source named 'zz'" in _ctl(tmp_path, "pause", "zz").stderr
        wait_for(lambda: listener.of("genre", "a"), 20, "a genre event")
        snapshot = json.loads(_ctl(tmp_path, "snapshot", "--json").stdout)
        assert snapshot["sources"]["a"]["genre"] in ("low", "high"), snapshot

        # metrics of the running daemon
        wait_for(lambda: _metric(port, "genrecast_windows_classified_total", 'source="a"') > 3,
                 10, "windows classified in metrics")
        assert _metric(port, "genrecast_source_state", 'source="a",state="running"') == 1
        assert _metric(port, "genrecast_source_transitions_total", 'source="a",to="paused"') == 1
        assert _metric(port, "genrecast_frames_received_total", 'source="a"') > 0
        assert _metric(port, "genrecast_events_published_total", 'kind="prediction"') > 0
        assert _metric(port, "genrecast_inference_seconds_count") > 0
        assert _metric(port, "genrecast_end_to_end_latency_seconds_count") > 0
        assert _metric(port, "genrecast_ready") == 1

        # SIGHUP with a corrupt model: rejected, the old model keeps classifying
        _write_config(config, tmp_path, "models/bad.tflite", port)
        daemon.proc.send_signal(signal.SIGHUP)
        rejected = wait_for(lambda: [e for e in listener.of("status", "*")
                                     if e.get("reload") == "rejected"], 30,
                            "a reload-rejected status event")
        schema = json.loads((REPO / "daemon" / "wire" / "event_schema.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(rejected[0])
        assert "bad.tflite" in rejected[0]["detail"] or "model" in rejected[0]["detail"]
        assert model_id in rejected[0]["detail"]
        after = len(listener.events)
        wait_for(lambda: len([e for e in listener.events[after:]
                              if e["kind"] == "prediction"]) >= 3, 10,
                 "predictions after the rejected reload")
        assert {e["model_id"] for e in listener.events[after:]} == {model_id}
        assert daemon.proc.poll() is None
        assert _metric(port, "genrecast_reloads_total", 'result="rejected"') == 1
        assert daemon.notify.has("RELOADING=1")
        proc = _ctl(tmp_path, "reload")
        assert proc.returncode != 0 and "reload rejected" in proc.stderr, proc.stderr

        # a configuration that fails to load is rejected the same way
        config.write_text(config.read_text() + "\n[decisions]\nbogus = 1\n")
        proc = _ctl(tmp_path, "reload")
        assert proc.returncode != 0 and "reload rejected" in proc.stderr, proc.stderr

        # fixed again: reload succeeds
        _write_config(config, tmp_path, "models/tone.tflite", port)
        proc = _ctl(tmp_path, "reload")
        assert proc.returncode == 0 and "reloaded: model tone@" in proc.stdout, proc.stderr

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0, daemon.stderr()
    finally:
        daemon.close()
        if listener is not None:
            listener.close()


@pytest.mark.slow
def test_curve_daemon_serves_only_authorized_subscribers(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    server = create_keys(keys, "server")
    good = create_keys(keys, "good")
    stranger = create_keys(keys, "stranger")
    (keys / "authorized").mkdir()
    shutil.copy(good.public, keys / "authorized" / "good.key")
    _low_high_wav(tmp_path / "low_high.wav")
    port = _free_port()
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "a"
kind = "file"
target = "low_high.wav"
loop = true
[publish]
endpoint = "tcp://127.0.0.1:{port}"
heartbeat_s = 0.5
[control]
endpoint = "ipc://{tmp_path}/control.sock"
[security]
curve_secret_key = "keys/server.key_secret"
curve_authorized_dir = "keys/authorized"
""")
    daemon = DaemonProc(tmp_path, config)
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        daemon.wait_ready()
        cmd = [sys.executable, str(SUBSCRIBER), f"tcp://127.0.0.1:{port}", "4"]
        procs = {
            "authorized": subprocess.Popen([*cmd, str(good.secret), str(server.public)],
                                           stdout=subprocess.PIPE, text=True),
            "plain": subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True),
            "stranger": subprocess.Popen([*cmd, str(stranger.secret), str(server.public)],
                                         stdout=subprocess.PIPE, text=True),
        }
        counts = {k: int(p.communicate(timeout=30)[0].strip()) for k, p in procs.items()}
        assert counts["authorized"] > 5, counts
        assert counts["plain"] == 0 and counts["stranger"] == 0, counts
        # the control socket (no CURVE, same ZeroMQ context) still answers
        proc = subprocess.run(genrecast("ctl", "-e", f"ipc://{tmp_path}/control.sock", "status"),
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0, daemon.stderr()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        daemon.close()
        time.sleep(0)
