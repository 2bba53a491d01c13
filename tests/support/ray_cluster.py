"""A real Ray cluster on this host: a head and worker nodes, each started with ``ray start`` as
separate processes, on free ports, in a temporary folder of its own.

The head runs no work (``--num-cpus=0``, as KubeRay's head does); each worker node gets one CPU
and a name (``--node-name``) that genrecast shows for the sources it runs. ``kill_node`` ends a
node the way a host losing power would: SIGKILL to every process of that ``ray start`` (its own
session) and to every process its raylet started (Ray gives each worker a session of its own).
Never ``ray stop``: it ends every Ray process on the host, other users' included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.icecast import free_port

RAY = str(Path(sys.executable).with_name("ray"))
START_TIMEOUT_S = 90.0
OBJECT_STORE_BYTES = 100_000_000  # Ray's least; the model and settings are all it holds


class RayCluster:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ray-"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.sessions: dict[str, int] = {}  # node name → its ray start's session (= pgid)

    def _start(self, name: str, args: list[str]) -> None:
        log = (self.dir / f"{name}.log").open("w")
        # A session of its own: what ray start leaves running keeps its session id (= its pid)
        proc = subprocess.Popen([RAY, "start", *args, "--disable-usage-stats",
                                 f"--object-store-memory={OBJECT_STORE_BYTES}"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True,
                                env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
        self.sessions[name] = proc.pid
        code = proc.wait(START_TIMEOUT_S)
        log.close()
        if code != 0:
            raise RuntimeError(f"ray start {name} failed: "
                               f"{(self.dir / f'{name}.log').read_text()[-2000:]}")

    def start_head(self) -> None:
        self._start("head", ["--head", f"--port={self.port}", "--num-cpus=0",
                             "--node-ip-address=127.0.0.1", "--include-dashboard=false",
                             f"--ray-client-server-port={free_port()}",
                             f"--dashboard-port={free_port()}",
                             f"--temp-dir={self.dir / 'tmp'}"])

    def add_node(self, name: str, cpus: int = 1) -> None:
        self._start(name, [f"--address={self.address}", f"--num-cpus={cpus}",
                           "--node-ip-address=127.0.0.1", f"--node-name={name}",
                           f"--dashboard-agent-listen-port={free_port()}"])

    def _processes(self, name: str) -> list[int]:
        """Every process of node ``name``: its session, and what those processes started."""
        sid = self.sessions[name]
        table = _process_table()
        pids = {pid for pid, (_, session) in table.items() if session == sid}
        grew = True
        while grew:  # children, grandchildren, ...
            more = {pid for pid, (parent, _) in table.items() if parent in pids} - pids
            pids |= more
            grew = bool(more)
        return sorted(pids)

    def kill_node(self, name: str) -> list[int]:
        pids = self._processes(name)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        del self.sessions[name]
        return pids

    def stop(self) -> None:
        for name in [n for n in self.sessions if n != "head"] + ["head"]:
            if name in self.sessions:
                for pid in self._processes(name):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
        time.sleep(1.0)
        for name in list(self.sessions):
            self.kill_node(name)
        shutil.rmtree(self.dir, ignore_errors=True)


def _process_table() -> dict[int, tuple[int, int]]:
    """pid → (parent pid, session id), from /proc."""
    table: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "(command)": state ppid pgrp sid
        table[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return table
