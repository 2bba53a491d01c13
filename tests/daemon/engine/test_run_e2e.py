"""``genrecast run`` as a real process, a subscriber in another process, real sockets."""

from __future__ import annotations

import functools
import http.server
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from tests.support.common import Subscriber, genrecast_cmd, low_high

pytestmark = pytest.mark.slow


def isolated_env() -> dict[str, str]:
    """A private runtime directory: default sockets (control, events) of concurrent daemons and
    test runs never collide."""
    return dict(os.environ, XDG_RUNTIME_DIR=tempfile.mkdtemp(prefix="genrecast-test-"))


def daemon_cmd(model: Path, endpoint: str, *sources: str, extra: tuple[str, ...] = ()
               ) -> list[str]:
    cmd = genrecast_cmd("run", "--model", str(model), "--publish", endpoint,
                        "--startup-grace", "0.5", *extra)
    for s in sources:
        cmd += ["--source", s]
    return cmd


def run_cmd(model: Path, endpoint: str, *sources: str, extra: tuple[str, ...] = (),
            stdin: bytes | None = None, timeout: float = 90) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(daemon_cmd(model, endpoint, *sources, extra=extra), input=stdin,
                          capture_output=True, timeout=timeout, check=False, env=isolated_env())


STARTUP_LIMIT_S = 60.0


