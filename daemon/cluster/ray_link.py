"""Ray, imported only when a cluster command runs, and the connection to a cluster's head.

``--address HOST:PORT`` is checked with a plain TCP connection first: ``ray.init`` on an address
nobody answers waits for a long time before it fails, and a user who mistyped the head deserves
one line at once (exit code 68). ``auto`` is the cluster this host belongs to (``ray start``).
"""

from __future__ import annotations

import logging
import socket
from types import ModuleType
from typing import Any

from genrecast.daemon.errors import HostUnreachable, NotInstalled

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0
NAMESPACE = "genrecast"
INSTALL_HINT = "pip install 'genrecast[cluster]'"


def require_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise NotInstalled(f"the cluster commands need Ray, which is not installed: "
                           f"{INSTALL_HINT}") from None
    return ray


def _host_port(address: str) -> tuple[str, int]:
    text = address.removeprefix("ray://").removeprefix("tcp://")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise HostUnreachable(f"--address {address!r} must be HOST:PORT of the Ray head "
                              "(e.g. 10.0.0.5:6379) or auto")
    return host.strip("[]"), int(port)


def probe(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Raise HostUnreachable unless something accepts TCP connections at ``address``."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise HostUnreachable(f"cannot reach the Ray head at {host}:{port} ({reason}); start it "
                              "with `ray start --head` there, or give the right --address") from None


def connect(address: str) -> ModuleType:
    """``ray.init`` as a driver of the cluster at ``address`` (``auto``: this host's)."""
    ray = require_ray()
    if address != "auto":
        probe(address)
    kwargs: dict[str, Any] = {"address": address, "namespace": NAMESPACE,
                              "logging_level": logging.WARNING, "configure_logging": False}
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HostUnreachable(f"cannot join the Ray cluster at {address}: {first}; start a head "
                              "with `ray start --head`, or give its HOST:PORT") from None
    return ray


def alive_nodes(ray: ModuleType) -> list[dict[str, Any]]:
    """The nodes that can run shards: alive, with CPUs (a head started with --num-cpus=0 runs
    none, as KubeRay's head does)."""
    return [n for n in ray.nodes()
            if n.get("Alive") and float(n.get("Resources", {}).get("CPU", 0)) > 0]


def node_label(node: dict[str, Any]) -> str:
    """What users see as a node: its name (``ray start --node-name``), else its address."""
    return str(node.get("NodeName") or node.get("NodeManagerAddress") or node.get("NodeID", "?"))
