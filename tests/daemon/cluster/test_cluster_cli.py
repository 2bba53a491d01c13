"""The cluster commands' edges, as a user meets them: ``genrecast`` never imports Ray unless a
cluster command runs; without the ``[cluster]`` extra such a command prints one line naming it
(exit 72); a head nobody answers at is one line (exit 68); a microphone cannot go to a cluster."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.daemon_proc import genrecast
from tests.support.icecast import free_port

BLOCK_RAY = """
import sys
class _NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError("No module named 'ray'")
sys.meta_path.insert(0, _NoRay())
from genrecast.daemon.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_the_cli_does_not_import_ray() -> None:
    code = ("import sys; from genrecast.daemon.cli.main import app, main; "
            "main(['--help']); assert 'ray' not in sys.modules, 'ray imported'")
    proc = _run(sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert "cluster" in proc.stdout


@pytest.mark.parametrize("args", [
    ("cluster", "run", "--address", "127.0.0.1:1", "-s", "url:http://127.0.0.1:1/x"),
    ("classify", "--cluster", "127.0.0.1:1", "--summary", "."),
])
def test_without_the_extra_one_line_names_it(args: tuple[str, ...]) -> None:
    proc = _run(sys.executable, "-c", BLOCK_RAY, *args)
    assert proc.returncode == 72, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'genrecast[cluster]'" in lines[0], proc.stderr


def test_a_head_nobody_answers_at_is_one_line() -> None:
    pytest.importorskip("ray", reason="the [cluster] extra is not installed")
    port = free_port()
    proc = _run(*genrecast("cluster", "run", "--address", f"127.0.0.1:{port}",
                           "-s", "url:http://127.0.0.1:1/x"))
    assert proc.returncode == 68, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "ray start --head" in lines[0]


def test_a_malformed_address_is_one_line() -> None:
    pytest.importorskip("ray", reason="the [cluster] extra is not installed")
    proc = _run(*genrecast("cluster", "run", "--address", "head-without-port",
                           "-s", "url:http://127.0.0.1:1/x"))
    assert proc.returncode == 68, proc.stderr
    assert "HOST:PORT" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_microphone_stays_on_this_host() -> None:
    pytest.importorskip("ray", reason="the [cluster] extra is not installed")
    proc = _run(*genrecast("cluster", "run", "--address", "127.0.0.1:1", "-s", "mic"))
    assert proc.returncode == 78, proc.stderr
    assert "mic" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
