"""Builds the outputs the settings ask for (MQTT) and attaches them to the daemon's hooks.

Home Assistant's commands reach the same handlers as the control socket, through its request
path, so a pause from Home Assistant is checked and answered like ``genrecast ctl pause``.

Each output reports its connection state as a status event for the whole daemon (source ``*``,
``spec`` = the output's name, the state in a field named after it), in every heartbeat, and in
the metrics. Those events are queued into the daemon's loop, like every publish.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from genrecast.daemon.service.control import Handler, handle_request
from genrecast.daemon.service.metrics import Metrics

if TYPE_CHECKING:
    from genrecast.daemon.engine.daemon import Daemon
    from genrecast.daemon.outputs.mqtt.output import MqttOutput, MqttStatus
    from genrecast.daemon.settings import Settings

DAEMON_SOURCE = "*"


def mqtt_output(settings: Settings, handlers: dict[str, Handler]) -> MqttOutput:
    """The MQTT output of these settings; Home Assistant's commands go through the control
    socket's own request path (``handle_request``) to ``handlers``."""
    from genrecast.daemon.outputs.mqtt.model_facts import read_model_facts
    from genrecast.daemon.outputs.mqtt.output import MqttOutput

    def execute(request: dict[str, Any]) -> dict[str, Any]:
        return handle_request(handlers, json.dumps(request).encode())

    return MqttOutput(settings.mqtt, settings.sources,
                      instance=settings.publish.resolved_endpoint(),
                      model=read_model_facts(settings.model_path),
                      threshold=settings.decisions.threshold, execute=execute)


def attach_mqtt(daemon: Daemon, metrics: Metrics,
                handlers: dict[str, Handler]) -> MqttOutput | None:
    """The MQTT output if ``[mqtt] url`` is set (not started yet), else None."""
    if not daemon.settings.mqtt.enabled:
        return None
    output = mqtt_output(daemon.settings, handlers)
    daemon.on_event.append(output.on_event)
    daemon.on_status.append(output.on_status)
    daemon.heartbeat_fields.append(lambda: {"mqtt": output.status.as_dict()})
    metrics.watch_mqtt(output.status.as_dict)

    def changed(status: MqttStatus) -> None:  # on the MQTT thread: hand over to the loop
        fields = status.as_dict()
        daemon.call_in_loop(lambda: _publish_status(daemon, fields))

    output.on_change.append(changed)
    return output


def mqtt_status_fields(mqtt: dict[str, Any], backend: str) -> dict[str, Any]:
    """The fields of the daemon's status event (source ``*``) for an MQTT connection change;
    one process and the parent of worker processes publish the same event."""
    return {"state": "running", "previous_state": "running",
            "detail": f"mqtt: {mqtt['detail']}"[:500], "spec": "mqtt", "backend": backend,
            "mqtt": mqtt}


def _publish_status(daemon: Daemon, mqtt: dict[str, Any]) -> None:
    if not hasattr(daemon, "events") or daemon.publisher is None or daemon.publisher.socket.closed:
        return
    topic, event = daemon.events.make("status", DAEMON_SOURCE, time.time(),
                                      **mqtt_status_fields(mqtt, daemon.backend))
    daemon.publish(topic, event)
