"""Discovery payloads and the per-source view, on plain events (no broker)."""

from __future__ import annotations

from genrecast.daemon.outputs.mqtt.discovery import discovery_messages, entities_for
from genrecast.daemon.outputs.mqtt.state import TELEMETRY_INTERVAL_S, SourceView
from genrecast.daemon.outputs.mqtt.topics import Topics, node_id
from genrecast.daemon.settings import MqttSettings, SourceSettings

REQUIRED = ("name", "unique_id", "state_topic", "availability", "device")
SOURCES = (SourceSettings("living", "mic"), SourceSettings("radio", "url", "http://h/s"))


def _prediction(genre: str | None, level: float, smoothed: dict[str, float],
                **extra: object) -> dict[str, object]:
    return {"kind": "prediction", "source": "radio", "genre": genre, "rms_dbfs": level,
            "smoothed": smoothed, "silent": False, "end_utc": "2026-01-01T00:00:03.000000Z",
            **extra}


def test_discovery_topics_keys_and_stable_ids() -> None:
    topics = Topics.from_settings(MqttSettings(url="mqtt://h", client_id="genrecast-kitchen"))
    messages = discovery_messages(topics, SOURCES)
    again = discovery_messages(Topics.from_settings(
        MqttSettings(url="mqtt://other", client_id="genrecast-kitchen")), SOURCES)
    assert [p["unique_id"] for _, p in messages] == [p["unique_id"] for _, p in again]
    ids = [p["unique_id"] for _, p in messages]
    assert len(set(ids)) == len(ids) == 5 + 6  # the stream also has "now playing"
    for topic, payload in messages:
        component, node, object_id, last = topic.split("/")[1:]
        assert topic.startswith("homeassistant/") and last == "config"
        assert component in ("sensor", "binary_sensor") and node == "genrecast-kitchen"
        assert all(k in payload for k in REQUIRED), (topic, sorted(payload))
        assert payload["unique_id"] == f"genrecast-kitchen_{object_id}"
        assert payload["availability"] == [{"topic": "genrecast/availability",
                                            "payload_available": "online",
                                            "payload_not_available": "offline"}]
        source = object_id.split("_")[0]
        assert payload["device"]["identifiers"] == [f"genrecast-kitchen_{source}"]
        assert payload["state_topic"].startswith(f"genrecast/{source}/")
    assert "title" not in entities_for(SOURCES[0]) and "title" in entities_for(SOURCES[1])


def test_node_id_is_a_valid_home_assistant_node_id() -> None:
    assert node_id("genrecast@host.lan") == "genrecast_host_lan"


def test_view_sends_changes_only_and_throttles_telemetry() -> None:
    view = SourceView("radio", entities_for(SOURCES[1]))
    first = dict(view.everything(0.0))
    assert first == {"genre": '{"genre":null}', "confidence": "None", "level": "None",
                     "music": "None", "state": "None", "title": '{"title":null}'}
    view.apply(_prediction(None, -20.4, {"rock": 0.5, "classical": 0.5}))
    assert view.due(0.1) == [("level", "-20")]
    view.apply(_prediction(None, -20.3, {"rock": 0.5, "classical": 0.5}))
    assert view.due(0.2) == []  # rounds to the same dB: nothing to send
    view.apply({"kind": "genre", "source": "radio", "genre": "rock", "previous": None,
                "confidence": 0.91, "at_utc": "2026-01-01T00:00:03.000000Z", "model_id": "m"})
    sent = dict(view.due(0.3))
    assert sent["music"] == "ON" and sent["confidence"] == "91"
    assert sent["genre"].startswith('{"genre":"rock","confidence":0.91')
    view.apply(_prediction("rock", -10.0, {"rock": 0.95, "classical": 0.05}))
    assert view.due(0.4) == []  # level and confidence changed, but were sent < 5 s ago
    assert view.next_due_s() == 0.1 + TELEMETRY_INTERVAL_S
    assert dict(view.due(0.1 + TELEMETRY_INTERVAL_S)) == {"level": "-10"}
    assert dict(view.due(0.3 + TELEMETRY_INTERVAL_S)) == {"confidence": "95"}
    view.set_state("stalled")
    assert view.due(5.5) == [("state", "stalled")]


def test_view_takes_the_stream_title_when_there_is_one() -> None:
    view = SourceView("radio", entities_for(SOURCES[1]))
    view.everything(0.0)
    view.apply(_prediction(None, -20.0, {}))  # no stream_title field: the title stays unknown
    assert "title" not in dict(view.due(10.0))
    view.apply(_prediction(None, -20.0, {}, stream_title="Band - Song"))
    assert dict(view.due(20.0))["title"] == \
        '{"title":"Band - Song","since_utc":"2026-01-01T00:00:03.000000Z"}'
    view.apply({"kind": "track", "source": "radio", "title": "x" * 300, "at_utc": "t"})
    title = dict(view.due(30.0))["title"]
    assert len(title) == len('{"title":"","since_utc":"t"}') + 255
    view.apply(_prediction(None, -20.0, {}, stream_title=None))
    assert dict(view.due(40.0))["title"] == '{"title":null,"since_utc":"2026-01-01T00:00:03.000000Z"}'
