"""A subscriber process for the tests: prints how many messages it got within a time limit.

usage: python count_subscriber.py ENDPOINT SECONDS [CLIENT_SECRET SERVER_PUBLIC]
"""

from __future__ import annotations

import sys
import time

import zmq


def main(argv: list[str]) -> int:
    endpoint, seconds = argv[0], float(argv[1])
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.linger = 0
    if len(argv) > 2:
        from genrecast.daemon.wire.curve_auth import secure_client

        secure_client(sock, argv[2], argv[3])
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    count = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if sock.poll(int(left * 1000) + 1):
            sock.recv()
            count += 1
    print(count, flush=True)
    sock.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
