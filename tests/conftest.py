"""Fixtures shared by every test folder: the tiny real model, tone recordings, the event schema, a
free loopback endpoint and a private PulseAudio server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from tests.support.common import DATA, SCHEMA_PATH, low_high
from tests.support.pulse import PrivatePulse


@pytest.fixture(scope="session")
def tone_model() -> Path:
    return DATA / "tone.tflite"


@pytest.fixture(scope="session")
def low_high_ogg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "low_high.ogg"
    sf.write(path, low_high(44_100, 2), 44_100, format="OGG", subtype="VORBIS")
    return path


@pytest.fixture(scope="session")
def low_high_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "low_high.wav"
    sf.write(path, low_high(48_000, 2), 48_000, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def event_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@pytest.fixture
def free_tcp_endpoint() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def pulse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private PulseAudio server for the session; yields the environment a client needs
    (HOME with an .asoundrc, XDG_RUNTIME_DIR, PULSE_SERVER). Fails, never skips, when it cannot
    start."""
    server = PrivatePulse(tmp_path_factory.mktemp("pulse"))
    server.start()
    try:
        yield server.env
    finally:
        server.stop()
