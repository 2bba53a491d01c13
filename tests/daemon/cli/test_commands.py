"""classify, listen formatting, demo, devices, default endpoints."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from genrecast.daemon.cli.listen import format_event, topics_for

from tests.support.common import REPO, SCHEMA_PATH, genrecast_cmd

DEMO = REPO / "daemon" / "demo" / "demo.ogg"


def gc(*args: str, env: dict[str, str] | None = None, timeout: float = 120
       ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(genrecast_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)


def test_classify_text_json_csv_and_plot(tone_model: Path, low_high_wav: Path,
                                         tmp_path: Path) -> None:
    text = gc("classify", str(low_high_wav), "--model", str(tone_model))
    assert text.returncode == 0, text.stderr
    assert "genre changes: 4.0 s low" in text.stdout and "high" in text.stdout

    js = gc("classify", str(low_high_wav), "--model", str(tone_model), "--json")
    rows = [json.loads(x) for x in js.stdout.splitlines()]
    preds = [r for r in rows if r["kind"] == "prediction"]
    changes = [r for r in rows if r["kind"] == "genre"]
    assert len(preds) == 35 and [c["genre"] for c in changes] == ["low", "high"]
    assert preds[0]["label"] == "low" and preds[-1]["label"] == "high"

    out = tmp_path / "timeline.png"
    cs = gc("classify", str(low_high_wav), str(low_high_wav), "--model", str(tone_model), "--csv",
            "--plot", str(out))
    assert cs.returncode == 0, cs.stderr
    table = list(csv.DictReader(io.StringIO(cs.stdout)))
    assert len(table) == 70 and set(table[0]) >= {"file", "start_s", "low", "high", "genre"}
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"


def test_classify_bad_file(tone_model: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    import numpy as np
    import soundfile as sf

    sf.write(short, np.zeros(4000, dtype=np.float32), 8000)
    for path, code in ((tmp_path / "missing.wav", 66), (short, 65)):
        proc = gc("classify", str(path), "--model", str(tone_model))
        assert proc.returncode == code, proc.stderr
        assert proc.stderr.count("error:") == 1 and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_classify_demo_with_the_default_model_finds_rock_then_classical() -> None:
    """End-to-end on real music with the shipped model."""
    proc = gc("classify", str(DEMO), "--json")
    assert proc.returncode == 0, proc.stderr
    changes = [r["genre"] for r in map(json.loads, proc.stdout.splitlines())
               if r["kind"] == "genre"]
    assert changes == ["rock", "classical"]


@pytest.mark.slow
def test_demo_prints_what_a_subscriber_receives() -> None:
    env = dict(os.environ, XDG_RUNTIME_DIR=tempfile.mkdtemp())
    proc = gc("demo", "--file", "--seconds", "12", "--json", env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    for e in events:
        validator.validate(e)
    kinds = {e["kind"] for e in events}
    assert {"status", "prediction", "genre"} <= kinds, kinds
    assert [e["genre"] for e in events if e["kind"] == "genre"] == ["rock"]
    assert events[-1]["kind"] == "status" and events[-1]["state"] == "stopped"


@pytest.mark.slow
def test_default_endpoint_is_an_ipc_socket_in_the_runtime_dir(tone_model: Path,
                                                              low_high_wav: Path) -> None:
    runtime = tempfile.mkdtemp()
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime)
    sub = subprocess.Popen(genrecast_cmd("listen", "--kind", "genre", "--count", "2", "--json",
                                         "--seconds", "60"),
                           env=env, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    daemon = subprocess.Popen(genrecast_cmd("run", "--model", str(tone_model), "--source",
                                            f"file:{low_high_wav}", "--startup-grace", "0.5"),
                              env=env, stderr=subprocess.PIPE, text=True)
    try:
        out, _ = sub.communicate(timeout=60)
    finally:
        daemon.send_signal(signal.SIGINT)
        _, err = daemon.communicate(timeout=10)
    assert f"ipc://{runtime}/genrecast/events.sock" in err
    assert [json.loads(x)["genre"] for x in out.splitlines()] == ["low", "high"]
    assert daemon.returncode == 0, err


def test_devices_without_a_sound_card_is_not_an_error() -> None:
    env = dict(os.environ, PULSE_SERVER="unix:/nonexistent", HOME=tempfile.mkdtemp())
    proc = gc("devices", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_listen_formats_every_kind(event_schema: dict[str, Any]) -> None:
    base = {"schema_version": "1.0", "source": "living", "seq": 3,
            "time": "2026-01-01T12:00:00.250000Z", "model_id": "m@0123"}
    events = [
        {**base, "kind": "prediction", "label": "rock", "confidence": 0.9,
         "probabilities": {"rock": 0.9, "classical": 0.1}, "silent": False, "rms_dbfs": -20.0,
         "start_s": 1.0, "end_s": 4.0, "start_utc": base["time"], "end_utc": base["time"],
         "genre": "rock"},
        {**base, "kind": "genre", "genre": "rock", "previous": "classical", "confidence": 0.8,
         "previous_duration_s": 12.5, "at_s": 4.0, "at_utc": base["time"]},
        {**base, "kind": "status", "state": "lost", "previous_state": "running",
         "detail": "no audio for 2.0 s", "spec": "mic:2", "rate_hz": 48000, "channels": 2,
         "backend": "cpu"},
        {**base, "kind": "heartbeat", "source": "*", "uptime_s": 10.0, "backend": "cpu",
         "sources": {"living": {"state": "running", "frames_received": 1, "windows_classified": 2,
                                "events_published": 3, "events_dropped": 0}}},
    ]
    validator = jsonschema.Draft202012Validator(event_schema)
    for event in events:
        validator.validate(event)
    lines = [format_event(e) for e in events]
    assert "12:00:00.250" in lines[0] and "rock" in lines[0]
    assert "was classical for 12.5 s" in lines[1]
    assert "lost" in lines[2] and "no audio" in lines[2]
    assert "windows=2" in lines[3]
    bad = dict(events[1], confidence=1.5)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(bad)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({k: v for k, v in events[0].items() if k != "seq"})


def test_topics_for() -> None:
    assert topics_for([], []) == ["genrecast."]
    assert topics_for(["genre"], ["a"]) == ["genrecast.genre.a "]
    assert topics_for(["heartbeat", "status"], []) == ["genrecast.heartbeat",
                                                        "genrecast.status."]


def test_run_help_keeps_the_configuration_tables() -> None:
    """Rich markup took "[mqtt]" and "[web]" for tags and dropped them from the help."""
    proc = gc("run", "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "[mqtt] table" in text and "[web] token_file" in text, proc.stdout
