# WARNING: generated from tests/shells/test_identity_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""A replica of another cluster is never used (the source of test_identity.py).

Every node of one cluster shares ``pg_control_system()``'s system_identifier;
a node with another one (a replica DSN of another database, or
``$DATABASE_REPLICA_URLS`` of another application) would serve another
database's rows as if they were ours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import pgcluster
from pgcluster.errors import RoleMismatchError
from pgcluster.testing import LocalCluster, Node, TcpProxy

from ..support import Deadline

WHO = "SELECT current_setting('cluster_name') AS node"


@pytest.fixture(scope="module")
def other_cluster() -> Iterator[LocalCluster]:
    """Another database cluster: a primary and one replica of its own."""
    with LocalCluster(1) as other:
        yield other


def identifier(node: Node) -> int:
    return int(node.execute("SELECT (pg_control_system()).system_identifier::text")[0][0])


def test_a_replica_of_another_cluster_is_refused_at_open(
    local_cluster: LocalCluster, other_cluster: LocalCluster
) -> None:
    ours, theirs = local_cluster.primary, other_cluster.replicas[0]
    cluster = pgcluster.Cluster(ours.dsn, [theirs.dsn], load_catalog=False)
    with pytest.raises(RoleMismatchError) as info:
        cluster.open()
    cluster.close()
    message = str(info.value)
    assert "belongs to another cluster" in message
    assert str(identifier(ours)) in message
    assert str(identifier(theirs)) in message
    assert "password" not in message


def test_a_node_that_turns_out_to_be_of_another_cluster_is_never_read_from(
    local_cluster: LocalCluster, other_cluster: LocalCluster, caplog: pytest.LogCaptureFixture
) -> None:
    # One address, first a replica of ours, then (after a "reconnect") another cluster's.
    ours, theirs = local_cluster.replicas[0], other_cluster.replicas[0]
    with (
        TcpProxy("127.0.0.1", ours.port) as proxy,
        pgcluster.Cluster(
            local_cluster.primary.dsn,
            [proxy.dsn(ours)],
            health_interval=0.1,
            load_catalog=False,
        ) as cluster,
    ):
        name = cluster.replicas[0]
        assert (cluster.query(WHO))[0]["node"] == "replica1"
        proxy.target_port = theirs.port
        proxy.cut()
        proxy.restore()
        deadline = Deadline(10)
        while cluster.get_stats()["nodes"][name]["health"]["status"] != "foreign":
            deadline.sleep("the node to be seen as of another cluster")
        reason = cluster.get_stats()["nodes"][name]["health"]["reason"]
        assert "of another cluster" in reason
        for _ in range(20):  # every read falls back to our primary, never theirs
            assert (cluster.query(WHO))[0]["node"] == "primary"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and name in r.getMessage()]
    assert errors
    assert "rejected" in errors[0].getMessage()


def test_an_explicit_primary_ignores_database_replica_urls(
    local_cluster: LocalCluster, other_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_URLS", other_cluster.replicas[0].dsn)
    with pgcluster.Cluster(local_cluster.primary.dsn, load_catalog=False) as cluster:
        assert cluster.replicas == []
        assert (cluster.query(WHO))[0]["node"] == "primary"
