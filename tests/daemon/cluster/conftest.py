"""One real Ray cluster for the cluster tests of a run: a head (no CPUs) and worker node ``w1``;
the tests add ``w2`` themselves (classify compares one node with two; failover kills one).
Starting a node costs seconds of ``ray start``, so the cluster is shared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    pytest.importorskip("ray", reason="the [cluster] extra is not installed")
    from tests.support.ray_cluster import RayCluster

    cluster = RayCluster()
    try:
        cluster.start_head()
        cluster.add_node("w1")
        yield cluster
    finally:
        cluster.stop()
