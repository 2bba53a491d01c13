"""The parent's /metrics with ``[engine] workers = N``: every worker's sources in one registry.

Read at scrape time from the workers' last ``status`` replies (refreshed once a second by the
parent), so the counters are those the workers keep; plus ``genrecast_worker_up`` and
``genrecast_worker_restarts`` per worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from genrecast.daemon.service.metrics import SOURCE_STATES, Metrics
from genrecast.daemon.settings import MetricsSettings
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from genrecast.daemon.service.worker_control import WorkerControl

COUNTERS = (("frames_received", "genrecast_frames_received", "Audio frames received"),
            ("windows_classified", "genrecast_windows_classified", "Windows classified"),
            ("events_published", "genrecast_source_events_published", "Events published"),
            ("events_dropped", "genrecast_source_events_dropped", "Events dropped"),
            ("restarts", "genrecast_source_restarts", "Source restarts"),
            ("malformed_meta_blocks", "genrecast_icy_metadata_malformed",
             "ICY metadata blocks ignored because they were malformed (url sources)"),
            ("titles_suppressed", "genrecast_titles_suppressed",
             "Title changes not published: over the per-source limit (url sources)"))


class _WorkersCollector(Collector):
    def __init__(self, control: WorkerControl) -> None:
        self.control = control

    def collect(self) -> Iterator[Metric]:
        workers = self.control.pool.workers
        up = GaugeMetricFamily("genrecast_worker_up", "1 while the worker process runs",
                               labels=["worker"])
        restarts = CounterMetricFamily("genrecast_worker_restarts", "Worker processes restarted",
                                       labels=["worker"])
        state = GaugeMetricFamily("genrecast_source_state", "1 for the state each source is in",
                                  labels=["source", "state"])
        families = {key: CounterMetricFamily(name, text, labels=["source"])
                    for key, name, text in COUNTERS}
        for worker in workers:
            up.add_metric([str(worker.index)], 1.0 if worker.alive else 0.0)
            restarts.add_metric([str(worker.index)], worker.restarts)
            status = worker.status or {}
            for name, info in sorted(status.get("sources", {}).items()):
                for s in SOURCE_STATES:
                    state.add_metric([name, s], 1.0 if info.get("state") == s else 0.0)
                for key, family in families.items():
                    if isinstance(info.get(key), int):
                        family.add_metric([name], info[key])
        yield up
        yield restarts
        yield state
        yield from families.values()


def serve_worker_metrics(control: WorkerControl, settings: MetricsSettings) -> Metrics:
    """/metrics on the configured port (a Metrics whose registry holds only the workers' view:
    its own per-event series stay empty in the parent)."""
    metrics = Metrics()
    metrics.registry = CollectorRegistry()
    metrics.registry.register(_WorkersCollector(control))
    metrics.serve(settings.port, settings.host)
    return metrics
