"""The dashboard in a real browser against a real daemon: headless Chromium (DevTools protocol on
a pipe) loads the page from `genrecast run` with two file sources (the tone model: low, then
high) and an HTTP radio. The page shows every source and the genre changes; the radio killed
shows as lost; the daemon killed shows as unreachable; the page reconnects to its successor.
A screenshot is kept under the test's tmp path (and copied to GENRECAST_DASHBOARD_PNG if set).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support.browser import Browser
from tests.support.common import TONE_MODEL, tone
from tests.support.daemon_proc import DaemonProc
from tests.support.radio import Radio, free_port

PAGE_LAG_LIMIT_S = 2.0  # the bound: a failure or a stopped daemon on the page within 2 s

SOURCES_JS = """[...document.querySelectorAll('#cards [data-source]')].map(e =>
    [e.dataset.source, e.dataset.state, e.dataset.genre])"""


def _config(tmp: Path, low_high: Path, high_low: Path, radio_port: int, web_port: int) -> Path:
    path = tmp / "genrecast.toml"
    path.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "kitchen"
kind = "file"
target = "{low_high}"
loop = true
[[sources]]
name = "studio"
kind = "file"
target = "{high_low}"
loop = true
[[sources]]
name = "radio"
kind = "url"
target = "http://127.0.0.1:{radio_port}/stream.wav"
[publish]
endpoint = "ipc://{tmp}/events.sock"
heartbeat_s = 1.0
[control]
endpoint = "ipc://{tmp}/control.sock"
[web]
listen = "127.0.0.1:{web_port}"
""")
    return path


def _page_sources(browser: Browser) -> dict[str, tuple[str, str]]:
    return {name: (state, genre) for name, state, genre in browser.evaluate(SOURCES_JS) or []}


@pytest.mark.slow
def test_dashboard_in_chromium(tmp_path: Path, low_high_wav: Path) -> None:
    high_low = tmp_path / "high_low.wav"
    sf.write(high_low, np.concatenate((tone(150, 10, 48_000), tone(50, 10, 48_000))), 48_000,
             subtype="PCM_16")
    radio = Radio(free_port())
    radio.start()
    web_port = free_port()
    config = _config(tmp_path, low_high_wav, high_low, radio.port, web_port)
    first = DaemonProc(tmp_path, config)
    browser = Browser(tmp_path)
    second: DaemonProc | None = None
    try:
        first.wait_ready(60)
        browser.goto(f"http://127.0.0.1:{web_port}/")
        browser.wait_for("document.getElementById('conn').dataset.state === 'live'", 20,
                         "the page to connect")
        browser.wait_for(f"(() => {{ const s = {SOURCES_JS}; return s.length === 3 && "
                         "s.every(x => x[1] === 'running'); })()", 30,
                         "three running sources on the page")
        assert browser.evaluate("document.getElementById('model').textContent").startswith(
            "tone@")

        # Genre changes appear: each file source is seen as low and as high (they loop).
        seen: dict[str, set[str]] = {"kitchen": set(), "studio": set()}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all({"low", "high"} <= g for g in seen.values()):
            for name, (_, genre) in _page_sources(browser).items():
                if name in seen and genre:
                    seen[name].add(genre)
            time.sleep(0.2)
        assert all({"low", "high"} <= g for g in seen.values()), seen
        assert _page_sources(browser)["radio"][1] == "high"  # the radio plays 150 Hz
        windows = int(browser.evaluate("document.getElementById('windows').textContent"))
        assert windows > 20
        # The timelines are drawn from the server's history plus the live updates.
        points = browser.evaluate(
            "[...window.genrecast.sources.values()].map(s => s.timeline ? s.timeline.size : 0)")
        assert min(points) >= 3, points
        shot = browser.screenshot(tmp_path / "dashboard.png")
        assert shot.stat().st_size > 10_000
        if os.environ.get("GENRECAST_DASHBOARD_PNG"):
            shutil.copy(shot, os.environ["GENRECAST_DASHBOARD_PNG"])

        # A source that fails shows as lost, within 2 s of the daemon's status event.
        radio.stop()
        browser.wait_for("(() => { const e = document.querySelector("
                         "'#cards [data-source=\"radio\"]'); return e && "
                         "e.dataset.state === 'lost'; })()", 30, "the radio shown as lost")
        lag_s = browser.evaluate("(() => { const s = window.genrecast.sources.get('radio'); "
                                 "return (s.stateShownAt - Date.parse(s.stateEventTime)) / 1000; "
                                 "})()")
        assert 0 <= lag_s < PAGE_LAG_LIMIT_S, lag_s
        browser.screenshot(tmp_path / "dashboard-radio-lost.png")

        # The daemon killed: the page says so within 2 s.
        killed_at_ms = time.time() * 1000
        first.proc.send_signal(signal.SIGKILL)
        browser.wait_for("document.getElementById('conn').dataset.state === 'down'", 10,
                         "the page to show the daemon unreachable")
        down_lag_s = (browser.evaluate("window.genrecast.connSince") - killed_at_ms) / 1000
        assert down_lag_s < PAGE_LAG_LIMIT_S, down_lag_s
        assert not browser.evaluate("document.getElementById('banner').hidden")
        first.close()

        # A new daemon on the same address: the page reconnects by itself and shows it.
        radio.start()
        (tmp_path / "second").mkdir()
        second = DaemonProc(tmp_path / "second", config)
        browser.wait_for("document.getElementById('conn').dataset.state === 'live'", 60,
                         "the page to reconnect to the restarted daemon")
        browser.wait_for(f"(() => {{ const s = {SOURCES_JS}; return s.length === 3 && "
                         "s.filter(x => x[1] === 'running').length >= 2; })()", 60,
                         "the restarted daemon's sources on the page")
        assert browser.evaluate("document.getElementById('banner').hidden")
    finally:
        browser.close()
        first.close()
        if second is not None:
            second.close()
        radio.stop()
