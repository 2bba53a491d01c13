"""Two clients with one client id: the broker hands the session to the newest each time (and
mosquitto 2.0 says nothing but closing the socket); the daemon says "another client took over
this id" and waits longer before each reconnect (2, 4, 8 s...) instead of taking the session
back every second."""

from __future__ import annotations

import re
import threading
import time

import paho.mqtt.client as paho
import pytest
from genrecast.daemon.outputs.mqtt.connection import CONNECTED, DISCONNECTED, Connection
from genrecast.daemon.outputs.mqtt.topics import Topics
from genrecast.daemon.settings import MqttSettings
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.mosquitto import Mosquitto

CLIENT_ID = "genrecast-shared"


@pytest.mark.slow
def test_takeover_is_named_and_the_backoff_grows(broker: Mosquitto) -> None:
    broker.start()
    settings = MqttSettings(url=broker.url, username="genrecast", password="daemon-pw")
    reports: list[tuple[float, str, str]] = []
    lock = threading.Lock()

    def report(state: str, detail: str) -> None:
        with lock:
            reports.append((time.monotonic(), state, detail))

    ours = Connection(settings, Topics("genrecast", "", CLIENT_ID), report,
                      lambda *_: None, CLIENT_ID)
    # The other one reconnects one second after each time it is dropped, like a second daemon
    # whose backoff never grows (this one speaks MQTT 3.1.1: it is simply disconnected).
    other = paho.Client(CallbackAPIVersion.VERSION2, client_id=CLIENT_ID)
    other.username_pw_set("ha", broker.users["ha"])
    other.reconnect_delay_set(1, 1)
    ours.start()
    try:
        deadline = time.monotonic() + 10
        while not ours.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ours.connected
        other.connect_async("127.0.0.1", broker.port)
        other.loop_start()
        time.sleep(14.0)
    finally:
        other.disconnect()
        other.loop_stop()
        ours.close([])
    with lock:
        taken = [(t, d) for t, s, d in reports if s == DISCONNECTED]
        connects = [t for t, s, _ in reports if s == CONNECTED]
    # The first drop could be anything (a broker restarting); the second in a row is named.
    assert "lost the connection" in taken[0][1]
    named = [d for _, d in taken[1:]]
    assert named and all("another client took over this id (genrecast-shared)" in d
                         for d in named), taken
    delays = [int(m.group(1)) for d in named if (m := re.search(r"reconnecting in (\d+) s", d))]
    assert delays[:3] == [2, 4, 8], delays
    # Without the growing backoff it took the session back every ~2 s (7 times in 14 s).
    assert len(taken) <= 5, taken
    gaps = [b - a for a, b in zip(connects[1:], connects[2:], strict=False)]
    assert gaps == sorted(gaps), gaps
