"""The ICY reader against a tiny HTTP server that sends crafted metadata blocks."""

from __future__ import annotations

import socket
import threading

import pytest
from genrecast.daemon.audio.sources.icy import IcyMeta, IcyStream, StreamError, parse_block

METAINT = 1000


def block(text: bytes) -> bytes:
    size = -(-len(text) // 16)
    return bytes([size]) + text.ljust(size * 16, b"\0")


def test_parse_block() -> None:
    assert parse_block(b"StreamTitle='A - B';StreamUrl='http://x/';\0\0") == IcyMeta(
        "A - B", "http://x/")
    assert parse_block(b"StreamTitle='It''s';") is not None  # odd quoting still parses
    assert parse_block("StreamTitle='Café';".encode("latin-1")) == IcyMeta("Café", "")
    assert parse_block(b"\0" * 32) is None
    assert parse_block(b"garbage without fields") is None
    assert parse_block(b"StreamTitle='" + b"x" * 2000 + b"';") is None  # oversized title
    assert parse_block(b"StreamTitle='a\x01b';") is None  # control characters


class CraftedRadio:
    """Answers one GET with ``icy-metaint`` and the given audio/metadata byte stream."""

    def __init__(self, body: bytes, metaint: int | None = METAINT) -> None:
        self.body = body
        self.metaint = metaint
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.request = b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with self.sock:
            conn, _ = self.sock.accept()
        with conn:
            while b"\r\n\r\n" not in self.request:
                self.request += conn.recv(4096)
            head = b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n"
            if self.metaint is not None:
                head += f"icy-metaint: {self.metaint}\r\n".encode()
            conn.sendall(head + b"\r\n" + self.body)


def read_all(stream: IcyStream) -> bytes:
    out = b""
    while data := stream.read(700):
        out += data
    return out


def test_blocks_are_stripped_parsed_and_bad_ones_counted() -> None:
    titles: list[IcyMeta] = []
    audio = [bytes([i]) * METAINT for i in range(6)]
    metas = [block(b"StreamTitle='One';"), b"\0",  # 0: "no change"
             block(b"no title here"),  # malformed
             block(b"StreamTitle='" + b"y" * 1500 + b"';"),  # oversized title
             block(b"StreamTitle='Two';StreamUrl='http://s/';")]
    body = b"".join(a + m for a, m in zip(audio, metas, strict=False)) + audio[5]
    radio = CraftedRadio(body)
    stream = IcyStream(f"http://127.0.0.1:{radio.port}/m", on_meta=titles.append)
    stream.connect()
    assert stream.metaint == METAINT and stream.content_type == "audio/mpeg"
    assert read_all(stream) == b"".join(audio), "metadata must never reach the decoder"
    assert titles == [IcyMeta("One", ""), IcyMeta("Two", "http://s/")]
    assert stream.malformed_blocks == 2
    assert b"Icy-MetaData: 1" in radio.request
    stream.close()


def test_a_block_cut_short_ends_the_stream_without_a_crash() -> None:
    titles: list[IcyMeta] = []
    radio = CraftedRadio(b"a" * METAINT + bytes([200]) + b"StreamTitle='cut")  # 3200 promised
    stream = IcyStream(f"http://127.0.0.1:{radio.port}/m", on_meta=titles.append)
    stream.connect()
    assert read_all(stream) == b"a" * METAINT
    assert titles == []
    stream.close()


def test_a_station_without_metadata() -> None:
    titles: list[IcyMeta] = []
    radio = CraftedRadio(b"z" * 5000, metaint=None)
    stream = IcyStream(f"http://127.0.0.1:{radio.port}/m", on_meta=titles.append)
    stream.connect()
    assert stream.metaint == 0
    assert read_all(stream) == b"z" * 5000
    assert titles == [] and stream.malformed_blocks == 0
    stream.close()


def test_refused_connection_names_the_reason() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StreamError, match="refused"):
        IcyStream(f"http://127.0.0.1:{port}/m").connect()


class MetaintOneRadio:
    """Honours ``Icy-MetaData`` like Icecast, but with ``icy-metaint: 1``: a (empty) metadata
    block after every audio byte. Answers two requests; records them."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with self.sock:
            for _ in range(2):
                conn, _ = self.sock.accept()
                with conn:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        request += conn.recv(4096)
                    self.requests.append(request)
                    head = b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n"
                    body = self.audio
                    if b"Icy-MetaData: 1" in request:
                        head += b"icy-metaint: 1\r\n"
                        body = b"".join(bytes([b]) + b"\0" for b in self.audio)
                    conn.sendall(head + b"\r\n" + body)


def test_an_absurd_metaint_is_refused_and_the_stream_read_without_titles() -> None:
    audio = bytes(range(256)) * 64
    radio = MetaintOneRadio(audio)
    stream = IcyStream(f"http://127.0.0.1:{radio.port}/m")
    stream.connect()
    try:
        assert stream.metaint == 0 and stream.meta_blocks == 0
        assert read_all(stream) == audio  # every byte audio, none lost
        assert len(radio.requests) == 2 and b"Icy-MetaData" not in radio.requests[1]
    finally:
        stream.close()


def test_a_redirect_to_another_scheme_is_not_followed() -> None:
    """``ftp://host/`` used to become a plain GET to ``host:80``."""
    target = socket.socket()  # where the redirect would lead as plain HTTP: nobody may come
    target.bind(("127.0.0.1", 0))
    target.listen(1)
    target.settimeout(0.5)
    port = target.getsockname()[1]
    redirector = socket.socket()
    redirector.bind(("127.0.0.1", 0))
    redirector.listen(1)

    def answer() -> None:
        conn, _ = redirector.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(f"HTTP/1.0 302 Found\r\nLocation: ftp://127.0.0.1:{port}/x\r\n\r\n"
                         .encode())

    threading.Thread(target=answer, daemon=True).start()
    stream = IcyStream(f"http://127.0.0.1:{redirector.getsockname()[1]}/m")
    try:
        with pytest.raises(StreamError, match="only http and https redirects"):
            stream.connect()
        with pytest.raises(TimeoutError):
            target.accept()
    finally:
        stream.close()
        target.close()
        redirector.close()
