"""A private mosquitto broker on a free loopback port (password file and config in a tmp folder;
the system's mosquitto service is never used), and a paho subscriber that records messages."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """``start()``, ``stop()`` (SIGTERM), ``start()`` again on the same port; no persistence, so a
    restarted broker has forgotten every retained message."""

    def __init__(self, folder: Path, users: dict[str, str]) -> None:
        self.folder = folder
        self.port = free_port()
        self.users = users
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "mosquitto.log"
        passwd = folder / "passwd"
        passwd.touch(mode=0o600)
        for user, password in users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True,
                           capture_output=True)
        self.config = folder / "mosquitto.conf"
        # Started as root, mosquitto drops to the "mosquitto" user, who could not read the
        # files here: keep the current user (ignored when not root).
        self.config.write_text(f"""
listener {self.port} 127.0.0.1
allow_anonymous false
password_file {passwd}
persistence false
user {pwd.getpwuid(os.getuid()).pw_name}
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
""")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the broker process holds it
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"mosquitto exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise AssertionError(f"mosquitto did not listen on {self.port}: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@dataclass
class Message:
    topic: str
    payload: str
    retain: bool
    at_s: float

    def json(self) -> Any:
        return json.loads(self.payload)


class Recorder:
    """A paho subscriber (in the test process, its own network thread) recording every message."""

    def __init__(self, broker: Mosquitto, user: str, *topics: str) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"recorder-{id(self)}")
        self.client.username_pw_set(user, broker.users[user])
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise AssertionError("the recorder could not subscribe")

    def _message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Message(msg.topic, msg.payload.decode(errors="replace"),
                                         bool(msg.retain), time.monotonic()))

    def on(self, topic: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def last(self, topic: str) -> Message | None:
        found = self.on(topic)
        return found[-1] if found else None

    def topics(self) -> set[str]:
        with self._lock:
            return {m.topic for m in self.messages}

    def wait(self, condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        with self._lock:
            seen = sorted({m.topic for m in self.messages})
        raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}; "
                             f"topics seen: {seen}")

    def wait_payload(self, topic: str, payload: str, timeout_s: float = 60.0,
                     after_s: float = 0.0) -> Message:
        def found() -> Message | None:
            return next((m for m in self.on(topic) if m.payload == payload and m.at_s >= after_s),
                        None)

        return self.wait(found, timeout_s, f"{payload!r} on {topic}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
