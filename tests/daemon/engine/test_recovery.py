"""Fault scenarios on the running daemon: the sound server killed and restarted, an HTTP stream
server stopped and restarted. The daemon process must survive and recover by itself."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.common import TONE_MODEL
from tests.support.daemon_proc import DaemonProc, Listener, wait_for
from tests.support.pulse import PrivatePulse
from tests.support.radio import Radio, free_port

OUTAGE_S = 5.0


def _states(listener: Listener, source: str) -> list[str]:
    return [e["state"] for e in listener.of("status", source)]


@pytest.mark.slow
def test_pulseaudio_killed_and_restarted(tmp_path: Path) -> None:
    pulse = PrivatePulse(tmp_path / "pulse")
    pulse.start()
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "room"
kind = "mic"
[publish]
endpoint = "ipc://{tmp_path}/events.sock"
[control]
endpoint = "off"
""")
    daemon = DaemonProc(tmp_path, config, env=pulse.env)
    listener = None
    try:
        daemon.wait_ready()
        pid = daemon.proc.pid
        listener = Listener(f"ipc://{tmp_path}/events.sock", "status", "prediction")
        wait_for(lambda: listener.of("prediction", "room"), 15, "predictions before the kill")

        pulse.kill()
        killed_at = time.monotonic()
        wait_for(lambda: {"stalled", "lost"} & set(_states(listener, "room")), 10,
                 f"stalled/lost after the sound server died: {_states(listener, 'room')}")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed_at)))
        assert daemon.proc.poll() is None, f"daemon exited: {daemon.stderr()[-2000:]}"
        quiet = [t for t in daemon.notify.times_of("WATCHDOG=1") if t > killed_at + 2.6]
        assert quiet == [], "WATCHDOG=1 while no audio arrived"

        pulse.start()
        restarted_at = time.monotonic()
        n_before = len(listener.of("prediction", "room"))
        wait_for(lambda: _states(listener, "room")[-1:] == ["running"]
                 and "recovering" in _states(listener, "room"), 45,
                 f"running again after the restart: {_states(listener, 'room')}")
        wait_for(lambda: len(listener.of("prediction", "room")) > n_before + 2, 15,
                 "predictions after recovery")
        wait_for(lambda: any(t > restarted_at for t in daemon.notify.times_of("WATCHDOG=1")),
                 10, "WATCHDOG=1 after recovery")
        assert daemon.proc.poll() is None and daemon.proc.pid == pid
        states = _states(listener, "room")
        assert states[-1] == "running" and states.index("lost") < states.index("recovering"), states

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0, daemon.stderr()[-2000:]
    finally:
        daemon.close()
        if listener is not None:
            listener.close()
        pulse.kill()


@pytest.mark.slow
def test_http_stream_server_stopped_and_restarted(tmp_path: Path) -> None:
    radio = Radio(free_port())
    radio.start()
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "radio"
kind = "url"
target = "http://127.0.0.1:{radio.port}/stream.wav"
[publish]
endpoint = "ipc://{tmp_path}/events.sock"
[control]
endpoint = "off"
""")
    daemon = DaemonProc(tmp_path, config)
    listener = None
    try:
        daemon.wait_ready()
        pid = daemon.proc.pid
        listener = Listener(f"ipc://{tmp_path}/events.sock", "status", "prediction")
        wait_for(lambda: listener.of("prediction", "radio"), 15, "predictions before the drop")

        radio.stop()
        wait_for(lambda: {"stalled", "lost"} & set(_states(listener, "radio")), 15,
                 f"stalled/lost after the stream dropped: {_states(listener, 'radio')}")
        time.sleep(OUTAGE_S)
        assert daemon.proc.poll() is None, f"daemon exited: {daemon.stderr()[-2000:]}"

        radio.start()
        n_before = len(listener.of("prediction", "radio"))
        try:
            wait_for(lambda: _states(listener, "radio")[-1:] == ["running"], 45,
                     "running again after the server came back")
        except AssertionError as exc:
            details = [(e["state"], e["detail"]) for e in listener.of("status", "radio")]
            raise AssertionError(f"{exc}: {details}; daemon: {daemon.stderr()[-3000:]}") from None
        wait_for(lambda: len(listener.of("prediction", "radio")) > n_before + 2, 15,
                 "predictions after reconnecting")
        assert daemon.proc.poll() is None and daemon.proc.pid == pid
        assert "stopped" not in _states(listener, "radio"), _states(listener, "radio")

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0, daemon.stderr()[-2000:]
    finally:
        daemon.close()
        if listener is not None:
            listener.close()
        radio.stop()
