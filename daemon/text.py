"""Strings that come from the network (a station's titles, its HTTP reason phrase, ffmpeg's
account of it), made safe before they reach a terminal, a log, an event or MQTT.

Control characters (C0, DEL, C1: escape sequences that would move a terminal's cursor, change
its title or forge log lines) and the Unicode controls that reorder text (bidi overrides) are
shown escaped, ``\\x1b``, so nothing is lost from sight; the result is bounded in length, so a
60 KB reason phrase cannot ride in every heartbeat.
"""

from __future__ import annotations

import re

MAX_DETAIL_CHARS = 300
"""A status detail (why a source is lost), as shown by ``ctl status``, events and MQTT."""
MAX_FIELD_CHARS = 1024
"""A title or a station's URL."""
MAX_LINE_CHARS = 64 * 1024
"""A line printed for a person (``listen``, ``ctl status``): escaped, bounded generously."""
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ELLIPSIS = "…"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str, max_chars: int = MAX_FIELD_CHARS) -> str:
    """``text`` with its control characters escaped, cut to ``max_chars`` (ending in "…")."""
    text = _UNSAFE.sub(_escape, text[: max_chars * 6])  # an escape is at most 6 characters
    return text if len(text) <= max_chars else text[: max_chars - 1] + _ELLIPSIS
