"""The primary dies and nobody promotes a replica: writes fail clearly, reads go on."""

from __future__ import annotations

import time

import pytest

import pgcluster
from pgcluster.errors import NoPrimaryError
from pgcluster.testing import ClusterNodes

from ..support import Deadline


def test_no_primary_within_failover_timeout(fresh_cluster: ClusterNodes) -> None:
    with pgcluster.Cluster(
        fresh_cluster.primary.dsn,
        [n.dsn for n in fresh_cluster.replicas],
        health_interval=0.1,
        probe_timeout=1.0,
        timeout=1.0,
        failover_timeout=1.5,
    ) as cluster:
        fresh_cluster.primary.kill()
        deadline = Deadline(10)
        while cluster.get_stats()["primary"] is not None:
            deadline.sleep("the primary to be known down")
        started = time.monotonic()
        with pytest.raises(
            NoPrimaryError, match="no usable primary within failover_timeout"
        ) as info:
            cluster.query("CREATE TABLE t (x int)")  # never sent: the primary is known down
        waited = time.monotonic() - started
        # The message says what was last seen of each node, without secrets.
        assert "unavailable" in str(info.value)
        assert 1.4 <= waited < 5.0
        # Reads still work: the replicas are fine.
        rows = cluster.query("SELECT current_setting('cluster_name') AS node")
        assert rows[0]["node"].startswith("replica")


def test_a_cluster_opens_and_reads_while_its_primary_is_down(fresh_cluster: ClusterNodes) -> None:
    # An application (re)started during an outage of the primary serves reads at once,
    # and learns its own functions' volatility once the primary is back.
    primary = fresh_cluster.primary
    primary.execute(
        "CREATE FUNCTION price_of(int) RETURNS int LANGUAGE sql STABLE AS 'SELECT $1 * 2'"
    )
    fresh_cluster.wait_replicated()
    primary.kill()
    started = time.monotonic()
    with pgcluster.Cluster(
        primary.dsn,
        [n.dsn for n in fresh_cluster.replicas],
        health_interval=0.1,
        probe_timeout=1.0,
        timeout=10.0,
    ) as cluster:
        rows = cluster.query("SELECT current_setting('cluster_name') AS node")
        assert time.monotonic() - started < 5.0, "opening waited for the dead primary"
        assert rows[0]["node"].startswith("replica")

        primary.start()
        deadline = Deadline(10)
        while cluster.get_stats()["primary"] is None:
            deadline.sleep("the primary to be admitted again")
        # The catalog is loaded on the next statement: the STABLE function is read on replicas.
        for _ in range(4):
            row = cluster.query("SELECT price_of(2) AS p, current_setting('cluster_name') AS node")
            assert row[0]["p"] == 4
            assert row[0]["node"].startswith("replica")
