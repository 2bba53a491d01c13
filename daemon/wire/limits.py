"""How large a message any of our ZeroMQ sockets accepts (``ZMQ_MAXMSGSIZE``).

ZeroMQ accepts messages of any size unless told otherwise, and a subscriber's subscription is
such a message: one 32 MiB subscription grew a publisher by gigabytes and stalled its loop.
Every socket that receives gets a bound that fits what it legitimately receives; a peer that
sends more is disconnected by ZeroMQ before the message is read (the length comes first), so
memory and the loop stay flat. A subscriber that keeps reconnecting with the same subscription
only keeps being dropped.
"""

from __future__ import annotations

from typing import Any

import zmq

MAX_SUBSCRIPTION_BYTES = 1024
"""A subscription is a topic prefix: ``genrecast.<kind>.<source>`` is well under 100 bytes."""
MAX_REQUEST_BYTES = 64 * 1024
"""A control request: a command and a few arguments."""
MAX_EVENT_BYTES = 4 * 1024 * 1024
"""One event, a control reply or a merged heartbeat of many sources (strings in events are
bounded, see ``wire.text``)."""


def limit_receive(sock: zmq.Socket[Any], max_bytes: int) -> None:
    """Disconnect any peer of ``sock`` that sends a message over ``max_bytes``."""
    sock.setsockopt(zmq.MAXMSGSIZE, max_bytes)
