"""Prometheus metrics: a private registry per daemon, scraped over real HTTP on loopback."""

from __future__ import annotations

import http.client
import re
import socket
import urllib.request

import pytest
from genrecast.daemon.errors import ServiceUnavailable
from genrecast.daemon.service.metrics import Metrics


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def _value(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(label_text) + r"\}" if labels else "") + \
        r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.M)
    assert match, f"{name}{labels} not in metrics"
    return float(match.group(1))


def test_two_daemons_in_one_process_scrape_separately() -> None:
    a, b = Metrics(), Metrics()
    try:
        pa, pb = a.serve(0), b.serve(0)
        assert pa != pb
        a.source_state("living", "starting")
        a.source_state("living", "running")
        a.source_state("living", "lost")
        a.window_classified("living", 3)
        a.event_published("prediction", 3)
        a.event_published("status", 3)
        a.events_dropped(2)
        a.observe_inference(0.0002)
        a.observe_latency(0.3)
        a.read_sources(lambda: [("living", 48_000, 1, 0.25, None, None),
                               ("station", 8_000, 0, 0.0, 3, 7)])
        a.reload(ok=False)
        b.window_classified("radio")
        ta, tb = _scrape(pa), _scrape(pb)
    finally:
        a.close()
        b.close()
    assert _value(ta, "genrecast_windows_classified_total", source="living") == 3
    assert "radio" not in ta and "living" not in tb
    assert _value(ta, "genrecast_source_state", source="living", state="lost") == 1
    assert _value(ta, "genrecast_source_state", source="living", state="running") == 0
    assert _value(ta, "genrecast_source_transitions_total", source="living", to="running") == 1
    assert _value(ta, "genrecast_events_published_total", kind="status") == 3
    assert _value(ta, "genrecast_events_dropped_total") == 2
    assert _value(ta, "genrecast_inference_seconds_count") == 1
    assert _value(ta, "genrecast_end_to_end_latency_seconds_bucket", le="0.5") == 1
    assert _value(ta, "genrecast_end_to_end_latency_seconds_bucket", le="0.25") == 0
    assert _value(ta, "genrecast_frames_received_total", source="living") == 48_000
    assert _value(ta, "genrecast_input_overflows_total", source="living") == 1
    assert _value(ta, "genrecast_backlog_seconds", source="living") == 0.25
    assert _value(ta, "genrecast_icy_metadata_malformed_total", source="station") == 3
    assert 'genrecast_icy_metadata_malformed_total{source="living"}' not in ta  # no ICY there
    assert _value(ta, "genrecast_titles_suppressed_total", source="station") == 7
    assert 'genrecast_titles_suppressed_total{source="living"}' not in ta
    assert _value(ta, "genrecast_reloads_total", result="rejected") == 1


def test_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        m = Metrics()
        with pytest.raises(ServiceUnavailable, match=r"cannot serve metrics on 127.0.0.1:\d+"):
            m.serve(taken.getsockname()[1])
        m.close()


def test_close_frees_the_port() -> None:
    m = Metrics()
    port = m.serve(0)
    m.close()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_a_foreign_host_header_is_refused_on_loopback() -> None:
    """DNS rebinding: a page elsewhere could read /metrics through the visitor's browser."""
    m = Metrics()
    port = m.serve(0)
    try:
        def scrape(host: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/metrics", headers={"Host": host})
                resp = conn.getresponse()
                resp.read()
                return resp.status
            finally:
                conn.close()

        assert scrape(f"127.0.0.1:{port}") == 200
        assert scrape(f"localhost:{port}") == 200
        assert scrape(f"evil.example:{port}") == 403
        assert scrape("evil.example") == 403
    finally:
        m.close()
