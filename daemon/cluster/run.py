"""``genrecast cluster run``: the configuration of ``genrecast run``, its sources over a Ray cluster.

This process is the driver: it joins the cluster, starts the shards (``pool.ClusterPool``) and
serves what users see exactly as the parent of ``[engine] workers = N`` does (``pool_run``): one
ZeroMQ endpoint with every shard's events, the control socket, metrics, MQTT and the dashboard.
"""

from __future__ import annotations

import logging

from genrecast.daemon.cluster.model_files import ModelFiles
from genrecast.daemon.cluster.ray_link import connect, require_ray
from genrecast.daemon.errors import ConfigError
from genrecast.daemon.offline.probe_cache import ensure_probed
from genrecast.daemon.service.pool_run import run_pool
from genrecast.daemon.settings import Settings

log = logging.getLogger(__name__)


def check_clusterable(settings: Settings) -> None:
    """Sources another host can open: url (any node reaches the station) and file (on storage
    every node mounts at the same path). A microphone or stdin belongs to this host."""
    local = [s.name for s in settings.sources if s.kind in ("mic", "stdin")]
    if local:
        raise ConfigError(f"sources {', '.join(local)} are this host's (mic or stdin) and cannot "
                          "run on other nodes; run them with `genrecast run` here, or remove them")


def run_cluster(settings: Settings, address: str, shards: int = 0) -> None:
    require_ray()  # a missing extra is said first
    check_clusterable(settings)
    model = ModelFiles.read(settings.model_path)  # a missing model fails before joining
    # The crash probe runs here, once: the shards load the same bytes without one.
    ensure_probed(settings.model_path)
    ray = connect(address)
    from genrecast.daemon.cluster.pool import ClusterPool

    try:
        run_pool(settings, ClusterPool(settings, ray, address, shards, model))
    finally:
        ray.shutdown()
