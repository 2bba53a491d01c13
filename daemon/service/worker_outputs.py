"""MQTT and the web dashboard with ``[engine] workers = N``: run once, in the parent.

The workers have no outputs but their event socket. The parent builds the same ``MqttOutput``
and ``WebOutput`` a single daemon would, and feeds them from the relay: every event of every
worker, decoded, through ``Relay.on_event`` (on the relay's thread; both outputs only queue
there). A status event stands for the ``on_status`` hook MQTT uses in one process. The MQTT
connection's own status events are posted to the relay, which publishes them as the daemon's
(source ``*``); its state rides in the merged heartbeat and in /metrics, as with one process.
The dashboard's status and snapshot are the merged control replies; Home Assistant's commands go
to the parent's control handlers (the worker that owns the source answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genrecast.daemon.service.outputs import DAEMON_SOURCE, mqtt_output, mqtt_status_fields
from genrecast.daemon.settings import Settings

if TYPE_CHECKING:
    from genrecast.daemon.outputs.mqtt.output import MqttOutput, MqttStatus
    from genrecast.daemon.outputs.web.output import WebOutput
    from genrecast.daemon.service.metrics import Metrics
    from genrecast.daemon.service.worker_control import WorkerControl
    from genrecast.daemon.service.worker_relay import Relay


class ParentOutputs:
    """Build (and bind) early, ``start(labels)`` once the workers run, ``close()`` last."""

    def __init__(self, settings: Settings, relay: Relay, control: WorkerControl) -> None:
        self.relay = relay
        self.control = control
        self.mqtt: MqttOutput | None = None
        self.web: WebOutput | None = None
        if settings.mqtt.enabled:
            self.mqtt = mqtt_output(settings, control.handlers())
            self.mqtt.on_change.append(self._mqtt_changed)
        if settings.web.enabled:
            from genrecast.daemon.outputs.web.output import WebOutput

            self.web = WebOutput(settings.web, self._web_status)  # binds now: a taken port fails
            if self.mqtt is not None:
                self.mqtt.set_dashboard(self.web.url)
        if self.mqtt is not None or self.web is not None:
            relay.on_event.append(self._on_event)

    def heartbeat_fields(self) -> dict[str, Any]:
        return {"mqtt": self.mqtt.status.as_dict()} if self.mqtt is not None else {}

    def watch(self, metrics: Metrics | None) -> None:
        if metrics is not None and self.mqtt is not None:
            metrics.watch_mqtt(self.mqtt.status.as_dict)

    def _on_event(self, topic: str, event: dict[str, Any]) -> None:
        if self.mqtt is not None:
            if event.get("kind") == "status":
                self.mqtt.on_status(str(event.get("source")), event.get("state"),
                                    event.get("previous_state"), str(event.get("detail", "")))
            self.mqtt.on_event(topic, event, True)
        if self.web is not None:
            self.web.hub.offer(topic, event, True)

    def _mqtt_changed(self, status: MqttStatus) -> None:
        self.relay.post("status", DAEMON_SOURCE,
                        **mqtt_status_fields(status.as_dict(), self.relay.backend))

    def _web_status(self) -> dict[str, Any]:
        return {"status": self.control.status(), "snapshot": self.control.snapshot()}

    def start(self, labels: tuple[str, ...]) -> None:
        if self.mqtt is not None:
            self.mqtt.start()  # connects in the background: a broker that is down is no error
        if self.web is not None:
            self.web.start(labels)

    def close(self) -> None:
        """After the workers stopped: their final ``stopped`` statuses reach MQTT and the page."""
        if self.mqtt is not None:
            self.mqtt.close()
        if self.web is not None:
            self.web.close()
