"""Discovery payloads and the per-source view, on plain events (no broker)."""

from __future__ import annotations

import json

from genrecast.daemon.model.card import load_card
from genrecast.daemon.outputs.mqtt.daemon_view import DaemonView
from genrecast.daemon.outputs.mqtt.discovery import Discovery, dashboard_link
from genrecast.daemon.outputs.mqtt.model_facts import ModelFacts, facts_from_card
from genrecast.daemon.outputs.mqtt.state import TELEMETRY_INTERVAL_S, SourceView
from genrecast.daemon.outputs.mqtt.topics import Topics, client_id_for, node_id
from genrecast.daemon.settings import MqttSettings, SourceSettings
from genrecast.models import default_model_path

REQUIRED = ("name", "unique_id", "availability", "device")
SOURCES = (SourceSettings("living", "mic", display_name="Living room"),
           SourceSettings("radio", "url", "http://h/s"))
MODEL = ModelFacts("tone@abc", ("low", "high"), 40.1, "leave-package-out macro recall")


def _discovery(client_id: str = "genrecast-kitchen", **kw: object) -> Discovery:
    settings = MqttSettings(url="mqtt://h", client_id=client_id)
    return Discovery(Topics.from_settings(settings, client_id_for(settings, "")), MODEL,
                     **kw)  # type: ignore[arg-type]


def _prediction(genre: str | None, level: float, smoothed: dict[str, float],
                **extra: object) -> dict[str, object]:
    return {"kind": "prediction", "source": "radio", "genre": genre, "rms_dbfs": level,
            "smoothed": smoothed, "silent": False, "end_utc": "2026-01-01T00:00:03.000000Z",
            **extra}


def test_discovery_topics_keys_devices_and_stable_ids() -> None:
    messages = _discovery().messages(SOURCES)
    again = _discovery().messages((SourceSettings("living", "mic", display_name="Lounge"),
                                   SOURCES[1]))
    assert [p["unique_id"] for _, p in messages] == [p["unique_id"] for _, p in again]
    ids = [p["unique_id"] for _, p in messages]
    # the daemon: 8 entities; a source: 8 (+ now playing for the stream)
    assert len(set(ids)) == len(ids) == 8 + 8 + 9
    for topic, payload in messages:
        component, node, object_id, last = topic.split("/")[1:]
        assert topic.startswith("homeassistant/") and last == "config"
        assert node == "genrecast-kitchen"
        assert all(k in payload for k in REQUIRED), (topic, sorted(payload))
        assert payload["unique_id"] == f"genrecast-kitchen_{object_id}"
        assert payload["availability"] == [{"topic": "genrecast/availability",
                                            "payload_available": "online",
                                            "payload_not_available": "offline"}]
        owner = object_id.split("_")[0]
        device = payload["device"]
        if owner == "daemon":
            assert device["identifiers"] == ["genrecast-kitchen"]
            assert "via_device" not in device
            expected = "genrecast/reload" if component == "button" else "genrecast/status"
            assert payload.get("state_topic", payload.get("command_topic")) == expected
        else:
            assert device["identifiers"] == [f"genrecast-kitchen_{owner}"]
            assert device["via_device"] == "genrecast-kitchen"
            assert payload["state_topic"].startswith(f"genrecast/{owner}/")
        assert "configuration_url" not in device
    names = {p["device"]["name"] for _, p in messages}
    assert {"Living room", "genrecast radio"} <= names  # the display name, else the old name
    by_object = {t.split("/")[3]: p for t, p in messages}
    assert "living_title" not in by_object and "radio_title" in by_object
    genre = by_object["living_genre"]
    assert genre["device_class"] == "enum" and genre["options"] == ["low", "high", "silence"]
    event = by_object["living_genre_change"]
    assert event["event_types"] == ["low", "high", "silence"]
    assert by_object["living_listening"]["command_topic"] == "genrecast/living/listening/set"
    threshold = by_object["living_threshold"]
    assert threshold["command_topic"] == "genrecast/living/threshold/set"
    assert (threshold["min"], threshold["max"], threshold["unit_of_measurement"]) == (1, 100, "%")
    assert by_object["daemon_reload"]["payload_press"] == "PRESS"
    assert by_object["radio_state"]["options"] == ["starting", "running", "stalled", "lost",
                                                   "recovering", "paused", "stopped"]


def test_without_commands_or_accuracy_those_entities_are_left_out() -> None:
    settings = MqttSettings(url="mqtt://h", client_id="k")
    plain = Discovery(Topics.from_settings(settings, "k"), ModelFacts("m", ("a", "b")),
                      commands=False)
    objects = {t.split("/")[3] for t, _ in plain.messages(SOURCES[:1])}
    assert not objects & {"living_listening", "living_threshold", "daemon_reload",
                          "daemon_model_accuracy"}
    assert {"daemon_mqtt", "daemon_started", "daemon_model", "daemon_sources_running",
            "daemon_sources_lost", "daemon_events_dropped", "living_genre"} <= objects


