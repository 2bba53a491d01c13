"""Our own HTTP reader for internet radio: asks for ICY metadata and strips it from the audio.

With ``Icy-MetaData: 1`` in the request, Icecast/SHOUTcast answer ``icy-metaint: N`` and insert a
metadata block after every N audio bytes: one length byte L, then L × 16 bytes of
``StreamTitle='…';StreamUrl='…';`` padded with NULs. ``IcyStream.read`` returns audio bytes only
and hands every block to ``parse_block``. A block that cannot be parsed, or a title longer than
``MAX_TITLE_CHARS``, is ignored and counted (``malformed_blocks``); it never ends the stream.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import socket
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from genrecast.daemon.text import MAX_DETAIL_CHARS, safe_text

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 10.0  # a silent server for this long is a dropped stream
MAX_REDIRECTS = 5
MAX_TITLE_CHARS = 1024
RCVLOWAT_BYTES = 4096  # wake a reader per ~0.25 s of a 128 kbit/s stream, not per MP3 frame
MAX_METAINT_BYTES = 1 << 20  # an icy-metaint beyond this is not a real server: read no metadata
# Real servers send 8192 or 16000; "icy-metaint: 1" (a block after every audio byte) cost 11 % of
# a core against 2 %. Below this the stream is asked for again without metadata (no titles).
MIN_METAINT_BYTES = 512
USER_AGENT = "genrecast"
_FIELD = re.compile(r"(\w+)='(.*?)';", re.DOTALL)


@dataclass(frozen=True)
class IcyMeta:
    title: str
    url: str


def parse_block(block: bytes) -> IcyMeta | None:
    """``StreamTitle='…';StreamUrl='…';`` → IcyMeta; None when the block is malformed or its
    title is oversized. An empty block (L = 0, "nothing changed") is never passed here."""
    text_bytes = block.rstrip(b"\0")
    if not text_bytes:
        return None
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        text = text_bytes.decode("latin-1")  # older stations send Latin-1
    fields = dict(_FIELD.findall(text))
    if "StreamTitle" not in fields:
        return None
    title = fields["StreamTitle"]
    if len(title) > MAX_TITLE_CHARS or any(ord(c) < 32 for c in title):
        return None
    # Other controls (DEL, C1 escape sequences, bidi overrides) are shown escaped.
    return IcyMeta(title=safe_text(title, MAX_TITLE_CHARS),
                   url=safe_text(fields.get("StreamUrl", ""), MAX_TITLE_CHARS))


class StreamError(ConnectionError):
    """The server cannot be reached or refused the stream (the message says why, made safe:
    a reason phrase is the server's text, escape sequences included)."""

    def __init__(self, reason: str) -> None:
        super().__init__(safe_text(reason, MAX_DETAIL_CHARS))


class IcyStream:
    """An open HTTP(S) stream: ``read()`` → audio bytes; metadata goes to ``on_meta``."""

    def __init__(self, url: str, on_meta: Callable[[IcyMeta], None] | None = None) -> None:
        self.url = url
        self.on_meta = on_meta
        self.malformed_blocks = 0
        self.meta_blocks = 0
        self.content_type = ""
        self.metaint = 0
        self._conn: http.client.HTTPConnection | None = None
        self._resp: http.client.HTTPResponse | None = None
        self._sock: socket.socket | None = None
        self._until_meta = 0
        self._closed = False

    def connect(self, metadata: bool = True) -> None:
        url = self.url
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        if metadata:
            headers["Icy-MetaData"] = "1"
        for _ in range(MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            cls = (http.client.HTTPSConnection if parts.scheme == "https"
                   else http.client.HTTPConnection)
            conn = cls(parts.hostname or "", parts.port, timeout=CONNECT_TIMEOUT_S)
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            self._conn = conn
            try:
                conn.request("GET", path, headers=headers)
                # getresponse() hands the socket to the response (conn.sock becomes None for a
                # streamed reply): keep it, so close() from another thread can shut it down.
                self._sock = conn.sock
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise StreamError(_reason(exc)) from exc
            if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
                url = urllib.parse.urljoin(url, resp.getheader("Location", ""))
                conn.close()
                scheme = urllib.parse.urlsplit(url).scheme
                if scheme not in ("http", "https"):  # ftp://host/ must not become host:80
                    raise StreamError(f"redirected to a {scheme or 'relative'}: URL ({url}); "
                                      "only http and https redirects are followed")
                continue
            if resp.status != 200:
                conn.close()
                raise StreamError(f"HTTP {resp.status} {resp.reason}")
            break
        else:
            raise StreamError(f"more than {MAX_REDIRECTS} redirects")
        self._resp = resp
        self.content_type = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        try:
            metaint = int(resp.getheader("icy-metaint") or 0)
        except ValueError:
            metaint = 0
        if metadata and 0 < metaint < MIN_METAINT_BYTES:
            log.warning("%s: icy-metaint %d is absurdly small (real servers send 8192 or more); "
                        "reading the stream without titles", self.url, metaint)
            resp.close()
            conn.close()
            self.connect(metadata=False)
            return
        self.metaint = metaint if metadata and 0 < metaint <= MAX_METAINT_BYTES else 0
        self._until_meta = self.metaint
        if self._sock is not None:
            self._sock.settimeout(READ_TIMEOUT_S)
            # A live source client sends one MP3 frame (~420 bytes) at a time: without a low-water
            # mark every stream would wake its thread (and take the GIL) 38 times a second.
            with contextlib.suppress(OSError, AttributeError):
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, RCVLOWAT_BYTES)

    def _raw(self, n: int) -> bytes:
        assert self._resp is not None
        try:
            return self._resp.read1(n)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if self._closed:
                return b""
            raise StreamError(_reason(exc)) from exc

    def _exact(self, n: int) -> bytes | None:
        out = b""
        while len(out) < n:
            data = self._raw(n - len(out))
            if not data:
                return None
            out += data
        return out

    def read(self, n: int) -> bytes:
        """Up to ``n`` audio bytes (whatever has arrived); b"" at the end of the stream."""
        if not self.metaint:
            return self._raw(n)
        if self._until_meta == 0 and not self._read_meta():
            return b""
        data = self._raw(min(n, self._until_meta))
        self._until_meta -= len(data)
        return data

    def _read_meta(self) -> bool:
        head = self._exact(1)
        if head is None:
            return False
        self._until_meta = self.metaint
        size = head[0] * 16
        if size == 0:
            return True
        block = self._exact(size)
        if block is None:
            return False
        self.meta_blocks += 1
        meta = parse_block(block)
        if meta is None:
            self.malformed_blocks += 1
            log.debug("%s: ignored a malformed ICY block (%d bytes)", self.url, size)
        elif self.on_meta is not None:
            self.on_meta(meta)
        return True

    def close(self) -> None:
        """Safe from another thread: a blocked ``read`` returns b"" (the socket is shut down)."""
        self._closed = True
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._resp is not None:
            self._resp.close()
        if self._conn is not None:
            self._conn.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host ({exc.strerror})"
    return str(exc) or type(exc).__name__
