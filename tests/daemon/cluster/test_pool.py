"""How the coordinator cuts the sources into shards and what each shard asks Ray for."""

from __future__ import annotations

import pytest
from genrecast.daemon.cluster.pool import MIN_SHARDS, SOURCES_PER_SHARD, shard_groups, shard_resources


@pytest.mark.parametrize("n", [1, 3, 4, 25, 26, 199, 200, 1001])
def test_every_source_in_exactly_one_shard(n: int) -> None:
    names = [f"s{i}" for i in range(n)]
    groups = shard_groups(names)
    assert sorted(name for g in groups for name in g) == sorted(names)
    assert all(groups)
    assert len(groups) == min(n, max(MIN_SHARDS, -(-n // SOURCES_PER_SHARD)))
    assert max(map(len, groups)) - min(map(len, groups)) <= 1


def test_an_explicit_shard_count_is_kept_but_never_empty() -> None:
    assert len(shard_groups([f"s{i}" for i in range(10)], shards=3)) == 3
    assert len(shard_groups(["a", "b"], shards=8)) == 2


def test_a_one_cpu_node_holds_200_stations_after_the_other_node_died() -> None:
    """What the failover test relies on: 8 shards of 25 fit one node of 1 CPU."""
    groups = shard_groups([f"s{i}" for i in range(200)])
    assert sum(shard_resources(len(g))["num_cpus"] for g in groups) <= 1.0