def run_then_stop(cmd: list[str], seconds: float) -> tuple[int, str]:
    """Start a daemon, let it run ``seconds`` after its startup line (model loaded, endpoint
    bound, sources opened: a busy machine may take a while to get there), stop it with SIGTERM
    (as systemd does): (exit code, stderr)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=isolated_env())
    assert proc.stderr is not None
    head: list[str] = []
    started = threading.Event()

    def read_until_started() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            head.append(line)
            if line.startswith("genrecast: "):
                break
        started.set()

    reader = threading.Thread(target=read_until_started, daemon=True)
    reader.start()
    assert started.wait(STARTUP_LIMIT_S), f"no startup line within {STARTUP_LIMIT_S} s: {head}"
    reader.join()
    time.sleep(seconds)
    proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    assert time.monotonic() - t0 < 3.0, "SIGTERM must stop the daemon within 2 s"
    return proc.returncode, "".join(head) + err


def validate_all(events: list[dict[str, Any]], schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    for event in events:
        validator.validate(event)


def genres(events: list[dict[str, Any]], source: str | None = None) -> list[str]:
    return [e["genre"] for e in events
            if e["kind"] == "genre" and (source is None or e["source"] == source)]


def states(events: list[dict[str, Any]], source: str) -> list[str]:
    return [e["state"] for e in events if e["kind"] == "status" and e["source"] == source]


def test_file_source_events_reach_a_subscriber_and_match_the_schema(
        tone_model: Path, low_high_ogg: Path, free_tcp_endpoint: str,
        event_schema: dict[str, Any]) -> None:
    sub = Subscriber(free_tcp_endpoint, "prediction", "genre", "status", "heartbeat")
    proc = run_cmd(tone_model, free_tcp_endpoint, f"tones=file:{low_high_ogg}",
                   extra=("--fast", "--heartbeat", "0.05"))
    assert proc.returncode == 0, proc.stderr.decode()
    events = sub.stop()
    validate_all(events, event_schema)
    assert genres(events, "tones") == ["low", "high"]
    change = [e for e in events if e["kind"] == "genre"][1]
    assert change["previous"] == "low" and 10 < change["at_s"] <= 15
    assert 5 < change["previous_duration_s"] < 13
    preds = [e for e in events if e["kind"] == "prediction"]
    assert [p["seq"] for p in preds] == list(range(len(preds)))  # nothing dropped
    assert len(preds) == 35  # (20 s - 3 s) / 0.5 s + 1
    assert preds[0]["start_s"] == 0.0 and preds[0]["end_s"] == 3.0
    assert states(events, "tones")[-1] == "stopped"
    assert "running" in states(events, "tones")
    assert any(e["kind"] == "heartbeat" for e in events)


def test_stdin_source(tone_model: Path, free_tcp_endpoint: str,
                      event_schema: dict[str, Any]) -> None:
    pcm = (low_high(16_000, 1) * 32767).astype("<i2").tobytes()
    sub = Subscriber(free_tcp_endpoint, "genre", "status")
    proc = run_cmd(tone_model, free_tcp_endpoint, "mic2=stdin",
                   extra=("--format", "s16le", "--rate", "16000", "--channels", "1"), stdin=pcm)
    assert proc.returncode == 0, proc.stderr.decode()
    events = sub.stop()
    validate_all(events, event_schema)
    assert genres(events) == ["low", "high"]
    assert states(events, "mic2")[-1] == "stopped"


def test_stdin_f32_stereo(tone_model: Path, free_tcp_endpoint: str) -> None:
    pcm = low_high(22_050, 2).astype("<f4").tobytes()
    sub = Subscriber(free_tcp_endpoint, "genre")
    proc = run_cmd(tone_model, free_tcp_endpoint, "stdin",
                   extra=("--format", "f32le", "--rate", "22050", "--channels", "2"), stdin=pcm)
    assert proc.returncode == 0, proc.stderr.decode()
    assert genres(sub.stop()) == ["low", "high"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def http_server(low_high_ogg: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(low_high_ogg.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_source_through_ffmpeg(tone_model: Path, http_server: str, low_high_ogg: Path,
                                   free_tcp_endpoint: str, event_schema: dict[str, Any]) -> None:
    """ffmpeg reads an ogg file from a local HTTP server; when the stream ends the daemon treats
    it as a dropped stream and reconnects (a radio does not end)."""
    sub = Subscriber(free_tcp_endpoint, "genre", "status")
    code, err = run_then_stop(
        daemon_cmd(tone_model, free_tcp_endpoint, f"radio=url:{http_server}/{low_high_ogg.name}"),
        7.0)
    assert code == 0, err
    events = sub.stop()
    validate_all(events, event_schema)
    assert genres(events, "radio")[:2] == ["low", "high"]
    status = [e for e in events if e["kind"] == "status"]
    assert status[1]["state"] == "running" and status[1]["rate_hz"] == 48_000
    lost = [e for e in status if e["state"] == "lost"]
    assert lost and "stream ended" in lost[0]["detail"]
    assert "recovering" in states(events, "radio")
    assert status[-1]["state"] == "stopped"


def test_failing_source_is_retried_while_another_runs(
        tone_model: Path, low_high_ogg: Path, free_tcp_endpoint: str,
        event_schema: dict[str, Any]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    sub = Subscriber(free_tcp_endpoint, "genre", "status")
    code, err = run_then_stop(
        daemon_cmd(tone_model, free_tcp_endpoint, f"tones=file:{low_high_ogg}",
                   f"radio=url:http://127.0.0.1:{dead}/stream.ogg", extra=("--fast",)), 9.0)
    assert code == 0, err
    assert "Traceback" not in err
    events = sub.stop()
    validate_all(events, event_schema)
    assert genres(events, "tones") == ["low", "high"]
    assert states(events, "tones")[-1] == "stopped"
    radio = states(events, "radio")
    assert radio[:2] == ["starting", "lost"]
    assert radio.count("recovering") >= 2  # retried with backoff (1 s, 2 s, 4 s ...)
    assert radio[-1] == "stopped"


def test_stuck_subscriber_never_slows_the_daemon(tone_model: Path, low_high_ogg: Path,
                                                 tmp_path: Path) -> None:
    """A subscriber that connects and never reads: the daemon keeps its pace, drops are counted."""
    import zmq

    endpoint = f"ipc://{tmp_path}/events.sock"
    ctx = zmq.Context()
    stuck = ctx.socket(zmq.SUB)
    stuck.setsockopt(zmq.RCVHWM, 1)
    stuck.setsockopt(zmq.RCVBUF, 4096)
    stuck.setsockopt_string(zmq.SUBSCRIBE, "")
    stuck.connect(endpoint)
    try:
        code, err = run_then_stop(
            daemon_cmd(tone_model, endpoint, f"a=file:{low_high_ogg}", f"b=file:{low_high_ogg}",
                       extra=("--fast", "--loop", "--hwm", "10")), 6.0)
    finally:
        stuck.close(linger=0)
        ctx.term()
    assert code == 0, err
    match = re.search(r"stopped: (\d+) windows classified, (\d+) events published, (\d+) dropped",
                      err)
    assert match, err
    windows, published, dropped = map(int, match.groups())
    assert windows > 100, "the daemon kept classifying while the subscriber was stuck"
    assert dropped > 0 and published > 0


def test_bad_inputs_give_one_line_and_an_exit_code(tone_model: Path, tmp_path: Path,
                                                   free_tcp_endpoint: str) -> None:
    bad_audio = tmp_path / "bad.ogg"
    bad_audio.write_bytes(b"this is not audio" * 100)
    no_card = tmp_path / "nocard.tflite"
    no_card.write_bytes(tone_model.read_bytes())
    wrong_card = tmp_path / "wrong.tflite"
    wrong_card.write_bytes(tone_model.read_bytes() + b"\0")
    wrong_card.with_suffix(".json").write_text(tone_model.with_suffix(".json").read_text())
    cases: list[tuple[list[str], bytes | None, int, str]] = [
        (["--source", "file:/nonexistent/song.ogg"], None, 66, "does not exist"),
        (["--source", f"file:{bad_audio}"], None, 65, "cannot decode"),
        (["--source", "mic:no-such-device-xyz"], None, 66, "no input device"),
        (["--source", "url:http://127.0.0.1:9/x.ogg"], None, 66, "cannot be opened"),
        (["--source", "stdin", "--format", "s16le", "--channels", "2"], b"\x01\x02\x03" * 1001,
         65, "not a whole number"),
        (["--source", "stdin", "--format", "f32le"],
         np.array([0.1, np.nan] * 8000, dtype="<f4").tobytes(), 65, "NaN"),
        (["--source", "stdin", "--model", str(no_card)], b"", 76, "no card"),
        (["--source", "stdin", "--model", str(wrong_card)], b"", 76, "does not match its card"),
        (["--source", "bogus:thing"], None, 78, "unknown kind"),
        (["--source", "stdin", "--format", "u8"], b"", 78, "--format"),
    ]
    for args, stdin, code, words in cases:
        cmd = genrecast_cmd("run", "--publish", free_tcp_endpoint, *args)
        if "--model" not in args:
            cmd += ["--model", str(tone_model)]
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60, check=False,
                              env=isolated_env())
        err = proc.stderr.decode()
        lines = [x for x in err.splitlines() if x.startswith("error:")]
        assert proc.returncode == code, (args, proc.returncode, err)
        assert len(lines) == 1 and words in lines[0], (args, err)
        assert "Traceback" not in err, err


def test_endpoint_in_use_is_refused(tone_model: Path, low_high_ogg: Path, tmp_path: Path,
                                    free_tcp_endpoint: str) -> None:
    ipc = f"ipc://{tmp_path}/events.sock"
    for endpoint in (free_tcp_endpoint, ipc):
        first = subprocess.Popen(
            genrecast_cmd("run", "--model", str(tone_model), "--publish", endpoint, "--source",
                          f"file:{low_high_ogg}", "--loop"),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=isolated_env())
        try:
            assert first.stderr is not None
            banner = first.stderr.readline()  # printed once the endpoint is bound
            assert b"events on" in banner, banner
            sub = Subscriber(endpoint, "status", seconds=30)  # proves the first one serves
            proc = run_cmd(tone_model, endpoint, f"file:{low_high_ogg}", timeout=30)
            assert proc.returncode == 69, proc.stderr.decode()
            err = proc.stderr.decode()
            assert "error:" in err and "Traceback" not in err
            assert "in use" in err or "served by another" in err, err
            assert first.poll() is None, "the first daemon must keep running"
        finally:
            first.terminate()
            _, first_err = first.communicate(timeout=10)
        assert first.returncode == 0, first_err.decode()
        time.sleep(0.5)
        events = sub.stop()
        assert states_any(events)[-1] == "stopped"  # final status on SIGTERM


def states_any(events: list[dict[str, Any]]) -> list[str]:
    return [e["state"] for e in events if e["kind"] == "status"]
