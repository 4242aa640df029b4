"""With no usable replica, reads go to the primary, or fail clearly when that is turned off."""

from __future__ import annotations

import pytest

import pgcluster
from pgcluster.errors import UnavailableError
from pgcluster.testing import ClusterNodes

from ..support import Deadline

WHO = "SELECT current_setting('cluster_name') AS node"


@pytest.mark.parametrize("fallback", [True, False])
def test_reads_when_every_replica_is_down(fresh_cluster: ClusterNodes, fallback: bool) -> None:
    replicas = [n.dsn for n in fresh_cluster.replicas]
    with pgcluster.Cluster(
        fresh_cluster.primary.dsn,
        replicas,
        health_interval=0.1,
        probe_timeout=1.0,
        timeout=2.0,
        fallback_to_primary=fallback,
    ) as cluster:
        assert cluster.get_stats()["reads_on_primary"] is False
        for node in fresh_cluster.replicas:
            node.kill()
        deadline = Deadline(10)
        while not all(
            node["health"]["status"] == "unavailable"
            for node in cluster.get_stats()["nodes"].values()
            if node["role"] == "replica"
        ):
            deadline.sleep("both replicas to be known down")
        if fallback:
            assert cluster.get_stats()["reads_on_primary"] is True
            assert {cluster.query(WHO)[0]["node"] for _ in range(10)} == {"primary"}
        else:
            with pytest.raises(UnavailableError, match="fallback_to_primary is off"):
                cluster.query(WHO)
        # Writes are not affected.
        assert cluster.query("SELECT txid_current() > 0 AS ok") == [{"ok": True}]
