"""Fault scenarios on the running daemon: the sound server killed and restarted, an HTTP stream
server stopped and restarted. The daemon process must survive and recover by itself."""

from __future__ import annotations

import signal
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from .daemon_proc import TONE_MODEL, DaemonProc, Listener, wait_for
from .pulse import PrivatePulse

OUTAGE_S = 5.0


def _states(listener: Listener, source: str) -> list[str]:
    return [e["state"] for e in listener.of("status", source)]


@pytest.mark.slow
def test_pulseaudio_killed_and_restarted(tmp_path: Path) -> None:
    pulse = PrivatePulse(tmp_path / "pulse")
    pulse.start()
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "room"
kind = "mic"
[publish]
endpoint = "ipc://{tmp_path}/events.sock"
[control]
endpoint = "off"
""")
    daemon = DaemonProc(tmp_path, config, env=pulse.env)
    listener = None
    try:
        daemon.wait_ready()
        pid = daemon.proc.pid
        listener = Listener(f"ipc://{tmp_path}/events.sock", "status", "prediction")
        wait_for(lambda: listener.of("prediction", "room"), 15, "predictions before the kill")

        pulse.kill()
        killed_at = time.monotonic()
        wait_for(lambda: {"stalled", "lost"} & set(_states(listener, "room")), 10,
                 f"stalled/lost after the sound server died: {_states(listener, 'room')}")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed_at)))
        assert daemon.proc.poll() is None, f"daemon exited: {daemon.stderr()[-2000:]}"
        quiet = [t for t in daemon.notify.times_of("WATCHDOG=1") if t > killed_at + 2.6]
        assert quiet == [], "WATCHDOG=1 while no audio arrived"

        pulse.start()
        restarted_at = time.monotonic()
        n_before = len(listener.of("prediction", "room"))
        wait_for(lambda: _states(listener, "room")[-1:] == ["running"]
                 and "recovering" in _states(listener, "room"), 45,
                 f"running again after the restart: {_states(listener, 'room')}")
        wait_for(lambda: len(listener.of("prediction", "room")) > n_before + 2, 15,
                 "predictions after recovery")
        wait_for(lambda: any(t > restarted_at for t in daemon.notify.times_of("WATCHDOG=1")),
                 10, "WATCHDOG=1 after recovery")
        assert daemon.proc.poll() is None and daemon.proc.pid == pid
        states = _states(listener, "room")
        assert states[-1] == "running" and states.index("lost") < states.index("recovering"), states

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0, daemon.stderr()[-2000:]
    finally:
        daemon.close()
        if listener is not None:
            listener.close()
        pulse.kill()


class StreamServer:
    """An endless WAV "radio" over HTTP on a fixed port, paced in real time; stoppable."""

    RATE_HZ = 16_000
    CHUNK_S = 0.05

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.stop_event = threading.Event()

    def start(self) -> None:
        stop = self.stop_event = threading.Event()
        rate, chunk_s = self.RATE_HZ, self.CHUNK_S
        t = np.arange(int(rate * chunk_s)) / rate
        chunk = (0.3 * 32767 * np.sin(2 * np.pi * 150 * t)).astype("<i2").tobytes()
        header = (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt "
                  + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
                  + b"data" + struct.pack("<I", 0xFFFFFFFF))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "audio/wav")
                self.end_headers()
                try:
                    self.wfile.write(header)
                    next_t = time.monotonic()
                    while not stop.is_set():
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        next_t += chunk_s
                        time.sleep(max(0.0, next_t - time.monotonic()))
                    # The radio drops like a broken network path (a reset, not a clean end of
                    # the response: a clean end is what a finite file does).
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.stop_event.set()  # open responses end: the radio drops
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.mark.slow
def test_http_stream_server_stopped_and_restarted(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    radio = StreamServer(port)
    radio.start()
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "radio"
kind = "url"
target = "http://127.0.0.1:{port}/stream.wav"
[publish]
endpoint = "ipc://{tmp_path}/events.sock"
[control]
endpoint = "off"
""")
    daemon = DaemonProc(tmp_path, config)
    listener = None
    try:
        daemon.wait_ready()
        pid = daemon.proc.pid
        listener = Listener(f"ipc://{tmp_path}/events.sock", "status", "prediction")
        wait_for(lambda: listener.of("prediction", "radio"), 15, "predictions before the drop")

        radio.stop()
        wait_for(lambda: {"stalled", "lost"} & set(_states(listener, "radio")), 15,
                 f"stalled/lost after the stream dropped: {_states(listener, 'radio')}")
        time.sleep(OUTAGE_S)
        assert daemon.proc.poll() is None, f"daemon exited: {daemon.stderr()[-2000:]}"

        radio.start()
        n_before = len(listener.of("prediction", "radio"))
        try:
            wait_for(lambda: _states(listener, "radio")[-1:] == ["running"], 45,
                     "running again after the server came back")
        except AssertionError as exc:
            details = [(e["state"], e["detail"]) for e in listener.of("status", "radio")]
            raise AssertionError(f"{exc}: {details}; daemon: {daemon.stderr()[-3000:]}") from None
        wait_for(lambda: len(listener.of("prediction", "radio")) > n_before + 2, 15,
                 "predictions after reconnecting")
        assert daemon.proc.poll() is None and daemon.proc.pid == pid
        assert "stopped" not in _states(listener, "radio"), _states(listener, "radio")

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0, daemon.stderr()[-2000:]
    finally:
        daemon.close()
        if listener is not None:
            listener.close()
        radio.stop()
