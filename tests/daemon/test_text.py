"""Strings from the network: control characters escaped (visible, inert), length bounded."""

from __future__ import annotations

from genrecast.daemon.audio.sources.icy import IcyMeta, StreamError, parse_block
from genrecast.daemon.text import MAX_DETAIL_CHARS, safe_text


def test_controls_are_escaped_and_the_length_bounded() -> None:
    assert safe_text("A\x1b[2J\x07B\x7f\x9b\u202eC") == "A\\x1b[2J\\x07B\\x7f\\x9b\\u202eC"
    assert safe_text("Café – 日本 🎵") == "Café – 日本 🎵"  # printable text untouched
    long = safe_text("\x1b" * 10_000, 50)
    assert len(long) == 50 and long.endswith("…")


def test_station_strings_are_made_safe_where_they_enter() -> None:
    meta = parse_block("StreamTitle='Song\u202e gnp.exe\x9b';StreamUrl='http://x/\x7f';".encode())
    assert meta == IcyMeta("Song\\u202e gnp.exe\\x9b", "http://x/\\x7f")
    reason = str(StreamError("HTTP 503 " + "\x1b]0;x\x07" * 10_000))
    assert len(reason) <= MAX_DETAIL_CHARS and "\x1b" not in reason
