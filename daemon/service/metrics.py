"""Prometheus metrics on a loopback port, in a private registry (many daemons per process in tests).

Two kinds of numbers: events the daemon reports as they happen (windows classified, events
published, latencies, state transitions) go into ordinary counters and histograms; cumulative
per-source counters that the sources already keep (frames received, ring overruns, backlog) are
read from them at scrape time through ``read_sources`` (nothing is copied on the audio path).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from genrecast.daemon.engine.states import SourceState
from genrecast.daemon.errors import ServiceUnavailable
from genrecast.daemon.outputs.web.address import host_header_is_loopback, is_loopback
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

MQTT_STATES = ("connecting", "connected", "disconnected", "refused")
SOURCE_STATES = tuple(s.value for s in SourceState)
INFERENCE_BUCKETS_S = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


SourceReading = tuple[str, int, int, float, "int | None", "int | None"]
"""(source name, frames received, frames lost to ring overruns, backlog in seconds, malformed
ICY metadata blocks ignored, title changes suppressed by the flood limit: None for sources that
have no ICY metadata or titles)."""


class _SourceCollector(Collector):
    """Reads the sources' own counters when Prometheus scrapes (a Python int read is atomic, so
    the scrape thread needs no lock with the audio loop)."""

    def __init__(self) -> None:
        self.read: Callable[[], Iterable[SourceReading]] = lambda: ()

    def collect(self) -> Iterator[Metric]:
        frames = CounterMetricFamily("genrecast_frames_received",
                                     "Audio frames received from the source", labels=["source"])
        overflows = CounterMetricFamily(
            "genrecast_input_overflows",
            "Frames lost because the source's ring overran (the loop fell behind)",
            labels=["source"])
        backlog = GaugeMetricFamily("genrecast_backlog_seconds",
                                    "Audio received but not yet classified", labels=["source"])
        malformed = CounterMetricFamily(
            "genrecast_icy_metadata_malformed",
            "ICY metadata blocks ignored because they were malformed (url sources)",
            labels=["source"])
        suppressed = CounterMetricFamily(
            "genrecast_titles_suppressed",
            "Title changes not published: over the per-source limit (url sources)",
            labels=["source"])
        for name, received, overrun, backlog_s, bad_meta, titles_suppressed in sorted(
                self.read(), key=lambda reading: reading[0]):
            frames.add_metric([name], received)
            overflows.add_metric([name], overrun)
            backlog.add_metric([name], backlog_s)
            if bad_meta is not None:
                malformed.add_metric([name], bad_meta)
            if titles_suppressed is not None:
                suppressed.add_metric([name], titles_suppressed)
        yield frames
        yield overflows
        yield backlog
        yield malformed
        yield suppressed


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - wsgiref's name
        """No line on stderr per scrape."""


def _loopback_host_only(app: Any) -> Any:
    def checked(environ: dict[str, Any], start_response: Any) -> Any:
        if not host_header_is_loopback(str(environ.get("HTTP_HOST", ""))):
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"403: unexpected Host header; scrape the metrics at their loopback "
                    b"address\n"]
        return app(environ, start_response)

    return checked


class _MqttCollector(Collector):
    """The MQTT output's counters, read at scrape time (the output keeps them)."""

    def __init__(self) -> None:
        self.snapshot: Callable[[], dict[str, Any]] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.snapshot is None:
            return
        s = self.snapshot()
        yield CounterMetricFamily("genrecast_mqtt_connects", "Successful connections to the "
                                  "MQTT broker", value=s["connects"])
        yield CounterMetricFamily("genrecast_mqtt_messages_published",
                                  "MQTT messages handed to the broker connection",
                                  value=s["published"])
        yield CounterMetricFamily("genrecast_mqtt_messages_dropped",
                                  "MQTT messages or events not sent (broker down, queue full)",
                                  value=s["dropped"])
        commands = CounterMetricFamily("genrecast_mqtt_commands", "Commands from Home "
                                       "Assistant, by result", labels=["result"])
        commands.add_metric(["ok"], s.get("commands", 0))
        commands.add_metric(["rejected"], s.get("commands_rejected", 0))
        yield commands
        state = GaugeMetricFamily("genrecast_mqtt_state", "1 for the MQTT connection's state",
                                  labels=["state"])
        for name in MQTT_STATES:
            state.add_metric([name], 1.0 if s["state"] == name else 0.0)
        yield state
        yield GaugeMetricFamily("genrecast_mqtt_connected", "1 while connected to the broker",
                                value=1.0 if s["state"] == "connected" else 0.0)


