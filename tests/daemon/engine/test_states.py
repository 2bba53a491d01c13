"""Source states live in one Enum; the event schema, metrics and service health rules use it."""

from __future__ import annotations

from typing import Any

from genrecast.daemon.engine.states import INACTIVE_STATES, RECOVERING_STATES, SourceState
from genrecast.daemon.service.metrics import SOURCE_STATES


def test_event_schema_lists_exactly_the_enum(event_schema: dict[str, Any]) -> None:
    status = event_schema["$defs"]["status"]["properties"]
    assert status["state"]["enum"] == [s.value for s in SourceState]


def test_metrics_and_health_groups_come_from_the_enum() -> None:
    assert tuple(s.value for s in SourceState) == SOURCE_STATES
    assert set(SourceState) > RECOVERING_STATES | INACTIVE_STATES
    assert not RECOVERING_STATES & INACTIVE_STATES


def test_states_read_as_their_values() -> None:
    assert f"{SourceState.LOST}" == str(SourceState.LOST) == "lost" == SourceState.LOST
