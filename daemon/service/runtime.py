"""The daemon as a system service: sd_notify, metrics, control socket, SIGHUP reload.

``ServiceRuntime`` wraps the live daemon (``engine.Daemon``) without editing its loop: it
attaches to the daemon's hooks (``on_status``, ``on_window``, ``on_event``, ``on_tick``) and
queues actions into the loop (``pause``, ``resume``, ``swap_classifier``, ``call_in_loop``).

Health, as systemd sees it:

* ``READY=1`` once the model is loaded and every source delivers audio, or, after
  ``READY_GRACE_S``, once at least one does (a radio that is down at boot must not make systemd
  kill the daemon in a loop; ``STATUS=`` names the missing sources). Sources open concurrently
  and in the background (a ``url:`` source connects in its own thread), so with many sources the
  loop runs from the start and READY=1 means: model loaded, endpoint bound, and every source
  running, or after the grace at least one running while the others are retried with jittered
  backoff. A daemon none of whose sources ever delivers never becomes ready (systemd's start
  timeout then restarts it), and a single ``url:`` source that cannot be reached fails at once
  with exit code 66.
* ``WATCHDOG=1`` from the loop tick, only while audio advances: every active source advanced
  within ``ADVANCE_WINDOW_S``, except sources the supervisor is already recovering (lost,
  recovering, stalled) while at least one other source advances. So a hung loop or a capture
  that went quiet everywhere stops the pings and systemd restarts the process, while one dead
  radio among several does not take the others down.
* ``STOPPING=1`` on SIGTERM/SIGINT; ``RELOADING=1`` then ``READY=1`` around a reload.

``genrecast run`` itself (which process this is, start-up order, the start line) is
service_run.py.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import zmq
from genrecast.daemon.engine.states import INACTIVE_STATES, RECOVERING_STATES, SourceState
from genrecast.daemon.errors import UserError
from genrecast.daemon.service.control import ControlServer
from genrecast.daemon.service.metrics import Metrics, SourceReading
from genrecast.daemon.service.notify import Notifier
from genrecast.daemon.service.outputs import attach_mqtt
from genrecast.daemon.wire.curve_auth import CurveServer

if TYPE_CHECKING:
    from genrecast.daemon.engine.daemon import Daemon
    from genrecast.daemon.engine.source_pipeline import DueWindow, WindowOutcome
    from genrecast.daemon.outputs.web.output import WebOutput
    from genrecast.daemon.settings import Settings

log = logging.getLogger(__name__)

READY_GRACE_S = 20.0
ADVANCE_WINDOW_S = 2.0
RELOAD_SOURCE = "*"  # reload outcomes describe the whole daemon (like heartbeats)


class ServiceRuntime:
    """Attaches systemd notification, metrics and the control socket to a ``Daemon``."""

    def __init__(self, daemon: Daemon, overrides: Mapping[str, Any] | None = None,
                 notifier: Notifier | None = None) -> None:
        self.daemon = daemon
        self.settings: Settings = daemon.settings
        self.overrides = dict(overrides or {})
        self.notifier = notifier or Notifier()
        self.metrics = Metrics()
        self.control: ControlServer | None = None
        self.curve: CurveServer | None = None
        self.web: WebOutput | None = None
        self.ready_sent = False
        self.created_s = time.monotonic()
        self._reload_lock = threading.Lock()
        self._stopping_sent = False
        self._last_classify_ns = 0
        self._last_batches = 0
        daemon.on_status.append(self._on_status)
        daemon.on_window.append(self._on_window)
        daemon.on_event.append(self._on_event)
        daemon.on_tick.append(self._on_tick)
        self.metrics.read_sources(self._source_readings)
        # None unless [mqtt] url is set; its commands go to this runtime's control handlers.
        self.mqtt = attach_mqtt(daemon, self.metrics, self.handlers())

    # -- setup / teardown ------------------------------------------------------------------

    def open(self) -> None:
        """CURVE, metrics endpoint and control socket (before the daemon starts: fail early)."""
        p = self.settings.publish
        if p.curve_secret_key:
            # The publisher uses the shared context; ZAP runs on it, and the publish socket
            # becomes a CURVE server before it binds (the daemon's socket_setup seam).
            self.curve = CurveServer(zmq.Context.instance(), p.curve_secret_key,
                                     p.curve_authorized_dir)
            self.daemon.socket_setup.append(self.curve.secure)
        m = self.settings.metrics
        if m.port:
            self.metrics.serve(m.port, m.host)
        endpoint = self.settings.control.endpoint
        if endpoint != "off":
            self.control = ControlServer(
                zmq.Context.instance(), self.settings.control.resolved_endpoint(),
                self.handlers(), ipc_mode=self.settings.publish.ipc_mode,
                ipc_group=self.settings.publish.ipc_group).start()
            log.info("control socket on %s", self.control.endpoint)
        self.open_web()
        self.start_mqtt()

    def start_mqtt(self) -> None:
        """Connect (in the background: a broker that is down is no error), with the dashboard
        as the devices' configuration_url when it runs."""
        if self.mqtt is not None:
            if self.web is not None:
                self.mqtt.set_dashboard(self.web.url)
            self.mqtt.start()

    def open_web(self) -> None:
        """Bind the dashboard (when configured) and attach it to the daemon's events; it serves
        from ``start_web``, once the model is loaded."""
        if self.settings.web.enabled and self.web is None:
            from genrecast.daemon.outputs.web.output import WebOutput

            self.web = WebOutput(self.settings.web, self.web_status)
            self.web.attach(self.daemon)

    def start_web(self) -> None:
        classifier = self.daemon.classifier
        if self.web is not None:
            self.web.start(classifier.card.labels if classifier is not None else ())

    def web_status(self) -> dict[str, Any]:
        """``/api/status``: what the control socket's ``status`` and ``snapshot`` answer."""
        return {"status": self.status(), "snapshot": self.snapshot()}

    def close(self) -> None:
        if self.mqtt is not None:
            self.mqtt.close()  # the final "stopped" states, then availability offline
        if self.web is not None:  # after the daemon stopped: the final statuses reach the page
            self.web.close()
            self.web = None
        if self.control is not None:
            self.control.stop()
            self.control = None
        self.metrics.close()
        self.notifier.close()
        if self.curve is not None:
            self.curve.stop()
            self.curve = None

    def install_signal_handlers(self) -> None:
        def _reload(_signum: int, _frame: object) -> None:
            # Loading a model takes a while; never in the signal handler or the audio loop.
            threading.Thread(target=self.reload, name="genrecast-reload", daemon=True).start()

        self.daemon.install_signal_handlers(
            lambda signum: self.stopping(f"stopping ({signal.Signals(signum).name})"))
        signal.signal(signal.SIGHUP, _reload)

    def stopping(self, status: str) -> None:
        """STOPPING=1, once."""
        if not self._stopping_sent:
            self._stopping_sent = True
            self.notifier.stopping(status)

    # -- hooks (called in the daemon's loop thread) ------------------------------------------

    def _on_status(self, source: str, state: SourceState, previous: SourceState | None,
                   detail: str) -> None:
        self.metrics.source_state(source, state.value)

    def _on_window(self, due: DueWindow, probs: Any, outcome: WindowOutcome) -> None:
        self.metrics.window_classified(due.pipeline.name)
        self.metrics.observe_latency(max(0.0, time.time() - due.end_wall_s))

    def _on_event(self, topic: str, event: dict[str, Any], sent: bool) -> None:
        if sent:
            self.metrics.event_published(event.get("kind", "?"))
        else:
            self.metrics.events_dropped()

    def _source_readings(self) -> list[SourceReading]:
        """Per-source frames, overruns, backlog and malformed ICY blocks, read at scrape time
        (metrics thread)."""
        out: list[SourceReading] = []
        for name, pipeline in list(self.daemon.pipelines.items()):
            src = pipeline.source
            ring, rate = src.ring, src.rate_hz
            backlog_s = ring.available / rate if ring is not None and rate else 0.0
            out.append((name, src.frames_received, src.overrun_frames, backlog_s,
                        getattr(src, "malformed_meta_blocks", None),
                        pipeline.titles_suppressed if src.has_titles else None))
        return out

    def _genre(self, name: str) -> dict[str, Any]:
        """The source's current decision (the fields of its last genre event)."""
        pipeline = self.daemon.pipelines.get(name)
        current = pipeline.current_genre if pipeline is not None else None
        return dict(current) if current else {"genre": None}

    def _on_tick(self, daemon: Daemon) -> None:
        now = time.monotonic()
        times = daemon.stage_times
        if times.batches > self._last_batches:  # classify CPU time per batch since last tick
            per_batch_s = ((times.ns["classify"] - self._last_classify_ns)
                           / (times.batches - self._last_batches) / 1e9)
            self.metrics.observe_inference(per_batch_s)
            self._last_classify_ns, self._last_batches = times.ns["classify"], times.batches
        states = self.states()
        if not self.ready_sent and self._ready(states, now):
            self.ready_sent = True
            self.metrics.ready.set(1)
            self.notifier.ready(self.summary(states))
        else:
            self.notifier.status(self.summary(states))
        self.notifier.watchdog_if_due(self.healthy(now), now)

    # -- health ----------------------------------------------------------------------------

    def states(self) -> dict[str, SourceState]:
        return {name: w.state for name, w in self.daemon.supervisor.watches.items()}

    def _ready(self, states: dict[str, SourceState], now: float) -> bool:
        if self.daemon.classifier is None:
            return False
        running = [s for s in states.values() if s == SourceState.RUNNING]
        active = [s for s in states.values() if s not in INACTIVE_STATES]
        if active and len(running) == len(active):
            return True
        return bool(running) and now - self.created_s >= READY_GRACE_S

    def healthy(self, now: float) -> bool:
        """Audio advanced on every active source, or on at least one while the supervisor
        recovers the others (see the module docstring)."""
        advancing = active = 0
        for watch in self.daemon.supervisor.watches.values():
            if watch.state in INACTIVE_STATES:
                continue
            active += 1
            if (now - watch.last_advance_s < ADVANCE_WINDOW_S
                    and watch.state == SourceState.RUNNING):
                advancing += 1
            elif watch.state not in RECOVERING_STATES:
                return False  # running or starting but silent: something is stuck
        # Every source paused (genrecast ctl pause) or finished: the loop ticking is the health.
        return advancing > 0 or active == 0

    def summary(self, states: dict[str, SourceState]) -> str:
        running = sum(s == SourceState.RUNNING for s in states.values())
        parts = [f"{running}/{len(states)} sources running"]
        for name, state in sorted(states.items()):
            genre = self._genre(name)["genre"]
            parts.append(f"{name}: {state}" + (f" ({genre})" if genre else ""))
        classifier = self.daemon.classifier
        if classifier is not None:
            parts.append(f"model {classifier.card.model_id}")
        return "; ".join(parts)

    # -- control -----------------------------------------------------------------------------

    def handlers(self) -> dict[str, Any]:
        return {"status": self.status, "pause": self.pause, "resume": self.resume,
                "threshold": self.threshold, "reload": self.reload_command,
                "snapshot": self.snapshot}

    def status(self) -> dict[str, Any]:
        d = self.daemon
        reports = d.source_reports()
        return {
            "ready": self.ready_sent,
            "healthy": self.healthy(time.monotonic()),
            "model": d.classifier.card.model_id if d.classifier is not None else None,
            "backend": d.backend,
            "uptime_s": round(time.monotonic() - self.created_s, 3),
            "config": str(self.settings.config_path) if self.settings.config_path else None,
            "sources": {name: {**reports.get(name, {}), "state": state.value,
                               "genre": self._genre(name)["genre"]}
                        for name, state in self.states().items()},
        }

    def pause(self, source: str) -> dict[str, Any]:
        self.daemon.pause(source)
        return {"message": f"paused {source}"}

    def resume(self, source: str) -> dict[str, Any]:
        self.daemon.resume(source)
        return {"message": f"resumed {source}"}

    def threshold(self, source: str, value: float) -> dict[str, Any]:
        self.daemon.set_threshold(source, value)
        return {"message": f"{source}: threshold {value:g}", "threshold": value}

    def snapshot(self) -> dict[str, Any]:
        """The current genre per source, for subscribers that join late."""
        states = self.states()
        return {"sources": {name: {"state": states[name].value, **self._genre(name)}
                            for name in states}}

    def reload_command(self) -> dict[str, Any]:
        ok, message = self.reload()
        if not ok:
            raise UserError(message)
        return {"message": message}

    def reload(self) -> tuple[bool, str]:
        """Re-read the configuration and the model; apply them only if both load.

        The model swaps in between two windows (queued into the loop). Other settings that
        changed in the file (sources, endpoints, decisions) are reported as needing a restart.
        """
        from genrecast.daemon.model.classifier import Classifier
        from genrecast.daemon.service.config_file import load_settings

        with self._reload_lock:
            self.notifier.reloading()
            try:
                path = self.settings.config_path
                new = load_settings(path, self.overrides) if path is not None else self.settings
                classifier = Classifier(new.model_path, num_threads=new.num_threads)
                new.decisions.check_labels(classifier.card.labels, classifier.card.model_id)
            except UserError as exc:
                message = f"reload rejected, still running {self._model_id()}: {exc}"
                log.error("%s", message)
                self.metrics.reload(ok=False)
                self._publish_reload(False, message)
                self.notifier.ready(self.summary(self.states()))
                return False, message
            except Exception as exc:  # a model that crashes the loader must not crash us
                message = (f"reload rejected, still running {self._model_id()}: "
                           f"{type(exc).__name__}: {exc}")
                log.exception("reload failed")
                self.metrics.reload(ok=False)
                self._publish_reload(False, message)
                self.notifier.ready(self.summary(self.states()))
                return False, message
            needs_restart = [name for name in ("sources", "publish", "control", "metrics",
                                               "decisions", "mqtt", "web")
                             if getattr(new, name) != getattr(self.settings, name)]
            self.daemon.swap_classifier(classifier)
            if self.mqtt is not None:
                from genrecast.daemon.outputs.mqtt.model_facts import facts_from_card

                self.mqtt.set_model(facts_from_card(classifier.card))
            if self.curve is not None:
                self.curve.reload_keys()  # subscribers added to or removed from the folder
            message = f"reloaded: model {classifier.card.model_id}"
            if needs_restart:
                message += f" (restart to apply changed {', '.join(needs_restart)})"
            log.info("%s", message)
            self.metrics.reload(ok=True)
            self._publish_reload(True, message)
            self.notifier.ready(self.summary(self.states()))
            return True, message

    def _model_id(self) -> str:
        c = self.daemon.classifier
        return c.card.model_id if c is not None else "no model"

    def _publish_reload(self, ok: bool, message: str) -> None:
        """A status event for the whole daemon (source ``*``) saying what the reload did."""
        d = self.daemon

        def publish() -> None:
            if not hasattr(d, "events") or d.publisher is None:
                return
            topic, event = d.events.make(
                "status", RELOAD_SOURCE, time.time(), state="running", previous_state="running",
                detail=message[:500], spec="reload", backend=d.backend,
                reload="ok" if ok else "rejected")
            d.publish(topic, event)

        d.call_in_loop(publish)
