"""`genrecast demo --web ADDR` serves the dashboard too (a real process, the bundled recording)."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest

from tests.support.common import TONE_MODEL, genrecast_cmd
from tests.support.daemon_proc import wait_for
from tests.support.radio import free_port


@pytest.mark.slow
def test_demo_opens_the_dashboard() -> None:
    port = free_port()
    proc = subprocess.Popen(genrecast_cmd("demo", "--file", "--model", str(TONE_MODEL),
                                          "--seconds", "60", "--kind", "genre",
                                          "--web", f"127.0.0.1:{port}"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def status() -> dict | None:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status",
                                            timeout=20) as r:
                    body = json.load(r)
            except OSError:
                return None
            source = body["dashboard"]["sources"].get("demo", {})
            return body if source.get("state") == "running" and source.get("top") else None

        body = wait_for(status, 60, "the demo's source classified on /api/status")
        assert body["status"]["model"].startswith("tone@")
        assert set(body["snapshot"]["sources"]) == {"demo"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20) as r:
            assert b"/app.js" in r.read()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert f"dashboard on http://127.0.0.1:{port}/" in err