class Metrics:
    """All genrecast metrics in one private registry; ``serve()`` exposes them over HTTP."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.windows = Counter("genrecast_windows_classified", "Windows classified",
                               ["source"], registry=r)
        self.published = Counter("genrecast_events_published", "Events published",
                                 ["kind"], registry=r)
        self.dropped = Counter("genrecast_events_dropped",
                               "Events dropped (subscriber queue full)", registry=r)
        self.inference = Histogram("genrecast_inference_seconds",
                                   "Classifier time per batch of windows", registry=r,
                                   buckets=INFERENCE_BUCKETS_S)
        self.latency = Histogram("genrecast_end_to_end_latency_seconds",
                                 "From the last sample of a window arriving to its event",
                                 registry=r, buckets=LATENCY_BUCKETS_S)
        self.state = Gauge("genrecast_source_state",
                           "1 for the state each source is in, 0 for the others",
                           ["source", "state"], registry=r)
        self.transitions = Counter("genrecast_source_transitions",
                                   "Source state transitions", ["source", "to"], registry=r)
        self.reloads = Counter("genrecast_reloads", "Configuration/model reloads",
                               ["result"], registry=r)
        self.ready = Gauge("genrecast_ready", "1 once every source delivers audio", registry=r)
        self._sources = _SourceCollector()
        r.register(self._sources)
        self._mqtt = _MqttCollector()
        r.register(self._mqtt)
        self._server: object | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- reported as it happens --
    def window_classified(self, source: str, count: int = 1) -> None:
        self.windows.labels(source).inc(count)

    def event_published(self, kind: str, count: int = 1) -> None:
        self.published.labels(kind).inc(count)

    def events_dropped(self, count: int = 1) -> None:
        self.dropped.inc(count)

    def observe_inference(self, seconds: float) -> None:
        self.inference.observe(seconds)

    def observe_latency(self, seconds: float) -> None:
        self.latency.observe(seconds)

    def source_state(self, source: str, state: str) -> None:
        """Record a transition (and the current state) of one source."""
        for s in SOURCE_STATES if state in SOURCE_STATES else (*SOURCE_STATES, state):
            self.state.labels(source, s).set(1.0 if s == state else 0.0)
        self.transitions.labels(source, state).inc()

    def watch_mqtt(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        """Export the MQTT output's state and counters (``snapshot()`` at every scrape)."""
        self._mqtt.snapshot = snapshot

    def reload(self, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "rejected").inc()

    # -- read from the sources' own counters at scrape time --
    def read_sources(self, reader: Callable[[], Iterable[SourceReading]]) -> None:
        self._sources.read = reader

    # -- HTTP --
    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Start /metrics on ``host:port`` (port 0 picks a free one); returns the port. On a
        loopback address, a request whose ``Host`` is not loopback gets 403 (DNS rebinding: a
        web page elsewhere could read the metrics through the visitor's browser), as the
        dashboard does."""
        app = make_wsgi_app(self.registry)
        if is_loopback(host):
            app = _loopback_host_only(app)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_cls = type("MetricsServer", (ThreadingWSGIServer,), {"address_family": family})
        try:
            server: ThreadingWSGIServer = make_server(host, port, app, server_cls,
                                                      handler_class=_QuietHandler)
        except OSError as exc:
            raise ServiceUnavailable(f"cannot serve metrics on {host}:{port}: {exc.strerror}; "
                                     "set [metrics] port to a free port or 0 to disable") from None
        thread = threading.Thread(target=server.serve_forever, name="genrecast-metrics",
                                  daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        self.port = server.server_port
        log.info("metrics on http://%s:%d/metrics", host, self.port)
        return self.port

    def close(self) -> None:
        server = self._server
        if server is not None:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
