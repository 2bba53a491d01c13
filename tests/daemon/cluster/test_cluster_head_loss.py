"""The Ray head lost while ``genrecast cluster run`` runs: the run ends with one line and exit
code 68 within HEAD_LOST_S and a little, not a minute later by Ray's own fatal exit (code 1).

A cluster of its own (the shared one must outlive this test)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support.daemon_proc import genrecast, wait_for
from tests.support.icecast import Icecast, free_port

pytest.importorskip("ray", reason="the [cluster] extra is not installed")

from genrecast.daemon.cluster.pool import HEAD_LOST_S  # noqa: E402
from genrecast.daemon.service.control import request  # noqa: E402

from tests.support.ray_cluster import RayCluster  # noqa: E402

DEMO = Path(__file__).resolve().parents[3] / "daemon" / "demo" / "demo.ogg"
SOURCES = 8


@pytest.mark.slow
def test_a_lost_head_ends_the_run_with_one_line(tmp_path: Path) -> None:
    icecast = Icecast(clients=SOURCES + 5)
    cluster = RayCluster()
    daemon: subprocess.Popen[str] | None = None
    try:
        icecast.start()
        icecast.feed("/radio", DEMO)
        cluster.start_head()
        cluster.add_node("w1")
        config = tmp_path / "stations.toml"
        config.write_text(
            f'[publish]\nendpoint = "tcp://127.0.0.1:{free_port()}"\n'
            f'[control]\nendpoint = "ipc://{tmp_path}/control.sock"\n'
            + "".join(f'[[sources]]\nname = "s{i}"\nkind = "url"\n'
                      f'target = "{icecast.url("/radio")}"\n' for i in range(SOURCES)))
        daemon = subprocess.Popen(genrecast("cluster", "run", "--address", cluster.address,
                                            "-c", str(config)),
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

        def running() -> bool:
            assert daemon is not None and daemon.poll() is None
            try:
                reply = request(f"ipc://{tmp_path}/control.sock", "status", timeout_s=5)
            except Exception:
                return False
            return sum(v["state"] == "running" for v in reply["sources"].values()) == SOURCES

        wait_for(running, 120, "every source running", interval_s=0.5)
        killed = time.monotonic()
        cluster.kill_node("head")
        _, err = daemon.communicate(timeout=HEAD_LOST_S + 30)
        took = time.monotonic() - killed
        print(f"\nhead lost: the run ended after {took:.1f} s with exit code {daemon.returncode}")
        assert daemon.returncode == 68, err[-2000:]
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "lost the Ray head" in errors[0], err[-2000:]
        assert "Traceback" not in err
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
        cluster.stop()
        icecast.stop()
