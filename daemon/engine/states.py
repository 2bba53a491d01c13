"""The states a source goes through, in one place: the supervisor sets them, status events carry
them (the event schema's list is checked against this enum by a test), metrics and the service's
health rules group them.

starting → running → stalled (no frames for a while) / lost (the source failed) → recovering
(reopened) → running; paused by the control socket; stopped when the input ends, fails for
good, or the daemon stops.
"""

from __future__ import annotations

from enum import Enum


class SourceState(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    STALLED = "stalled"
    LOST = "lost"
    RECOVERING = "recovering"
    PAUSED = "paused"
    STOPPED = "stopped"

    def __str__(self) -> str:  # "running", as in events and logs, not "SourceState.RUNNING"
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


RECOVERING_STATES = frozenset({SourceState.STALLED, SourceState.LOST, SourceState.RECOVERING})
"""The supervisor is already working on these: no reason for systemd to restart the daemon."""
INACTIVE_STATES = frozenset({SourceState.PAUSED, SourceState.STOPPED})
"""Not expected to deliver audio."""
