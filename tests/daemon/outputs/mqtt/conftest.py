"""A private mosquitto broker per test (not started: each test starts and restarts it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import Mosquitto

USERS = {"genrecast": "daemon-pw", "ha": "home-assistant-pw"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    folder = tmp_path / "broker"
    folder.mkdir()
    server = Mosquitto(folder, USERS)
    try:
        yield server
    finally:
        server.stop()
