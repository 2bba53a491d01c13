"""``genrecast demo``: the daemon with the default model plus a subscriber in another process.

On the default input device when PortAudio has one, otherwise on the bundled demo recording
(rock, then orchestral) paced in real time and looping. The subscriber is ``genrecast listen`` run
as a child process; what it prints is what any subscriber receives.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from genrecast.daemon.settings import (
    MqttSettings,
    PublishSettings,
    Settings,
    SourceSettings,
    WebSettings,
)

log = logging.getLogger(__name__)

DEMO_AUDIO = Path(__file__).resolve().parents[1] / "demo" / "demo.ogg"
SUBSCRIBER_GRACE_S = 0.5  # after binding: the waiting subscriber connects and subscribes


def default_input_available() -> bool:
    try:
        from genrecast.daemon.audio.sources.mic import find_input_device

        find_input_device("")
    except Exception:  # noqa: BLE001 - no PortAudio, no device: fall back to the demo file
        return False
    return True


def demo_sources(use_mic: bool | None = None) -> tuple[SourceSettings, ...]:
    if use_mic is None:
        use_mic = default_input_available()
    if use_mic:
        return (SourceSettings(name="mic", kind="mic"),)
    return (SourceSettings(name="demo", kind="file", target=str(DEMO_AUDIO), realtime=True,
                           loop=True),)


def _wait_until_listening(listener: subprocess.Popen[str]) -> None:
    """Wait for the subscriber's ready line (its SUB socket exists), then pass its stderr on."""
    from genrecast.daemon.cli.listen import READY_LINE

    assert listener.stderr is not None
    stream = listener.stderr
    line = stream.readline()  # returns "" if the process dies first
    if line and not line.startswith(READY_LINE):
        sys.stderr.write(line)

    def forward() -> None:
        for rest in stream:
            sys.stderr.write(rest)

    threading.Thread(target=forward, name="listener-stderr", daemon=True).start()


def demo_mqtt(url: str, username: str = "", password_file: str = "") -> MqttSettings:
    """``--mqtt URL`` (and a login: ``--mqtt-username``, ``--mqtt-password-file``), checked
    like the ``[mqtt]`` table, with a client id of its own that stays the same from one demo to
    the next (the demo's event endpoint is a new temporary folder each time, so the default id
    would give Home Assistant a new device every run)."""
    import dataclasses
    import socket

    from genrecast.daemon.service.config_file import load_settings

    if not url:
        return MqttSettings()
    overrides = {"mqtt.url": url, "mqtt.username": username or None,
                 "mqtt.password_file": password_file or None}
    checked = load_settings(None, overrides, default_model=lambda: DEMO_AUDIO).mqtt
    return dataclasses.replace(checked, client_id=f"genrecast-demo-{socket.gethostname()}")


def run_demo(model: Path, seconds: float, use_mic: bool | None, kinds: list[str],
             as_json: bool, web: str = "", mqtt: MqttSettings | None = None) -> None:
    from genrecast.daemon.engine.daemon import Daemon
    from genrecast.daemon.service.runtime import ServiceRuntime

    with tempfile.TemporaryDirectory(prefix="genrecast-demo-") as tmp:
        endpoint = f"ipc://{tmp}/events.sock"
        sources = demo_sources(use_mic)
        print(f"demo: model {model.name}, source {sources[0].spec}, events on {endpoint}"
              " (Ctrl-C stops)", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "genrecast.daemon.cli", "listen", endpoint]
        for kind in kinds:
            cmd += ["--kind", kind]
        if as_json:
            cmd.append("--json")
        listener = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        _wait_until_listening(listener)
        settings = Settings(sources=sources, model_path=model,
                            publish=PublishSettings(endpoint=endpoint),
                            web=WebSettings(listen=web), mqtt=mqtt or MqttSettings())
        daemon = Daemon(settings)
        # The service runtime's status and snapshot feed the dashboard's /api/status, and its
        # control handlers take Home Assistant's commands; nothing else of it opens (no control
        # socket, no metrics) in the demo.
        runtime = ServiceRuntime(daemon) if web or settings.mqtt.enabled else None
        timer = None
        try:
            if runtime is not None:
                runtime.open_web()
                runtime.start_mqtt()
                if runtime.mqtt is not None:
                    print(f"demo: MQTT to {runtime.mqtt.connection.url} as "
                          f"{runtime.mqtt.client_id} (Home Assistant discovery)",
                          file=sys.stderr, flush=True)
            daemon.start(subscriber_grace_s=SUBSCRIBER_GRACE_S)
            if runtime is not None and runtime.web is not None:
                runtime.start_web()
                print(f"demo: dashboard on {runtime.web.url}", file=sys.stderr, flush=True)
            daemon.install_signal_handlers()
            if seconds > 0:
                timer = threading.Timer(seconds, daemon.request_stop)
                timer.daemon = True
                timer.start()
            daemon.run()
        finally:
            if timer is not None:
                timer.cancel()
            daemon.stop()
            if runtime is not None:
                runtime.close()
            # Give the subscriber a moment to print the final status events.
            try:
                listener.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                listener.terminate()
                listener.wait(timeout=5)
