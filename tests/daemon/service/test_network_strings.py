"""A hostile station answers with a 60 KB HTTP reason phrase full of terminal escape sequences
(set the window title, clear the screen). What reaches a person, a log, an event and the
heartbeat is escaped and bounded: ``ctl status``, ``genrecast listen``, the ``-v`` log and every
heartbeat."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from genrecast.daemon.text import MAX_DETAIL_CHARS

from tests.support.common import TONE_MODEL
from tests.support.daemon_proc import DaemonProc, Listener, genrecast, wait_for
from tests.support.icy_server import OneShotServer

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m"
REASON = "Busy " + ESCAPES + "A" * 60_000


def _has_raw_control(text: str) -> bool:
    return any(c in text for c in "\x1b\x07\x9b")


@pytest.mark.slow
def test_a_hostile_reason_phrase_is_escaped_and_bounded(tmp_path: Path,
                                                        low_high_wav: Path) -> None:
    station = OneShotServer("", b"", status="503 " + REASON)
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "room"
kind = "file"
target = "{low_high_wav}"
loop = true
[[sources]]
name = "radio"
kind = "url"
target = "http://127.0.0.1:{station.port}/live"
[publish]
endpoint = "ipc://{tmp_path}/events.sock"
heartbeat_s = 0.3
[control]
endpoint = "ipc://{tmp_path}/control.sock"
""")
    readable = subprocess.Popen(genrecast("listen", f"ipc://{tmp_path}/events.sock", "--kind",
                                          "status", "--source", "radio", "--count", "2",
                                          "--seconds", "60"),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    beats = Listener(f"ipc://{tmp_path}/events.sock", "heartbeat")
    daemon = DaemonProc(tmp_path, config, verbose=True)
    try:
        daemon.wait_ready(60)

        def radio_detail() -> str:
            for beat in reversed(beats.of("heartbeat")):
                detail = str(beat.get("sources", {}).get("radio", {}).get("reason", ""))
                if "Busy" in detail:
                    return detail
            return ""

        detail = wait_for(radio_detail, 30, "the station's reason in a heartbeat")
        # "lost: " + the detail + ", retry in 4.2 s"
        assert len(detail) <= MAX_DETAIL_CHARS + 40, len(detail)
        assert not _has_raw_control(detail), detail[:200]
        assert "\\x1b]0;owned" in detail  # escaped, still readable

        def ctl_while_lost() -> subprocess.CompletedProcess[str] | None:
            # between two attempts the source is "lost" with the station's reason; while it
            # reopens it is "recovering" (no reason): ask until the status names it
            ctl = subprocess.run(genrecast("ctl", "--endpoint", f"ipc://{tmp_path}/control.sock",
                                           "status"), capture_output=True, text=True, timeout=30)
            assert ctl.returncode == 0, ctl.stderr
            lines = [line for line in ctl.stdout.splitlines() if "radio:" in line]
            return ctl if lines and "Busy" in lines[0] else None

        ctl = wait_for(ctl_while_lost, 30, "ctl status to show the station's reason",
                       interval_s=0.2)
        radio = [line for line in ctl.stdout.splitlines() if "radio:" in line]
        assert not _has_raw_control(ctl.stdout) and len(radio[0]) < 2 * MAX_DETAIL_CHARS

        out, _ = readable.communicate(timeout=60)
        assert "Busy" in out and not _has_raw_control(out), out[:500]
        assert all(len(line) < 2 * MAX_DETAIL_CHARS for line in out.splitlines())

        log = daemon.stderr()
        assert "Busy" in log and not _has_raw_control(log)
        assert max(len(line) for line in log.splitlines()) < 2 * MAX_DETAIL_CHARS
    finally:
        if readable.poll() is None:
            readable.kill()
        readable.communicate()  # closes its pipe whatever happened
        beats.close()
        daemon.close()
        station.close()
