# WARNING: generated from tests/shells/test_read_your_writes_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""Read-your-writes against a real primary and replicas (source of test_read_your_writes.py)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import pgcluster
from pgcluster.errors import ConfigurationError
from pgcluster.testing import LocalCluster

_tables = (f"{__name__.rpartition('.')[2]}_t{n}" for n in itertools.count())

WHO = "current_setting('cluster_name')"


def make(local_cluster: LocalCluster, **options: Any) -> pgcluster.Cluster:
    replicas = [n.dsn for n in local_cluster.replicas]
    return pgcluster.Cluster(local_cluster.primary.dsn, replicas, health_interval=0.05, **options)


@pytest.fixture
def counter(local_cluster: LocalCluster) -> Iterator[str]:
    name = next(_tables)
    local_cluster.primary.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, v int)")
    local_cluster.primary.execute(f"INSERT INTO {name} VALUES (1, 0)")
    local_cluster.wait_replicated()
    yield name
    local_cluster.primary.execute(f"DROP TABLE {name}")


def test_500_writes_each_read_back_never_stale(local_cluster: LocalCluster, counter: str) -> None:
    with make(local_cluster, read_your_writes=True, causal_wait=0.2) as cluster:
        where: Counter[str] = Counter()
        for _ in range(500):
            wrote = cluster.query(f"UPDATE {counter} SET v = v + 1 RETURNING v")
            read = cluster.query(f"SELECT v, {WHO} AS node FROM {counter}")
            assert read[0]["v"] == wrote[0]["v"], f"stale read on {read[0]['node']}"
            where[read[0]["node"]] += 1
    print(f"\n500 write-then-read pairs, reads served by: {dict(where)}")
    assert sum(where[name] for name in ("replica1", "replica2")) > 0  # replicas still serve


def test_a_token_carries_the_position_to_another_cluster_object(
    local_cluster: LocalCluster, counter: str
) -> None:
    with make(local_cluster, read_your_writes=True) as writer:
        assert writer.consistency_token() is None
        rows = writer.query(f"UPDATE {counter} SET v = 42 RETURNING v")
        token = writer.consistency_token()
    assert token is not None
    assert rows == [{"v": 42}]
    # Another process (here: another cluster object) restores the token.
    with make(local_cluster) as reader, reader.consistent_with(token):
        assert (reader.query(f"SELECT v FROM {counter}"))[0]["v"] == 42
        assert reader.consistency_token() == token


def test_a_transaction_counts_as_a_write(local_cluster: LocalCluster, counter: str) -> None:
    with make(local_cluster, read_your_writes=True) as cluster:
        for n in range(20):
            with cluster.tx() as tx:
                tx.query(f"UPDATE {counter} SET v = %s", [n])
            assert (cluster.query(f"SELECT v FROM {counter}"))[0]["v"] == n


def test_a_task_on_the_primary_counts_as_a_write(local_cluster: LocalCluster, counter: str) -> None:
    # With replay paused on every replica, a read that went to one would be stale.
    for replica in local_cluster.replicas:
        replica.execute("SELECT pg_wal_replay_pause()")
    try:
        with make(local_cluster, read_your_writes=True) as cluster:
            for n in range(1, 6):
                with cluster.task() as task:
                    task.query(f"UPDATE {counter} SET v = %s", [n])
                assert (cluster.query(f"SELECT v FROM {counter}"))[0]["v"] == n
    finally:
        for replica in local_cluster.replicas:
            replica.execute("SELECT pg_wal_replay_resume()")


@pytest.mark.parametrize("token", ["", "garbage", "1.zz", "9.1.1", "1." + "f" * 40])
def test_a_malformed_token_is_a_clear_error(local_cluster: LocalCluster, token: str) -> None:
    with (
        make(local_cluster) as cluster,
        pytest.raises(ConfigurationError),
        cluster.consistent_with(token),
    ):
        pass
