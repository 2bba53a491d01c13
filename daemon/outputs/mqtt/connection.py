"""The broker connection: paho-mqtt's client with its network loop in paho's own thread.

paho reconnects on its own with exponential backoff (``RECONNECT_MIN_S`` doubling up to
``RECONNECT_MAX_S``), also when the broker is down at start or refuses the login. Its callbacks
run on paho's thread and only report here (``report(state, detail)``); whoever owns the output
decides what to republish. A retained ``offline`` on the availability topic is the last will, so
the broker announces a killed daemon.

When another client connects with the same client id, the broker closes the older connection
without a word (MQTT 3.1.1; mosquitto 2.0 sends no "session taken over" even to MQTT 5
clients). paho resets its backoff after every successful connection, so two daemons with one id
took the session from each other every second ("Unspecified error"). Here a connection that the
broker closes soon after accepting it (``STABLE_S``) twice in a row is reported as a takeover,
and the wait before reconnecting doubles each time (``reconnect_delay_set``) until a connection
lasts; a broker that cannot be reached in between is not a takeover.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from genrecast.daemon.outputs.mqtt.topics import OFFLINE, Topics
from genrecast.daemon.settings import MqttSettings
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30
CLOSE_TIMEOUT_S = 1.0  # waiting for the last messages (offline) to leave on a clean stop
PAHO_QUEUE_MESSAGES = 1000  # paho's own queue of QoS 1 messages in flight
STABLE_S = 60.0  # a connection that lasted this long resets the takeover backoff
CLOSED_BY_PEER = 128  # paho's reason when the socket closed without a DISCONNECT packet
SHORT_DROPS_FOR_TAKEOVER = 2  # short-lived connections in a row that mean a takeover

CONNECTING = "connecting"
CONNECTED = "connected"
DISCONNECTED = "disconnected"  # broker down, unreachable, or the connection dropped
REFUSED = "refused"  # the broker answered but refused us (login, client id, ...)
STATES = (CONNECTING, CONNECTED, DISCONNECTED, REFUSED)
# CONNACK codes meaning "wrong login" (MQTT 3.1.1: 4, 5; MQTT 5: 134, 135)
_LOGIN_CODES = (4, 5, 134, 135)

Report = Callable[[str, str], None]
"""(state, one-line detail) — called on paho's thread."""


def redacted_url(s: MqttSettings) -> str:
    host = f"[{s.host}]" if ":" in s.host else s.host
    return f"{'mqtts' if s.tls else 'mqtt'}://{host}:{s.port}"


class Connection:
    """One paho client; ``start()`` never blocks and never fails because of the broker."""

    def __init__(self, settings: MqttSettings, topics: Topics, report: Report,
                 on_message: Callable[[str, bytes, bool], None], client_id: str,
                 subscriptions: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self.topics = topics
        self.client_id = client_id
        self.subscriptions = subscriptions
        """Topics subscribed after every connect (Home Assistant's status, commands)."""
        self.url = redacted_url(settings)
        self._report = report
        self._on_message = on_message
        self.connected = False
        self.takeovers = 0
        self._connected_at_s = 0.0
        self._short_drops = 0  # connections in a row the broker closed soon after accepting
        self._takeover_delay_s = 0
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=paho.MQTTv311, clean_session=True)
        self._closing = False
        paho_log = logging.getLogger(f"{__name__}.paho")
        # paho 2.2 logs "Client is not connected" as an error on a clean disconnect.
        paho_log.addFilter(lambda _record: not self._closing)
        client.enable_logger(paho_log)
        client.suppress_exceptions = True  # a bug in a callback must not end paho's thread
        if settings.username:
            client.username_pw_set(settings.username, settings.password or None)
        if settings.tls:
            client.tls_set(ca_certs=settings.ca_file or None)
        client.will_set(topics.availability, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.max_queued_messages_set(PAHO_QUEUE_MESSAGES)
        client.on_connect = self._connected
        client.on_connect_fail = self._connect_failed
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        self.client = client

    def start(self) -> None:
        self._report(CONNECTING, f"connecting to {self.url}")
        self.client.connect_async(self.settings.host, self.settings.port,
                                  keepalive=self.settings.keepalive_s)
        self.client.loop_start()

    def publish(self, topic: str, payload: str, *, retain: bool, qos: int = 1) -> bool:
        """Queue one message with paho (non-blocking); False when it cannot go out now."""
        if not self.connected:
            return False
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def close(self, last: list[tuple[str, str]]) -> None:
        """Send ``last`` (retained, e.g. availability offline), disconnect, stop paho's thread."""
        infos = []
        if self.connected:
            for topic, payload in last:
                infos.append(self.client.publish(topic, payload, qos=1, retain=True))
        for info in infos:
            try:
                info.wait_for_publish(CLOSE_TIMEOUT_S)
            except (RuntimeError, ValueError):  # the connection went away meanwhile
                break
        self._closing = True
        self.client.disconnect()
        self.client.loop_stop()

    # -- paho callbacks (paho's thread) ---------------------------------------------------------

    def _connected(self, client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode,
                   _props: Any) -> None:
        if reason.is_failure:
            self.connected = False
            code = int(reason.value)
            if code in _LOGIN_CODES:
                who = f"user {self.settings.username!r}" if self.settings.username else \
                    "an anonymous client"
                self._report(REFUSED, f"{self.url} refused the login of {who} ({reason}); set "
                             "[mqtt] username and password_file to an account of the broker")
            else:
                self._report(REFUSED, f"{self.url} refused the connection ({reason}); check "
                             "[mqtt] client_id and the broker's configuration")
            return
        self.connected = True
        self._connected_at_s = time.monotonic()
        if self.subscriptions:
            client.subscribe([(topic, 1) for topic in self.subscriptions])
        self._report(CONNECTED, f"connected to {self.url} as {self.client_id}")

    def _connect_failed(self, _client: paho.Client, _userdata: Any) -> None:
        self.connected = False
        self._short_drops = 0  # the broker is away: not a takeover
        self._report(DISCONNECTED, f"cannot reach {self.url} (broker down or unreachable); "
                     f"retrying with backoff up to {RECONNECT_MAX_S} s")

    def _disconnected(self, _client: paho.Client, _userdata: Any, _flags: Any,
                      reason: ReasonCode, _props: Any) -> None:
        was = self.connected
        self.connected = False
        if not was or self._closing:
            return
        short = time.monotonic() - self._connected_at_s < STABLE_S
        self._short_drops = self._short_drops + 1 if short else 0
        if int(reason.value) == CLOSED_BY_PEER and self._short_drops >= SHORT_DROPS_FOR_TAKEOVER:
            self.takeovers += 1
            delay = min(2 * (self._takeover_delay_s or RECONNECT_MIN_S), RECONNECT_MAX_S)
            self._takeover_delay_s = delay
            self.client.reconnect_delay_set(delay, max(delay, RECONNECT_MAX_S))
            self._report(DISCONNECTED, f"another client took over this id ({self.client_id}) "
                         f"at {self.url}; give each daemon its own [mqtt] client_id; "
                         f"reconnecting in {delay} s")
            return
        if self._takeover_delay_s:  # the usual backoff again for other failures
            self._takeover_delay_s = 0
            self.client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self._report(DISCONNECTED, f"lost the connection to {self.url} ({reason}); "
                     "reconnecting with backoff")

    def _message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        self._on_message(msg.topic, bytes(msg.payload), bool(msg.retain))
