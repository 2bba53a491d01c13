"""The hub and the dashboard state without HTTP: filters, throttling, a client that stops
reading, the timeline's buckets, the now-playing title (present or absent)."""

from __future__ import annotations

import queue
import time

import pytest
from genrecast.daemon.outputs.web.hub import CLIENT_QUEUE_BATCHES, EventHub, SseClient
from genrecast.daemon.outputs.web.state import BUCKET_S, BUCKETS, Dashboard, Timeline
from genrecast.daemon.wire.events import EventFactory

FACTORY = EventFactory("test@000000000000")


def _prediction(source: str, low: float, genre: str | None = "low", **extra: object) -> dict:
    probs = {"low": low, "high": round(1 - low, 6)}
    return FACTORY.make("prediction", source, time.time(), label="low", confidence=low,
                        probabilities=probs, smoothed=probs, silent=False, rms_dbfs=-12.0,
                        start_s=0.0, end_s=3.0, start_utc="", end_utc="", genre=genre,
                        **extra)[1]


def _messages(client: SseClient) -> list[bytes]:
    out = []
    while True:
        try:
            item = client.queue.get_nowait()
        except queue.Empty:
            return out
        if item is not None:
            out.append(item)


def test_client_filters() -> None:
    both = SseClient()
    only_a_genre = SseClient(frozenset({"a"}), frozenset({"genre"}))
    assert both.wants("prediction", "b") and both.wants("heartbeat", "*")
    assert only_a_genre.wants("genre", "a")
    assert not only_a_genre.wants("genre", "b")
    assert not only_a_genre.wants("prediction", "a")
    assert SseClient(frozenset({"a"}), None).wants("heartbeat", "*")  # daemon-wide


def test_predictions_throttled_others_at_once() -> None:
    hub = EventHub(Dashboard(), prediction_interval_s=60.0)
    client = hub.subscribe(["a"], None)
    for i in range(10):
        hub.offer("", _prediction("a", 0.1 * i), True)
        hub.offer("", _prediction("b", 0.5), True)
    hub.offer("", FACTORY.make("genre", "a", time.time(), genre="high", previous="low",
                               confidence=0.9)[1], True)
    everyone = hub.subscribe(None, None)
    hub._drain()  # noqa: SLF001 - one hub step, without its thread
    got = b"".join(_messages(client))
    assert got.count(b"event: ") == 1 and got.startswith(b"event: genre")
    assert b"".join(_messages(everyone)).count(b"event: genre") == 1
    hub._flush_predictions()  # noqa: SLF001
    got = b"".join(_messages(client))
    assert got.count(b"event: ") == 1 and b'"source":"a"' in got and b'"seq":9' in got  # latest
    rest = b"".join(_messages(everyone))
    assert rest.count(b"event: prediction") == 2 and b'"source":"b"' in rest
    assert hub.taken == hub.offered == 21 and hub.inbox_dropped == 0


def test_a_client_that_stops_reading_is_dropped_not_waited_for() -> None:
    hub = EventHub(Dashboard())
    stuck = hub.subscribe(None, ["genre"])
    reading = hub.subscribe(None, ["genre"])
    received = 0
    for _ in range(CLIENT_QUEUE_BATCHES + 5):  # one flush each: one batch per client
        hub.offer("", FACTORY.make("genre", "a", time.time(), genre="low", previous=None,
                                   confidence=0.9)[1], True)
        hub._drain()  # noqa: SLF001
        received += len(_messages(reading))
    assert hub.client_drops == 1 and hub.client_count == 1
    assert stuck.queue.get_nowait() is None  # told to close at once
    assert received == CLIENT_QUEUE_BATCHES + 5  # the reading client missed nothing


def test_thread_delivers_and_close_flushes() -> None:
    hub = EventHub(Dashboard()).start()
    client = hub.subscribe(None, ["status"])
    hub.offer("", FACTORY.make("status", "a", time.time(), state="stopped",
                               previous_state="running", detail="daemon stopping", spec="mic",
                               backend="cpu")[1], True)
    hub.close()
    items = []
    while not client.queue.empty():
        items.append(client.queue.get_nowait())
    assert items[-1] is None
    assert any(b'"state":"stopped"' in m for m in items if m)


def test_dashboard_state_and_title() -> None:
    d = Dashboard()
    now = time.time()
    d.apply(_prediction("a", 0.9), now)
    assert d.sources["a"].stream_title is None  # the field is absent: no title
    d.apply(_prediction("a", 0.9, stream_title="Band - Song"), now)
    assert d.sources["a"].stream_title == "Band - Song"
    d.apply(_prediction("a", 0.9), now)
    assert d.sources["a"].stream_title == "Band - Song"  # absent again: the title stays
    d.apply(_prediction("a", 0.9, stream_title=""), now)
    assert d.sources["a"].stream_title is None  # cleared
    d.apply(FACTORY.make("status", "a", now, state="lost", previous_state="running",
                         detail="stream ended", spec="url:x", backend="cpu")[1], now)
    view = d.snapshot()["sources"]["a"]
    assert view["state"] == "lost" and view["detail"] == "stream ended"
    assert view["genre"] == "low" and view["confidence"] == pytest.approx(0.9)
    assert d.snapshot()["labels"] == ["low", "high"]


def test_timeline_buckets_and_span() -> None:
    t = Timeline(("low", "high"))
    t0 = 1_000_000.0
    t.add(t0, [1.0, 0.0], "low")
    t.add(t0 + 0.5, [0.0, 1.0], "high")  # same bucket: the mean, the last genre
    t.add(t0 + BUCKET_S, [0.2, 0.8], "silence")
    points = t.as_json(t0 + BUCKET_S)["points"]
    assert points[0][1] == [0.5, 0.5] and points[0][2] == "high"
    assert points[1][2] == "silence"
    later = t0 + (BUCKETS + 1) * BUCKET_S + 1  # past the 10-minute span: the old buckets go
    t.add(later, [0.0, 1.0], "high")
    assert [p[2] for p in t.as_json(later)["points"]] == ["high"]
