"""Cheap structure-blind mutations for fuzz loops driven by a numpy RNG (one call = one case)."""

from __future__ import annotations

import numpy as np

# Tokens that often reach corner cases of text parsers (TOML, JSON) when spliced in.
TOKENS = (b"=", b"[", b"]", b"[[", b"]]", b'"', b"'", b"\\", b"\n", b"{", b"}", b",", b".",
          b"nan", b"inf", b"-inf", b"1e999", b"-1", b"0", b"0x7fffffffffffffff", b"true",
          b"\x00", b"\xff\xfe", b"\xc3", b"1979-05-27T07:32:00Z", b'"""', b"#", b"ipc://",
          b"tcp://0.0.0.0:1", b"sources", b"model", b"path", b"\t", b" ", b"\r\n")


def mutate(data: bytes, rng: np.random.Generator, rounds: int = 3) -> bytes:
    """Flip bits, insert/delete/duplicate spans, splice tokens, truncate: ``rounds`` times."""
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, rounds + 1))):
        op = int(rng.integers(0, 7))
        n = len(buf)
        at = int(rng.integers(0, n + 1))
        if op == 0 and n:
            i = int(rng.integers(0, n))
            buf[i] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            buf[at:at] = bytes(rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8))
        elif op == 2 and n:
            del buf[at : at + int(rng.integers(1, 17))]
        elif op == 3 and n:
            span = buf[at : at + int(rng.integers(1, 33))]
            buf[at:at] = span
        elif op == 4:
            buf[at:at] = TOKENS[int(rng.integers(0, len(TOKENS)))]
        elif op == 5 and n:
            del buf[int(rng.integers(0, n)):]
        elif op == 6 and n:
            i = int(rng.integers(0, n))
            buf[i] = int(rng.integers(0, 256))
    return bytes(buf)
