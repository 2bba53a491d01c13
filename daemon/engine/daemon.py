"""The daemon: Settings → start() → run() (main loop) → stop(); seams for the service layer.

One main loop drains every source's ring through its SourceDSP, classifies all windows that are
due across sources in one batched ``Classifier.predict`` call, smooths, decides and publishes.
Sources run in their own threads (or PortAudio's); the loop waits on an Event they set, with a
timeout, so nothing spins. Signals only set a flag the loop checks.

Hooks (for sd_notify, metrics, the control socket) attach without editing the loop:
``on_status(source, state, previous, detail)``, ``on_window(due, probs, outcome)``,
``on_event(topic, event, sent)``, ``on_tick(daemon)``. Outputs (ZeroMQ here; MQTT, the web page)
are peers on ``on_event``: they see the same decided events and never reach into a stage.
Control actions from other threads (``pause``, ``resume``, ``swap_classifier``) are queued and
run by the loop.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from genrecast.daemon.audio.sources import Source, make_source
from genrecast.daemon.engine.source_lifecycle import close_sources, open_sources
from genrecast.daemon.engine.source_pipeline import DueWindow, SourcePipeline, WindowOutcome
from genrecast.daemon.engine.states import SourceState
from genrecast.daemon.engine.supervisor import STOPPED, Supervisor
from genrecast.daemon.errors import ModelError, UserError
from genrecast.daemon.model.classifier import Classifier
from genrecast.daemon.model.worker import ClassifyWorker
from genrecast.daemon.settings import Settings
from genrecast.daemon.wire.events import HEARTBEAT_SOURCE, EventFactory
from genrecast.daemon.wire.publisher import Publisher

log = logging.getLogger(__name__)

LOOP_TIMEOUT_S = 0.25  # the loop wakes at least this often (supervision, heartbeats, stop flag)
# ...and at most this often: every ring write sets the wake event (1000 sources × 47 blocks/s at
# 48 kHz), so without a floor the loop would drain every ring once per block of any one source.
# Coalescing to one step per tick bounds the per-step cost (a pass over every source) and adds at
# most this much latency.
MIN_TICK_S = 0.03
# Supervision (frames advancing? restarts, end of input) passes over every source: at 1000 sources
# that costs milliseconds, so it runs at this pace rather than on every step. Its rules count in
# seconds (STALL_S = 2 s), so a quarter second changes nothing a user sees.
SUPERVISE_S = 0.25
STAGES = ("resample", "classify", "smooth", "publish")
EXIT_SIGNAL_BASE = 128  # a second signal exits at once with 128 + the signal's number


@dataclass
class StageTimes:
    """CPU time (thread time, ns) spent in each stage of the main loop, and windows processed."""

    ns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    windows: int = 0
    batches: int = 0

    def per_window_us(self) -> dict[str, float]:
        n = max(self.windows, 1)
        return {k: v / n / 1e3 for k, v in self.ns.items()}


class Daemon:
    """Build with ``Daemon(settings)``; ``start()``, then ``run()`` until ``request_stop()``."""

    def __init__(self, settings: Settings, classifier: Classifier | None = None,
                 sources: list[Source] | None = None) -> None:
        self.settings = settings
        self.classifier = classifier
        self._wake = threading.Event()
        self._stop_flag = threading.Event()
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.sources = sources if sources is not None else [
            make_source(s, classifier.card.sample_rate_hz if classifier is not None else 400)
            for s in settings.sources]
        for src in self.sources:
            src.wake = self._wake  # every source wakes this loop (the one place it is set)
        self.pipelines: dict[str, SourcePipeline] = {}
        self.publisher: Publisher | None = None
        self.stage_times = StageTimes()
        self.started_mono = 0.0
        self.on_status: list[Callable[[str, SourceState, SourceState | None, str], None]] = []
        self.on_window: list[Callable[[DueWindow, np.ndarray, WindowOutcome], None]] = []
        self.on_event: list[Callable[[str, dict[str, Any], bool], None]] = []
        self.on_tick: list[Callable[[Daemon], None]] = []
        # Extra fields for every heartbeat event (e.g. an output's connection state).
        self.heartbeat_fields: list[Callable[[], dict[str, Any]]] = []
        # ...and for every status event (e.g. the cluster node a shard runs on).
        self.status_fields: list[Callable[[], dict[str, Any]]] = []
        # Called with the PUB socket before it binds (e.g. CURVE server keys).
        self.socket_setup: list[Callable[[Any], None]] = []
        # Ends start()'s subscriber grace early: set by whoever knows the subscribers are
        # connected (a cluster shard, told by its driver), and by a stop.
        self.subscribers_ready = threading.Event()
        self.supervisor = Supervisor(self._status)
        self._worker: ClassifyWorker[DueWindow] = ClassifyWorker(self._wake)
        self._queued: list[DueWindow] = []  # due windows waiting for the worker
        self._next_heartbeat = 0.0
        self._next_supervise = 0.0
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------------------

    def source_report(self, name: str) -> dict[str, int | float | str]:
        """One source's counters, read where they live: the source (frames), the supervisor
        (state, restarts) and the pipeline (windows, events)."""
        pipeline = self.pipelines[name]
        src = pipeline.source
        watch = self.supervisor.watches.get(name)
        c = pipeline.counters
        report: dict[str, int | float | str] = {
            "state": str(watch.state) if watch else str(SourceState.STARTING),
            "reason": watch.reason(time.monotonic()) if watch else str(SourceState.STARTING),
            "frames_received": src.frames_received,
            "frames_overrun": src.overrun_frames,
            "windows_classified": c.windows_classified,
            "events_published": c.events_published,
            "events_dropped": c.events_dropped,
            "restarts": watch.restarts if watch else 0,
            "threshold": pipeline.decisions.threshold,
        }
        malformed = getattr(src, "malformed_meta_blocks", None)  # url sources (ICY metadata)
        if malformed is not None:
            report["malformed_meta_blocks"] = malformed
        if src.has_titles:
            report["titles_suppressed"] = pipeline.titles_suppressed
        return report

    def source_reports(self) -> dict[str, dict[str, int | float | str]]:
        return {name: self.source_report(name) for name in self.pipelines}

    @property
    def backend(self) -> str:
        return self.classifier.backend if self.classifier is not None else "none"

    def start(self, subscriber_grace_s: float = 0.0) -> None:
        """Load the model, bind the endpoint, open the sources. Raises UserError when nothing can
        run (every source failed to open, the endpoint is taken, the model is bad).
        ``subscriber_grace_s``: wait after binding so subscribers that are connecting already
        receive the first status events (ZeroMQ drops what is sent before they subscribe)."""
        if self.classifier is None:
            self.classifier = Classifier(self.settings.model_path,
                                         num_threads=self.settings.num_threads)
        card = self.classifier.card
        self.settings.decisions.check_labels(card.labels, card.model_id)
        log.info("model %s on %s", card.model_id, self.classifier.backend)
        self.events = EventFactory(card.model_id)
        self.publisher = Publisher(self.settings.publish, setup=self.socket_setup)
        if subscriber_grace_s > 0:
            self.subscribers_ready.wait(subscriber_grace_s)
            if self._stop_flag.is_set():
                return  # a signal during the grace period
        self.started_mono = time.monotonic()
        try:
            for src in self.sources:
                self.pipelines[src.name] = SourcePipeline(src, card, self.settings.decisions,
                                                          self.events)
                self.supervisor.add(src, time.monotonic())
            failures = open_sources(self.sources, self.supervisor, self._stop_flag)
            if self._stop_flag.is_set():
                return  # a signal during startup: run() returns at once and stop() cleans up
            if len(failures) == len(self.sources):
                raise failures[0]
        except BaseException:
            self.stop()
            raise
        self._next_heartbeat = time.monotonic() + self.settings.publish.heartbeat_s

    def request_stop(self) -> None:
        """Safe from signal handlers and other threads: the loop ends within LOOP_TIMEOUT_S."""
        self._stop_flag.set()
        self.subscribers_ready.set()
        self._wake.set()

    def install_signal_handlers(self, on_stop: Callable[[int], None] | None = None) -> None:
        """SIGINT/SIGTERM ask the loop to stop (``on_stop(signum)`` first, e.g. STOPPING=1); a
        second one exits at once, so a stop that hangs never needs ``kill -9``."""

        def handler(signum: int, _frame: object) -> None:
            if self._stop_flag.is_set():
                os.write(2, f"genrecast: second {signal.Signals(signum).name}, exiting now\n"
                         .encode())
                os._exit(EXIT_SIGNAL_BASE + signum)
            if on_stop is not None:
                on_stop(signum)
            self.request_stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, handler)

    def run(self) -> None:
        """The main loop; returns when stopped or every source has stopped. Raises the first
        fatal source error (malformed input) after a clean stop."""
        try:
            last_step = 0.0
            while not self._stop_flag.is_set():
                self._wake.wait(LOOP_TIMEOUT_S)
                rest = last_step + MIN_TICK_S - time.monotonic()
                if rest > 0 and self._stop_flag.wait(rest):
                    break
                self._wake.clear()
                last_step = time.monotonic()
                self.step()
                if self.supervisor.all_stopped():
                    break
        finally:
            self.stop()
        if self.supervisor.fatal_errors:
            raise self.supervisor.fatal_errors[0]

    def stop(self, timeout: float = 2.0) -> None:
        """Publish the windows already due, close sources (final ``stopped`` status events), then
        the socket. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        deadline = time.monotonic() + timeout
        try:
            self._finish_classifying()
        except Exception:  # the sources and the socket must still close
            log.exception("classifying the last windows failed")
        finally:
            self._worker.close()
        close_sources(self.sources, deadline)
        for src in self.sources:
            if src.name in self.supervisor.watches:
                self.supervisor.set_state(src.name, STOPPED, "daemon stopping")
        if self.publisher is not None:
            self.publisher.close()
            counters = [p.counters for p in self.pipelines.values()]
            total = {k: sum(getattr(c, k) for c in counters)
                     for k in ("windows_classified", "events_published", "events_dropped")}
            level = logging.WARNING if total["events_dropped"] else logging.INFO
            log.log(level, "stopped: %d windows classified, %d events published, %d dropped "
                    "(subscribers too slow)", total["windows_classified"],
                    total["events_published"], total["events_dropped"])

    # -- control (thread-safe: queued for the loop) ------------------------------------------

    def call_in_loop(self, fn: Callable[[], None]) -> None:
        self._commands.put(fn)
        self._wake.set()

    def pause(self, name: str) -> None:
        self._pipeline(name)
        self.call_in_loop(lambda: self._set_paused(name, True))

    def resume(self, name: str) -> None:
        self._pipeline(name)
        self.call_in_loop(lambda: self._set_paused(name, False))

    def set_threshold(self, name: str, threshold: float) -> None:
        """The source's base threshold from the next window on (checked by the caller)."""
        pipeline = self._pipeline(name)
        self.call_in_loop(lambda: pipeline.set_threshold(threshold))

    def swap_classifier(self, classifier: Classifier) -> None:
        """Use another model from the next window on (SIGHUP reload)."""
        self.call_in_loop(lambda: self._swap(classifier))

    def _pipeline(self, name: str) -> SourcePipeline:
        if name not in self.pipelines:
            raise UserError(f"no source named {name!r}; sources: {', '.join(self.pipelines)}")
        return self.pipelines[name]

    def _set_paused(self, name: str, paused: bool) -> None:
        pipeline = self.pipelines[name]
        if pipeline.paused == paused or self.supervisor.state(name) == STOPPED:
            return
        self._finish_classifying()  # what fell due before the pause is published before it
        pipeline.paused = paused
        if paused:
            self.supervisor.pause(pipeline.source)
        else:
            pipeline.reset()
            self.supervisor.resume(pipeline.source, time.monotonic())

    def _swap(self, classifier: Classifier) -> None:
        if classifier.card.window_samples <= 0:
            raise ModelError("new model has no window length")
        self._finish_classifying()  # windows due before the swap: the old model, its model_id
        self.classifier = classifier
        self.events.model_id = classifier.card.model_id
        for pipeline in self.pipelines.values():
            pipeline.set_card(classifier.card)
        log.info("now classifying with %s on %s", classifier.card.model_id, classifier.backend)

    # -- the loop body -------------------------------------------------------------------------

    def step(self) -> None:
        """One iteration: commands, drain + resample, classify, decide + publish, supervise."""
        while True:
            try:
                self._commands.get_nowait()()
            except queue.Empty:
                break
        t0 = time.thread_time_ns()
        for pipeline in self.pipelines.values():
            self._queued.extend(pipeline.pull())
            if pipeline.now_playing.pending:
                for topic, event in pipeline.take_track_events():
                    self.publish(topic, event, pipeline)
        self.stage_times.ns["resample"] += time.thread_time_ns() - t0
        self._publish_classified(wait=False)
        if self._queued and self._worker.idle:
            self._submit()
        now = time.monotonic()
        if now >= self._next_supervise:
            self._next_supervise = now + SUPERVISE_S
            self._supervise(now)
        if now >= self._next_heartbeat:
            self._heartbeat(now)
        for hook in self.on_tick:
            hook(self)

    def _submit(self) -> None:
        """Hand the queued windows to the worker thread as one batch."""
        assert self.classifier is not None
        batch, self._queued = self._queued, []
        self._worker.submit(batch, np.stack([d.window for d in batch]), self.classifier.predict)

    def _publish_classified(self, wait: bool) -> None:
        """Decide and publish the worker's finished batch, if there is one."""
        done = self._worker.take(wait=wait)
        if done is None:
            return
        batch, probs, cpu_ns = done
        self.stage_times.ns["classify"] += cpu_ns
        self.stage_times.windows += len(batch)
        self.stage_times.batches += 1
        for d, p in zip(batch, probs, strict=True):
            self._decide_and_publish(d, p)

    def _finish_classifying(self) -> None:
        """The batch in flight and the windows still queued, classified and published (the end
        of a file, or a stop): nothing that fell due is lost."""
        self._publish_classified(wait=True)
        if self._queued and self.classifier is not None and self.publisher is not None:
            self._submit()
            self._publish_classified(wait=True)

    def _supervise(self, now: float) -> None:
        for pipeline in self.pipelines.values():
            src = pipeline.source
            self.supervisor.check(src, now)
            if pipeline.drained and self.supervisor.state(src.name) != STOPPED:
                self.supervisor.finished(src)

    def _decide_and_publish(self, due: DueWindow, probs: np.ndarray) -> None:
        t0 = time.thread_time_ns()
        pipeline = due.pipeline
        outcome = pipeline.decide(due, probs)
        for hook in self.on_window:
            hook(due, probs, outcome)
        t1 = time.thread_time_ns()
        self.stage_times.ns["smooth"] += t1 - t0
        for topic, event in outcome.events:
            self.publish(topic, event, pipeline)
        self.stage_times.ns["publish"] += time.thread_time_ns() - t1

    def publish(self, topic: str, event: dict[str, Any],
                pipeline: SourcePipeline | None = None) -> None:
        """Send one event to the outputs, counted against its source (loop thread only)."""
        sent = self.publisher.send(topic, event) if self.publisher is not None else False
        if pipeline is not None:
            counters = pipeline.counters
            if sent:
                counters.events_published += 1
            else:
                counters.events_dropped += 1
        for hook in self.on_event:
            hook(topic, event, sent)

    def _status(self, name: str, state: SourceState, previous: SourceState | None,
                detail: str) -> None:
        pipeline = self.pipelines.get(name)
        src = pipeline.source if pipeline else next(s for s in self.sources if s.name == name)
        if hasattr(self, "events") and self.publisher is not None and not self.publisher.socket.closed:
            topic, event = self.events.make(
                "status", name, time.time(), state=state.value,
                previous_state=None if previous is None else previous.value,
                detail=detail[:500], spec=src.settings.spec, rate_hz=src.rate_hz,
                channels=src.channels, backend=self.backend,
            )
            for fields in self.status_fields:
                event.update(fields())
            self.publish(topic, event, pipeline)
        for hook in self.on_status:
            hook(name, state, previous, detail)

    def _heartbeat(self, now: float) -> None:
        self._next_heartbeat = now + self.settings.publish.heartbeat_s
        topic, event = self.events.make(
            "heartbeat", HEARTBEAT_SOURCE, time.time(),
            uptime_s=round(now - self.started_mono, 3), backend=self.backend,
            sources=self.source_reports(),
        )
        for fields in self.heartbeat_fields:
            event.update(fields())
        self.publish(topic, event)
