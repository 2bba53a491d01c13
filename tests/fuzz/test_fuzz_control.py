"""Control-socket requests from anywhere: any bytes give one JSON reply, ok or a one-line error.

In-process (``handle_request``, the function the server thread calls) for the bulk of the cases,
then through the real ZeroMQ control socket fed malformed frames (DEALER: odd envelopes, multipart,
empty, huge): the server keeps answering proper requests afterwards.
"""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

import numpy as np
import zmq
from genrecast.daemon.errors import UserError
from genrecast.daemon.service.control import COMMANDS, ControlServer, handle_request, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import budget
from .mutate import mutate


def _handlers() -> dict[str, Any]:
    def pause(source: str) -> dict[str, Any]:
        if source != "living":
            raise UserError(f"no source named {source!r}; sources: living")
        return {"paused": source}

    def broken() -> dict[str, Any]:
        raise RuntimeError("a bug in a handler")

    return {"status": lambda: {"sources": {"living": "running"}}, "pause": pause,
            "resume": pause, "reload": broken}


def _check_reply(reply: Any) -> None:
    assert isinstance(reply, dict) and isinstance(reply.get("ok"), bool)
    json.dumps(reply, allow_nan=False)  # what the server sends must encode
    if not reply["ok"]:
        assert isinstance(reply["error"], str) and "\n" not in reply["error"]


SEEDS = [json.dumps(r).encode() for r in (
    {"command": "status"}, {"command": "pause", "source": "living"},
    {"command": "resume", "source": "kitchen"}, {"command": "reload"}, {"command": "snapshot"})]


def test_mutated_requests(fuzz_count) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    handlers = _handlers()
    for i in range(budget(20_000)):
        _check_reply(handle_request(handlers, mutate(SEEDS[i % len(SEEDS)], rng, rounds=3)))
        fuzz_count()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=8)


@settings(max_examples=budget(300), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from([*COMMANDS, "", "STATUS", "shutdown"]) | json_values,
       source=json_values, extra=st.dictionaries(st.text(max_size=6), json_values, max_size=2))
def test_structured_requests(command: Any, source: Any, extra: dict[str, Any],
                             fuzz_count) -> None:  # type: ignore[no-untyped-def]
    fuzz_count()
    body = {**extra, "command": command, "source": source}
    _check_reply(handle_request(_handlers(), json.dumps(body).encode()))


def test_real_socket_survives_garbage(fuzz_count) -> None:  # type: ignore[no-untyped-def]
    ctx = zmq.Context()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = f"tcp://127.0.0.1:{port}"
    server = ControlServer(ctx, endpoint, _handlers()).start()
    rng = np.random.default_rng(4)
    try:
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.connect(endpoint)
        answered = 0
        for case in range(budget(200)):
            n_frames = int(rng.integers(1, 4))
            frames = [bytes(rng.integers(0, 256, int(rng.integers(0, 64)), dtype=np.uint8))
                      for _ in range(n_frames)]
            if case % 3 == 0:
                frames = [b"", *frames]  # a proper REQ envelope around garbage
            if case % 50 == 0:
                frames.append(b"x" * 1_000_000)
            dealer.send_multipart(frames)
            if frames[0] == b"" and dealer.poll(2000):
                reply = dealer.recv_multipart()
                _check_reply(json.loads(reply[-1]))
                answered += 1
            fuzz_count()
        assert answered > 0
        # Raw non-ZeroMQ bytes on the TCP port, some clients vanishing mid-handshake.
        for case in range(budget(40)):
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                raw.sendall(bytes(rng.integers(0, 256, int(rng.integers(1, 300)), dtype=np.uint8)))
                if case % 2:
                    raw.settimeout(0.05)
                    with contextlib.suppress(OSError):
                        raw.recv(64)
            fuzz_count()
        # A garbage client that vanishes with replies unread must not make the socket deaf.
        dealer.close()
        # Still serving proper clients.
        reply = request(endpoint, "status", context=ctx)
        assert reply == {"ok": True, "sources": {"living": "running"}}, reply
        reply = request(endpoint, "pause", source="nope", context=ctx)
        assert reply["ok"] is False and "nope" in reply["error"]
    finally:
        server.stop()
        ctx.term()
