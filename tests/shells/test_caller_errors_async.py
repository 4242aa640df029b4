"""A client-side error is the caller's, not an outage (the source of test_caller_errors.py).

psycopg refuses some statements before sending them, with an OperationalError
that carries no SQLSTATE, as libpq's connection failures do: more than 65535
parameters, say. The connection is fine: no node is ejected, nothing is
retried, and a write is not "maybe applied".
"""

from __future__ import annotations

import logging

import psycopg
import pytest

import pgcluster
from pgcluster.errors import WriteOutcomeUnknown
from pgcluster.testing import LocalCluster

TOO_MANY = 70000
IN_LIST = "SELECT 1 WHERE 1 IN (" + ",".join(["%s"] * TOO_MANY) + ")"


def statuses(cluster: pgcluster.AsyncCluster) -> dict[str, str]:
    return {name: n["health"]["status"] for name, n in cluster.get_stats()["nodes"].items()}


async def test_too_many_parameters_ejects_no_replica_and_is_not_retried(
    local_cluster: LocalCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pgcluster")
    async with pgcluster.AsyncCluster(
        local_cluster.primary.dsn,
        [r.dsn for r in local_cluster.replicas],
        health_interval=60,  # no probe comes to the rescue: the statement path alone
        load_catalog=False,
    ) as cluster:
        primary = cluster.primary
        assert primary is not None
        before = statuses(cluster)
        with pytest.raises(psycopg.OperationalError, match="number of parameters") as info:
            await cluster.query(IN_LIST, list(range(TOO_MANY)))
        assert not isinstance(info.value, pgcluster.errors.Error)  # psycopg's, unchanged
        assert (
            statuses(cluster)
            == before
            == {
                primary: "primary",
                **{name: "replica" for name in cluster.replicas},
            }
        )
        stats = cluster.get_stats()
        assert sum(n["routed"] for n in stats["nodes"].values()) == 1  # not retried
        assert "ejected" not in caplog.text
        # Reads still spread over both replicas.
        rows = [
            await cluster.query("SELECT current_setting('cluster_name') AS n") for _ in range(4)
        ]
        assert {r[0]["n"] for r in rows} == {"replica1", "replica2"}


async def test_too_many_parameters_in_a_write_is_raised_unchanged_not_maybe_applied(
    local_cluster: LocalCluster,
) -> None:
    async with pgcluster.AsyncCluster(
        local_cluster.primary.dsn,
        [r.dsn for r in local_cluster.replicas],
        health_interval=60,
        load_catalog=False,
    ) as cluster:
        insert = "SELECT %s::int WHERE 1 IN (" + ",".join(["%s"] * TOO_MANY) + ")"
        with pytest.raises(psycopg.OperationalError, match="number of parameters") as info:
            await cluster.query(insert, [0, *range(TOO_MANY)], target="primary")
        assert not isinstance(info.value, WriteOutcomeUnknown)
        assert statuses(cluster)[str(cluster.primary)] == "primary"
        assert (await cluster.query("SELECT 1 AS one", target="primary"))[0]["one"] == 1


async def test_too_many_parameters_in_a_tx_leaves_the_primary_in_service(
    local_cluster: LocalCluster,
) -> None:
    async with pgcluster.AsyncCluster(
        local_cluster.primary.dsn, [], health_interval=60, load_catalog=False
    ) as cluster:
        with pytest.raises(psycopg.OperationalError, match="number of parameters"):
            async with cluster.tx() as tx:
                await tx.query(IN_LIST, list(range(TOO_MANY)))
        assert statuses(cluster)[str(cluster.primary)] == "primary"
