"""Command messages from Home Assistant → control requests, and what a malformed one gets."""

from __future__ import annotations

import pytest
from genrecast.daemon.outputs.mqtt.commands import Rejected, parse_command
from genrecast.daemon.outputs.mqtt.topics import Topics

TOPICS = Topics("home/genre", "homeassistant", "node")
SOURCES = frozenset({"living", "radio"})


def _parse(topic: str, payload: bytes, retained: bool = False) -> dict[str, object]:
    return parse_command(TOPICS, SOURCES, topic, payload, retained)


def test_commands_become_the_control_sockets_requests() -> None:
    assert _parse("home/genre/living/listening/set", b"OFF") == \
        {"command": "pause", "source": "living"}
    assert _parse("home/genre/living/listening/set", b"ON") == \
        {"command": "resume", "source": "living"}
    assert _parse("home/genre/radio/threshold/set", b"72.0") == \
        {"command": "threshold", "source": "radio", "value": 0.72}
    assert _parse("home/genre/reload", b"PRESS") == {"command": "reload"}


@pytest.mark.parametrize(("topic", "payload", "retained", "words"), [
    ("home/genre/living/listening/set", b"on", False, "send ON or OFF"),
    ("home/genre/living/listening/set", b"OFF", True, "retained"),
    ("home/genre/kitchen/listening/set", b"OFF", False, "no source named 'kitchen'"),
    ("home/genre/living/genre/set", b"rock", False, "takes no commands"),
    ("home/genre/living/threshold/set", b"nan", False, "percentage 1-100"),
    ("home/genre/living/threshold/set", b"inf", False, "percentage 1-100"),
    ("home/genre/living/threshold/set", b"0", False, "percentage 1-100"),
    ("home/genre/living/threshold/set", b"101", False, "percentage 1-100"),
    ("home/genre/living/threshold/set", b"\xff\xfe", False, "not UTF-8"),
    ("home/genre/living/threshold/set", b"9" * 65, False, "at most 64"),
    ("home/genre/reload", b"please", False, "send PRESS"),
    ("home/genre/living/x/y/set", b"ON", False, "not a command topic"),
])
def test_malformed_commands_are_rejected_with_the_reason(topic: str, payload: bytes,
                                                         retained: bool, words: str) -> None:
    with pytest.raises(Rejected) as info:
        _parse(topic, payload, retained)
    assert words in str(info.value) and "\n" not in str(info.value)
