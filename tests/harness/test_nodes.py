"""The node interface that the failover suite relies on, on whichever backend runs it.

``fresh_cluster`` is local processes by default and compose containers with
PGCLUSTER_TEST_TARGET=compose: these tests hold both to the same behaviour.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from pgcluster.testing import ClusterNodes


def test_nodes_are_named_streaming_and_on_loopback(fresh_cluster: ClusterNodes) -> None:
    assert [n.name for n in fresh_cluster.nodes] == ["primary", "replica1", "replica2"]
    for node in fresh_cluster.nodes:
        assert node.host == "127.0.0.1"
        assert f"port={node.port}" in node.dsn
        assert node.execute("SELECT current_setting('cluster_name')") == [(node.name,)]
        assert node.is_running
        assert not node.is_paused
    assert len({n.port for n in fresh_cluster.nodes}) == 3
    assert not fresh_cluster.primary.in_recovery()
    assert all(r.in_recovery() for r in fresh_cluster.replicas)
    streaming = fresh_cluster.primary.execute(
        "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'"
    )
    assert sorted(row[0] for row in streaming) == ["replica1", "replica2"]


def test_a_killed_replica_restarts_and_streams_again(fresh_cluster: ClusterNodes) -> None:
    primary, replica = fresh_cluster.primary, fresh_cluster.replicas[0]
    replica.kill()
    assert not replica.is_running
    with pytest.raises(psycopg.OperationalError):
        replica.connect(connect_timeout=2)
    primary.execute("CREATE TABLE while_down AS SELECT 1 AS x")

    replica.start(timeout=30)
    assert replica.is_running
    primary.wait_streaming([replica.name], timeout=30)
    fresh_cluster.wait_replicated(timeout=10)
    assert replica.execute("SELECT x FROM while_down") == [(1,)]


def test_a_killed_primary_restarts_with_its_acknowledged_writes(
    fresh_cluster: ClusterNodes,
) -> None:
    primary = fresh_cluster.primary
    primary.execute("CREATE TABLE acked (id int)")
    primary.execute("INSERT INTO acked SELECT generate_series(1, 100)")
    primary.kill()
    primary.start(timeout=30)
    assert primary.execute("SELECT count(*) FROM acked") == [(100,)]
    assert not primary.in_recovery()


def test_a_paused_node_hangs_clients_until_resumed(fresh_cluster: ClusterNodes) -> None:
    replica = fresh_cluster.replicas[0]
    replica.pause()
    try:
        assert replica.is_running
        assert replica.is_paused
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            replica.connect(connect_timeout=2)  # the kernel accepts; nobody answers
        assert 1.5 < time.monotonic() - started < 10
    finally:
        replica.resume()
    assert not replica.is_paused
    assert replica.execute("SELECT 1") == [(1,)]


def test_stop_modes_and_restart(fresh_cluster: ClusterNodes) -> None:
    replica = fresh_cluster.replicas[1]
    for mode in ("smart", "fast", "immediate"):
        replica.stop(mode)
        assert not replica.is_running
        replica.start()
        assert replica.execute("SELECT 1") == [(1,)]


def test_after_a_promotion_the_old_primary_and_the_other_replica_follow(
    fresh_cluster: ClusterNodes,
) -> None:
    old = fresh_cluster.primary
    new, other = fresh_cluster.replicas
    old.execute("CREATE TABLE before_failover AS SELECT 1 AS x")
    old.stop()  # a clean shutdown: the standbys have all of its WAL, so it can follow
    new.promote()
    assert not new.in_recovery()
    new.execute("CREATE TABLE after_failover AS SELECT 'written' AS v")

    other.follow(new, timeout=30)  # a running standby: re-pointed and reloaded
    old.follow(new, timeout=30)  # a stopped primary: started again as a standby
    for node in (other, old):
        assert node.is_running
        assert node.in_recovery()
    new.execute("INSERT INTO after_failover VALUES ('later')")
    for node in (other, old):
        node.wait_replayed(new.current_lsn(), timeout=10)
        assert sorted(node.execute("SELECT v FROM after_failover")) == [("later",), ("written",)]
        assert node.execute("SELECT x FROM before_failover") == [(1,)]
