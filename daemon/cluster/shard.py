"""One shard: a Ray actor that runs the daemon's own engine on a fixed group of sources.

The actor is the ``genrecast run`` worker of ``[engine] workers = N`` moved onto a cluster node:
an ordinary ``engine.Daemon`` with a ``ServiceRuntime`` (health, status, pause/resume), its
sources a fixed group of the configuration's, its events on a PUB socket bound to a free port of
its node's address (the driver's relay subscribes there), no control socket of its own: control
requests arrive as actor calls (``ask``), answered by the same handlers as the control socket's.

State is small enough to rebuild: when its node dies, Ray restarts the actor (``max_restarts``)
with the same arguments on a live node, where it opens its sources again. Every status event
and heartbeat carries ``node`` (the node's name, else its address), so a move is visible.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from genrecast.daemon.cluster.model_files import ModelFiles
from genrecast.daemon.engine.daemon import Daemon
from genrecast.daemon.errors import UserError
from genrecast.daemon.service.control import handle_request
from genrecast.daemon.service.notify import Notifier
from genrecast.daemon.service.runtime import ServiceRuntime
from genrecast.daemon.settings import (
    ControlSettings,
    MetricsSettings,
    MqttSettings,
    Settings,
    WebSettings,
)

log = logging.getLogger(__name__)

# The driver's relay subscribes once the shard reports its endpoint, then says so
# (``relay_connected``); the shard opens its sources only then, so its first status events
# ("starting", "running") are not lost to ZeroMQ's slow joiner. At most this long, though: a
# driver that never says it must not keep the sources closed.
SUBSCRIBER_GRACE_S = 20.0
# From the driver's word to the relay's subscription: the relay thread applies a move within
# its poll (0.1 s), and a TCP handshake in a cluster's network takes milliseconds.
RELAY_JOIN_S = 0.3
STOP_JOIN_S = 3.0


def shard_settings(settings: Settings, names: tuple[str, ...], model_path: Path,
                   host: str) -> Settings:
    """The settings of the shard that owns ``names``: those sources, events on a free port of
    ``host``, no control socket, metrics, MQTT or dashboard of its own (the driver has them)."""
    publish = dataclasses.replace(settings.publish, endpoint=f"tcp://{host}:*",
                                  curve_secret_key="", curve_authorized_dir="",
                                  startup_grace_s=SUBSCRIBER_GRACE_S)
    wanted = set(names)
    return dataclasses.replace(
        settings, sources=tuple(s for s in settings.sources if s.name in wanted),
        model_path=model_path, publish=publish, control=ControlSettings(endpoint="off"),
        metrics=MetricsSettings(), mqtt=MqttSettings(), web=WebSettings(), workers=1,
        config_path=None)


class ShardHost:
    """The actor's class (``ray.remote`` wraps it in the pool): starts at once, in a thread."""

    def __init__(self, settings: Settings, index: int, names: tuple[str, ...],
                 model_ref: list[Any]) -> None:
        import ray

        # The model comes as a reference in a list: Ray hands a nested reference over as it is,
        # and the driver that holds it keeps it alive for restarts on other nodes.
        model: ModelFiles = ray.get(model_ref[0])
        self.index = index
        self.node_id = ray.get_runtime_context().get_node_id()
        self.node = self._node_label(ray)
        self.folder = Path(tempfile.mkdtemp(prefix="genrecast-shard-"))
        host = ray.util.get_node_ip_address()
        own = shard_settings(settings, names, ModelFiles.write(model, self.folder), host)
        self.daemon = Daemon(own)
        self.daemon.status_fields.append(lambda: {"node": self.node})
        self.daemon.heartbeat_fields.append(lambda: {"node": self.node})
        self.runtime = ServiceRuntime(self.daemon, notifier=Notifier(environ={}))
        self.error: dict[str, Any] | None = None  # a user error that stopped this shard
        self.finished = False
        self._thread = threading.Thread(target=self._run, name=f"genrecast-shard-{index}",
                                        daemon=True)
        self._thread.start()

    def _node_label(self, ray: Any) -> str:
        from genrecast.daemon.cluster.ray_link import node_label

        for node in ray.nodes():
            if node.get("NodeID") == self.node_id:
                return node_label(node)
        return str(self.node_id)[:12]

    def _run(self) -> None:
        from genrecast.daemon.model.classifier import Classifier

        try:
            # The driver probed these bytes (run.py); a shard declares CPUs only, so it runs
            # the CPU interpreter and skips the GPU check (1.7 s on a host without one).
            settings = self.daemon.settings
            self.daemon.classifier = Classifier(settings.model_path,
                                                num_threads=settings.num_threads,
                                                try_gpu=False, probe=False)
            self.runtime.open()
            self.daemon.start(subscriber_grace_s=self.daemon.settings.publish.startup_grace_s)
            self.daemon.run()
            self.finished = True
        except UserError as exc:
            log.error("shard %d: %s", self.index, exc)
            self.error = {"message": str(exc), "exit_code": exc.exit_code}
        except Exception as exc:  # a bug: reported, and Ray's restart gives it another go
            log.exception("shard %d failed", self.index)
            self.error = {"message": f"{type(exc).__name__}: {exc}", "exit_code": 0}

    def where(self) -> dict[str, Any]:
        """Where this shard runs and publishes (the driver polls it)."""
        publisher = self.daemon.publisher
        endpoint = publisher.bound_endpoint if publisher is not None and hasattr(
            publisher, "bound_endpoint") else ""
        return {"node": self.node, "node_id": self.node_id, "endpoint": endpoint,
                "error": self.error,
                "finished": self.finished, "time": time.time()}

    def relay_connected(self) -> None:
        """The driver's relay now subscribes to this shard: open the sources."""
        threading.Timer(RELAY_JOIN_S, self.daemon.subscribers_ready.set).start()

    def ask(self, command: str, source: str | None = None,
            value: float | None = None) -> dict[str, Any]:
        """A control request, answered as the control socket would; sources carry ``node``."""
        if command == "reload":
            # Here it would read the shard's own copy of the model again: no change at all.
            return {"ok": False, "error": "cluster run does not reload yet; restart it to apply "
                    "a changed model or configuration"}
        request: dict[str, Any] = {"command": command}
        if source is not None:
            request["source"] = source
        if value is not None:
            request["value"] = value
        reply = handle_request(self.runtime.handlers(), json.dumps(request).encode())
        for info in reply.get("sources", {}).values():
            info["node"] = self.node
        return reply

    def stop(self) -> bool:
        """Stop the engine (final ``stopped`` statuses go out), free the node's files."""
        self.daemon.request_stop()
        self._thread.join(STOP_JOIN_S)
        self.runtime.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return not self._thread.is_alive()
