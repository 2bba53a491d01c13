"""An endless mono WAV "radio" over HTTP for the recovery and fault tests (and the soak):
paced in real time, stallable and stoppable like a real internet stream."""

from __future__ import annotations

import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tone_s16(freq_hz: float, seconds: float, rate_hz: int, level: float = 0.3) -> bytes:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return (level * 32767 * np.sin(2 * np.pi * freq_hz * t)).astype("<i2").tobytes()


class Radio:
    """An endless mono WAV stream over HTTP, paced in real time. ``stall()``: connections stay
    open and accepted but nothing is sent; ``stop()``: the server goes away (connections reset)."""

    RATE_HZ = 16_000
    CHUNK_S = 0.05

    def __init__(self, port: int, freq_hz: float = 150.0) -> None:
        self.port = port
        self.freq_hz = freq_hz
        self.server: ThreadingHTTPServer | None = None
        self.stop_event = threading.Event()
        self.stalled = threading.Event()

    def start(self) -> None:
        stop = self.stop_event = threading.Event()
        stalled = self.stalled
        chunk_s = self.CHUNK_S
        chunk = tone_s16(self.freq_hz, chunk_s, self.RATE_HZ)
        rate = self.RATE_HZ
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
                        if stalled.is_set():  # accepting, connected, silent
                            stop.wait(chunk_s)
                            next_t = time.monotonic()
                            continue
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        next_t += chunk_s
                        time.sleep(max(0.0, next_t - time.monotonic()))
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

    def stall(self) -> None:
        self.stalled.set()

    def unstall(self) -> None:
        self.stalled.clear()

    def stop(self) -> None:
        self.stop_event.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
