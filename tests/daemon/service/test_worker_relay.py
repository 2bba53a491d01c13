"""The parent's relay with ``[engine] workers = N``: its own one-time events (the MQTT
connection's ``connected``) wait until the daemon is ready, as a one-process daemon's wait for
its loop, so a subscriber started with the daemon receives them (ZeroMQ drops what is sent
before a subscriber joined)."""

from __future__ import annotations

import time
from pathlib import Path

import zmq
from genrecast.daemon.service.worker_relay import HEARTBEAT_TOPIC, Relay
from genrecast.daemon.settings import PublishSettings
from genrecast.daemon.wire.events import HEARTBEAT_SOURCE, EventFactory, encode

from tests.support.daemon_proc import Listener, wait_for


def test_own_status_posted_before_ready_reaches_a_subscriber_that_joins_later(
        tmp_path: Path) -> None:
    worker_endpoint = f"ipc://{tmp_path}/w0.events"
    endpoint = f"ipc://{tmp_path}/events.sock"
    relay = Relay(PublishSettings(endpoint=endpoint, heartbeat_s=0.2),
                  {0: worker_endpoint}).start()
    ctx = zmq.Context()
    worker = ctx.socket(zmq.PUB)
    worker.linger = 0
    worker.bind(worker_endpoint)
    listener = None
    try:
        # MQTT connected while the workers were starting (the parent loads no model).
        relay.post("status", "*", state="running", previous_state="running",
                   detail="mqtt: connected", spec="mqtt", backend="cpu")
        time.sleep(0.3)  # before the gate, the relay had sent it by now, to nobody
        listener = Listener(endpoint, "status", "heartbeat")
        beat = EventFactory("m").make("heartbeat", HEARTBEAT_SOURCE, time.time(), sources={})
        assert beat[0].encode() == HEARTBEAT_TOPIC

        def subscribed() -> bool:  # the merged heartbeat reaches it: it has joined
            worker.send(encode(*beat))
            return bool(listener.of("heartbeat"))

        wait_for(subscribed, 30, "the subscriber to join", interval_s=0.1)
        assert listener.of("status") == [], "the status went out before the daemon was ready"
        relay.open()  # every worker is ready
        wait_for(lambda: listener.of("status", "*"), 5, "the mqtt status event")
        assert listener.of("status", "*")[0]["spec"] == "mqtt"
    finally:
        if listener is not None:
            listener.close()
        worker.close()
        relay.stop()
        ctx.term()


def test_a_relay_stopped_before_it_started(tmp_path: Path) -> None:
    """A signal between binding the endpoint and starting the relay: a clean stop."""
    relay = Relay(PublishSettings(endpoint=f"ipc://{tmp_path}/events.sock"),
                  {0: f"ipc://{tmp_path}/w0.events"})
    relay.stop()
    assert not (tmp_path / "events.sock").exists()