def test_configuration_url_points_at_the_dashboard() -> None:
    url = dashboard_link("http://0.0.0.0:8090/")
    assert "0.0.0.0" not in url and url.endswith(":8090/")
    assert dashboard_link("http://127.0.0.1:8090/") == "http://127.0.0.1:8090/"
    messages = _discovery(dashboard_url="http://127.0.0.1:8090/").messages(SOURCES)
    assert {p["device"]["configuration_url"] for _, p in messages} == {"http://127.0.0.1:8090/"}


def test_default_client_id_is_unique_per_host_and_instance_and_stable() -> None:
    settings = MqttSettings(url="mqtt://h")
    one = client_id_for(settings, "ipc:///run/genrecast/events.sock")
    assert one == client_id_for(settings, "ipc:///run/genrecast/events.sock")
    assert one != client_id_for(settings, "ipc:///run/genrecast-kitchen/events.sock")
    assert one.startswith("genrecast-") and len(one.rsplit("-", 1)[1]) == 6
    assert client_id_for(MqttSettings(url="mqtt://h", client_id="mine"), "x") == "mine"
    assert node_id("genrecast@host.lan") == "genrecast_host_lan"


def test_grouped_accuracy_comes_from_the_card() -> None:
    card = load_card(default_model_path())
    facts = facts_from_card(card)
    grouped = card.extra["grouped"]["macro"][card.quantization]["+0"]
    assert facts.accuracy_pct == round(100 * grouped, 1)
    assert facts.accuracy_basis.startswith(f"grouped {card.extra['grouped']['k']}-fold leave-out")
    assert facts.genres == [*card.labels, "silence"] and facts.model_id == card.model_id


def test_daemon_view_counts_sources_and_drops() -> None:
    view = DaemonView("2026-01-01T00:00:00.000000Z", "mqtt://h:1883", MODEL, "connected", 1)
    view.apply_heartbeat({"sources": {"a": {"events_dropped": 2}, "b": {"events_dropped": 3}}})
    first = json.loads(view.due(["running", "lost", "starting"]) or "")
    assert (first["sources_running"], first["sources_lost"], first["events_dropped"]) == (1, 1, 5)
    assert first["model_id"] == "tone@abc" and first["model_accuracy_pct"] == 40.1
    assert view.due(["running", "lost", "starting"]) is None  # unchanged: nothing to send


def test_view_sends_nothing_unknown_and_the_confidence_with_the_genre() -> None:
    view = SourceView("radio", _discovery().entities_for(SOURCES[1]), threshold=0.6)
    assert view.everything(0.0) == [("threshold", "60")]  # nothing else is known yet
    view.apply(_prediction(None, -20.4, {"rock": 0.5, "classical": 0.5}))
    assert view.due(0.1) == [("level", "-20")]
    view.apply(_prediction(None, -20.3, {"rock": 0.5, "classical": 0.5}))
    assert view.due(0.2) == []  # rounds to the same dB: nothing to send
    view.apply({"kind": "genre", "source": "radio", "genre": "rock", "previous": None,
                "confidence": 0.91, "at_utc": "2026-01-01T00:00:03.000000Z", "model_id": "m"})
    sent = view.due(0.3)
    assert [e for e, _ in sent] == ["music", "confidence", "genre"], sent
    assert dict(sent)["confidence"] == "91"
    assert dict(sent)["genre"].startswith('{"genre":"rock","confidence":0.91')
    view.apply(_prediction("rock", -10.0, {"rock": 0.95, "classical": 0.05}))
    assert view.due(0.4) == []  # level and confidence changed, but were sent < 5 s ago
    # A genre change takes its confidence along at once, throttle or not.
    view.apply({"kind": "genre", "source": "radio", "genre": "classical", "previous": "rock",
                "confidence": 0.7, "at_utc": "2026-01-01T00:00:09.000000Z", "model_id": "m"})
    assert [e for e, _ in view.due(0.5)] == ["confidence", "genre"]
    assert view.next_due_s() == 0.1 + TELEMETRY_INTERVAL_S
    assert dict(view.due(0.1 + TELEMETRY_INTERVAL_S)) == {"level": "-10"}
    view.set_state("paused")
    assert view.due(5.5) == [("state", "paused"), ("listening", "OFF")]
    view.apply_report({"threshold": 0.75})
    assert view.due(5.6) == [("threshold", "75")]


def test_view_takes_the_stream_title_when_there_is_one() -> None:
    view = SourceView("radio", _discovery().entities_for(SOURCES[1]))
    view.everything(0.0)
    view.apply(_prediction(None, -20.0, {}, stream_title=None))  # says nothing: stays unknown
    assert "title" not in dict(view.due(10.0))
    view.apply(_prediction(None, -20.0, {}, stream_title="Band - Song"))
    assert dict(view.due(20.0))["title"] == \
        '{"title":"Band - Song","since_utc":"2026-01-01T00:00:03.000000Z"}'
    view.apply({"kind": "track", "source": "radio", "title": "x" * 300, "at_utc": "t"})
    title = dict(view.due(30.0))["title"]
    assert len(title) == len('{"title":"","since_utc":"t"}') + 255
    view.apply(_prediction(None, -20.0, {}, stream_title=None))  # the title went away
    assert dict(view.due(40.0))["title"] == \
        '{"title":null,"since_utc":"2026-01-01T00:00:03.000000Z"}'
