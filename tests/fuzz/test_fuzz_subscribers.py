"""Event subscribers sending garbage: random subscription frames, messages a SUB should never
send, raw bytes on the TCP port. The publisher keeps publishing without blocking or dropping,
and a well-behaved subscriber still receives every event, in order."""

from __future__ import annotations

import socket
import time

import numpy as np
import zmq
from genrecast.daemon.settings import PublishSettings
from genrecast.daemon.wire.events import decode
from genrecast.daemon.wire.publisher import Publisher

from .conftest import budget

EVENTS_PER_ROUND = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_publisher_survives_garbage_subscribers(fuzz_count) -> None:  # type: ignore[no-untyped-def]
    ctx = zmq.Context()
    port = _free_port()
    pub = Publisher(PublishSettings(endpoint=f"tcp://127.0.0.1:{port}"), context=ctx)
    good = ctx.socket(zmq.SUB)
    good.linger = 0
    good.setsockopt(zmq.SUBSCRIBE, b"genrecast.prediction.")
    good.connect(f"tcp://127.0.0.1:{port}")
    rng = np.random.default_rng(12)
    seq = 0
    received: list[int] = []
    try:
        time.sleep(0.3)  # the good subscriber's subscription reaches the publisher
        for case in range(budget(120)):
            kind = case % 3
            if kind == 0:  # XSUB: raw subscription frames of any content (\x01 / \x00 / other)
                bad = ctx.socket(zmq.XSUB)
                bad.connect(f"tcp://127.0.0.1:{port}")
                for _ in range(int(rng.integers(1, 6))):
                    bad.send(bytes(rng.integers(0, 256, int(rng.integers(0, 40)),
                                                dtype=np.uint8)))
            elif kind == 1:  # a SUB that subscribes to everything, then unsubscribes garbage
                bad = ctx.socket(zmq.SUB)
                bad.connect(f"tcp://127.0.0.1:{port}")
                bad.setsockopt(zmq.SUBSCRIBE, b"")
                bad.setsockopt(zmq.UNSUBSCRIBE, bytes(rng.integers(0, 256, 8, dtype=np.uint8)))
            else:  # a wrong socket type (the handshake refuses it)
                bad = ctx.socket(zmq.DEALER)
                bad.connect(f"tcp://127.0.0.1:{port}")
                bad.send(b"hello")
            for _ in range(EVENTS_PER_ROUND):
                event = {"kind": "prediction", "source": "room", "seq": seq}
                assert pub.send("genrecast.prediction.room", event), "publisher dropped an event"
                seq += 1
            bad.close(linger=0)
            while good.poll(0):
                received.append(decode(good.recv())[1]["seq"])
            fuzz_count()
        deadline = time.monotonic() + 10
        while len(received) < seq and time.monotonic() < deadline:
            if good.poll(100):
                received.append(decode(good.recv())[1]["seq"])
        assert received == list(range(seq)), f"got {len(received)} of {seq} events"
        assert pub.dropped == 0
    finally:
        good.close()
        pub.close()
        ctx.term()
