"""``threshold SOURCE VALUE`` on the control socket (``genrecast ctl``, Home Assistant's number):
the value is checked like ``[decisions] threshold``, and the source's smoother uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from genrecast.daemon.engine.smoothing import Smoother
from genrecast.daemon.service.control import handle_request
from genrecast.daemon.settings import DecisionSettings


def test_threshold_requests_are_checked() -> None:
    calls: list[tuple[str, float]] = []

    def threshold(source: str, value: float) -> dict[str, Any]:
        calls.append((source, value))
        return {"threshold": value}

    h = {"threshold": threshold}
    assert handle_request(h, b'{"command":"threshold","source":"a","value":0.7}') == \
        {"ok": True, "threshold": 0.7}
    for bad in (b"0", b"1.5", b"-1", b'"0.7"', b"true", b"null", b"1e999"):
        reply = handle_request(h, b'{"command":"threshold","source":"a","value":' + bad + b"}")
        assert not reply["ok"] and "needs a value > 0 and <= 1" in reply["error"], bad
    assert "needs a source" in handle_request(h, b'{"command":"threshold","value":0.7}')["error"]
    assert calls == [("a", 0.7)]


@pytest.mark.parametrize(("threshold", "declared"), [(0.6, "rock"), (0.95, None)])
def test_a_new_threshold_changes_what_is_declared(threshold: float, declared: str | None) -> None:
    s = Smoother(("classical", "rock"), DecisionSettings(smooth_windows=1, threshold=0.6,
                                                         min_windows=2))
    s.set_threshold(threshold)
    decisions = [s.update(np.array([0.1, 0.9]), -20.0, float(i)) for i in range(3)]
    assert decisions[-1].genre == declared


def test_ctl_threshold_checks_the_value_before_asking(tmp_path: Path) -> None:
    import subprocess

    from tests.support.common import genrecast_cmd

    done = subprocess.run(genrecast_cmd("ctl", "threshold", "living", "nan", "--endpoint",
                                        f"ipc://{tmp_path}/control.sock"),
                          capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1, done.stderr
    assert "needs a value > 0 and <= 1, got 'nan'" in lines[0] and "0.7" in lines[0]
