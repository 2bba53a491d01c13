"""A crafted ICY server: serves one body (audio with hand-made metadata blocks, good or malformed)
to every GET, for what a real Icecast never sends (malformed or oversized blocks)."""

from __future__ import annotations

import socket
import threading

METAINT = 4000


def icy_block(text: bytes) -> bytes:
    size = -(-len(text) // 16)
    return bytes([size]) + text.ljust(size * 16, b"\0")


class OneShotServer:
    """Serves ``body`` with ``headers`` (and ``status``: code and reason phrase) to every GET;
    the connection then stays open."""

    def __init__(self, headers: str, body: bytes, status: str = "200 OK") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.head = f"HTTP/1.0 {status}\r\n{headers}\r\n".encode()
        self.body = body
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            try:
                conn.sendall(self.head + self.body)
            except OSError:  # the reader gave up or was closed
                continue

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def with_icy(audio: bytes, blocks: list[bytes]) -> bytes:
    out = b""
    for i in range(0, len(audio), METAINT):
        out += audio[i:i + METAINT]
        if len(audio[i:i + METAINT]) == METAINT:
            out += blocks[(i // METAINT) % len(blocks)]
    return out
