# WARNING: generated from tests/shells/test_cluster_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""Cluster against a real primary and two replicas (the source of test_cluster.py).

Where a statement ran is asked of the servers themselves: each node of the
harness has its own ``cluster_name``, which a statement can return.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import pgcluster
from pgcluster.errors import (
    ConfigurationError,
    InvalidQueryError,
    NoPrimaryError,
    PoolClosedError,
    ReplicaWriteError,
    SessionStatementError,
)
from pgcluster.testing import LocalCluster

# Named after the module: the generated sync twin must not reuse these names.
_tables = (f"{__name__.rpartition('.')[2]}_t{n}" for n in itertools.count())

WHO = "current_setting('cluster_name')"


def dsns(local_cluster: LocalCluster) -> tuple[str, list[str]]:
    return local_cluster.primary.dsn, [node.dsn for node in local_cluster.replicas]


@pytest.fixture
def cluster(local_cluster: LocalCluster) -> Iterator[pgcluster.Cluster]:
    primary, replicas = dsns(local_cluster)
    with pgcluster.Cluster(primary, replicas, max_size=4, timeout=10) as cluster:
        yield cluster


@pytest.fixture
def table(cluster: pgcluster.Cluster, local_cluster: LocalCluster) -> Iterator[str]:
    """A fresh table ``(id serial primary key, v text)``, already on every replica."""
    name = next(_tables)
    cluster.query(f"CREATE TABLE {name} (id serial PRIMARY KEY, v text)")
    local_cluster.wait_replicated()
    yield name
    cluster.query(f"DROP TABLE {name}")


def where(cluster: pgcluster.Cluster, sql: str = f"SELECT {WHO} AS node") -> str:
    rows = cluster.query(sql)
    node: str = rows[0]["node"]
    return node


# -- routing -----------------------------------------------------------------


def test_reads_spread_over_the_replicas_and_never_hit_the_primary(
    cluster: pgcluster.Cluster,
) -> None:
    seen = Counter([where(cluster) for _ in range(1000)])
    print(f"\n1000 reads, as the servers reported them: {dict(seen)}")
    assert set(seen) == {"replica1", "replica2"}
    assert abs(seen["replica1"] - seen["replica2"]) <= 100  # round-robin: even, within 10 %


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO {t} (v) VALUES ('a') RETURNING {who} AS node",
        "UPDATE {t} SET v = 'b' RETURNING {who} AS node",
        "WITH moved AS (DELETE FROM {t} RETURNING id) SELECT {who} AS node",
        "SELECT {who} AS node FROM {t} FOR UPDATE",
        "SELECT nextval('{t}_id_seq'), {who} AS node",
    ],
)
def test_every_write_lands_on_the_primary(
    cluster: pgcluster.Cluster, table: str, write: str
) -> None:
    cluster.query(f"INSERT INTO {table} (v) VALUES ('seed')")
    assert where(cluster, write.format(t=table, who=WHO)) == "primary"


def test_stream_runs_reads_on_a_replica_and_writes_on_the_primary(
    cluster: pgcluster.Cluster, table: str
) -> None:
    reads = [row["node"] for row in cluster.stream(f"SELECT {WHO} AS node")]
    writes = [
        row["node"] for row in cluster.stream(f"SELECT nextval('{table}_id_seq'), {WHO} AS node")
    ]
    assert reads[0].startswith("replica")
    assert writes == ["primary"]


def test_target_and_hints_override_the_classifier(cluster: pgcluster.Cluster) -> None:
    assert where(cluster, f"SELECT {WHO} AS node") != "primary"
    assert where(cluster, f"/* pgcluster:primary */ SELECT {WHO} AS node") == "primary"
    rows = cluster.query(f"SELECT {WHO} AS node", target="primary")
    assert rows[0]["node"] == "primary"
    # A node probe goes to the primary by default; asked, it may run on a replica.
    rows = cluster.query(f"SELECT pg_backend_pid() AS pid, {WHO} AS node", target="replica")
    assert rows[0]["node"].startswith("replica")


def test_a_pool_name_is_refused_clearly() -> None:
    with pytest.raises(ConfigurationError, match="drop name="):
        pgcluster.Cluster("postgresql://db1/app", ["postgresql://db2/app"], name="app")


def test_a_replica_target_on_a_write_is_refused(cluster: pgcluster.Cluster, table: str) -> None:
    with pytest.raises(ConfigurationError, match="must run on the primary"):
        cluster.query(f"INSERT INTO {table} (v) VALUES ('a')", target="replica")
    assert cluster.query(f"SELECT count(*) AS n FROM {table}", target="primary") == [{"n": 0}]


def test_use_primary_pins_every_statement(cluster: pgcluster.Cluster) -> None:
    with cluster.use_primary():
        assert {where(cluster) for _ in range(10)} == {"primary"}
        with cluster.task(target="replica") as task:
            assert (task.query(f"SELECT {WHO} AS node"))[0]["node"] == "primary"
    assert where(cluster) != "primary"


def test_session_statements_are_refused_at_pool_level(
    cluster: pgcluster.Cluster,
) -> None:
    with pytest.raises(SessionStatementError, match=r"task\(\)"):
        cluster.query("SET search_path = app")
    with cluster.task() as task:
        task.query("SET search_path = app")  # fine on a connection of one's own


# -- task and tx -------------------------------------------------------------


def test_task_runs_on_the_primary_by_default(cluster: pgcluster.Cluster) -> None:
    with cluster.task() as task:
        nodes = {(task.query(f"SELECT {WHO} AS node"))[0]["node"] for _ in range(3)}
    assert nodes == {"primary"}


def test_a_replica_task_stays_on_one_replica_and_refuses_writes(
    cluster: pgcluster.Cluster, table: str
) -> None:
    with cluster.task(target="replica") as task:
        nodes = {(task.query(f"SELECT {WHO} AS node"))[0]["node"] for _ in range(3)}
        with pytest.raises(ReplicaWriteError, match="read-only") as info:
            task.query(f"INSERT INTO {table} (v) VALUES ('a')")
    assert len(nodes) == 1
    assert nodes.pop().startswith("replica")
    assert isinstance(info.value, psycopg.errors.ReadOnlySqlTransaction)


def test_tx_runs_on_the_primary(cluster: pgcluster.Cluster, table: str) -> None:
    with cluster.tx(isolation_level="repeatable read") as tx:
        tx.query(f"INSERT INTO {table} (v) VALUES ('a')")
        node = (tx.query(f"SELECT {WHO} AS node"))[0]["node"]
    assert node == "primary"
    assert cluster.query(f"SELECT count(*) AS n FROM {table}", target="primary") == [{"n": 1}]


def test_read_only_tx_may_run_on_a_replica(cluster: pgcluster.Cluster) -> None:
    with cluster.tx(read_only=True, target="replica") as tx:
        node = (tx.query(f"SELECT {WHO} AS node"))[0]["node"]
    assert node.startswith("replica")
    with pytest.raises(ConfigurationError, match="read_only=True"), cluster.tx(target="replica"):
        pass


def test_run_tx_runs_on_the_primary(cluster: pgcluster.Cluster) -> None:
    def who(tx: pgcluster.Session) -> str:
        node: str = (tx.query(f"SELECT {WHO} AS node"))[0]["node"]
        return node

    assert cluster.run_tx(who) == "primary"


def test_connection_comes_from_the_primary(cluster: pgcluster.Cluster) -> None:
    with cluster.connection() as conn:
        cur = conn.execute(f"SELECT {WHO} AS node")
        assert cur.fetchone() == {"node": "primary"}


def test_weighted_and_random_balancers(local_cluster: LocalCluster) -> None:
    primary, (first, second) = dsns(local_cluster)
    weights = {first: 3, second: 1}  # by DSN; node names work too
    with pgcluster.Cluster(primary, [first, second], balancer=weights) as cluster:
        seen = Counter([where(cluster) for _ in range(400)])
    assert 240 <= seen["replica1"] <= 360  # 300 expected
    assert seen["replica1"] + seen["replica2"] == 400
    with pgcluster.Cluster(primary, [first, second], balancer="random") as cluster:
        seen = Counter([where(cluster) for _ in range(200)])
    assert set(seen) == {"replica1", "replica2"}
    with pytest.raises(ConfigurationError, match="unknown balancer"):
        pgcluster.Cluster(primary, [first], balancer="fastest")


# -- configuration -----------------------------------------------------------


def test_no_replicas_sends_everything_to_the_primary(local_cluster: LocalCluster) -> None:
    with pgcluster.Cluster(local_cluster.primary.dsn, []) as cluster:
        assert {where(cluster) for _ in range(5)} == {"primary"}


def test_a_replica_dsn_that_points_at_the_primary_is_refused(
    local_cluster: LocalCluster,
) -> None:
    with pytest.raises(ConfigurationError, match="is given twice"):
        pgcluster.Cluster(local_cluster.primary.dsn, [local_cluster.primary.dsn])


def test_configured_roles_are_hints_the_real_primary_takes_writes(
    local_cluster: LocalCluster,
) -> None:
    primary, replica1, replica2 = local_cluster.primary, *local_cluster.replicas
    with pgcluster.Cluster(replica1.dsn, [primary.dsn, replica2.dsn]) as cluster:
        assert cluster.primary == f"127.0.0.1:{primary.port}/postgres"
        rows = cluster.query(f"SELECT {WHO} AS node", target="primary")
        assert rows[0]["node"] == "primary"


def test_with_no_primary_reads_are_served_and_writes_wait_then_fail(
    local_cluster: LocalCluster,
) -> None:
    replica1, replica2 = local_cluster.replicas
    with pgcluster.Cluster(
        replica1.dsn, [replica2.dsn], failover_timeout=0.5, load_catalog=False
    ) as cluster:
        assert (where(cluster)) in ("replica1", "replica2")
        with pytest.raises(NoPrimaryError, match="no usable primary within failover_timeout"):
            cluster.query("SELECT 1", target="primary")


def test_a_multi_host_url_finds_the_primary(local_cluster: LocalCluster) -> None:
    hosts = ",".join(
        f"127.0.0.1:{node.port}" for node in [*local_cluster.replicas, local_cluster.primary]
    )
    with pgcluster.Cluster(f"postgresql://postgres@{hosts}/postgres") as cluster:
        assert cluster.primary == f"127.0.0.1:{local_cluster.primary.port}/postgres"
        assert len(cluster.replicas) == 2
        assert where(cluster) != "primary"


def test_from_env(local_cluster: LocalCluster) -> None:
    primary, replicas = dsns(local_cluster)
    env = {"DATABASE_URL": primary, "DATABASE_REPLICA_URLS": ", ".join(replicas)}
    with pgcluster.Cluster.from_env(env) as cluster:
        assert len(cluster.replicas) == 2
        assert where(cluster) != "primary"


# -- catalog-aware routing and the safety net ---------------------------------


def test_user_functions_route_by_their_declared_volatility(
    cluster: pgcluster.Cluster, local_cluster: LocalCluster, table: str
) -> None:
    cluster.query(
        f"CREATE FUNCTION {table}_stable() RETURNS text STABLE LANGUAGE sql AS $$ SELECT {WHO} $$;"
        f" CREATE FUNCTION {table}_volatile() RETURNS text VOLATILE LANGUAGE sql AS $$ SELECT {WHO} $$"
    )
    local_cluster.wait_replicated()
    cluster.refresh_catalog()
    assert (cluster.query(f"SELECT {table}_stable() AS node"))[0]["node"].startswith("replica")
    assert (cluster.query(f"SELECT {table}_volatile() AS node"))[0]["node"] == "primary"


def test_one_volatile_overload_makes_the_name_volatile(
    cluster: pgcluster.Cluster, local_cluster: LocalCluster, table: str
) -> None:
    cluster.query(
        f"CREATE FUNCTION {table}_f(int) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT 'i' $$;"
        f" CREATE FUNCTION {table}_f(text) RETURNS text VOLATILE LANGUAGE sql AS $$ SELECT 'v' $$"
    )
    local_cluster.wait_replicated()
    cluster.refresh_catalog()
    rows = cluster.query(f"SELECT {table}_f(1), {WHO} AS node")
    assert rows[0]["node"] == "primary"


def test_a_misrouted_write_is_rerun_on_the_primary_once(
    cluster: pgcluster.Cluster,
    local_cluster: LocalCluster,
    table: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A STABLE function (so: a read) that calls a VOLATILE function that inserts.
    cluster.query(
        f"CREATE FUNCTION {table}_add() RETURNS int VOLATILE LANGUAGE sql"
        f" AS $$ INSERT INTO {table} (v) VALUES ('sneaky') RETURNING id $$;"
        f" CREATE FUNCTION {table}_lies() RETURNS int STABLE LANGUAGE plpgsql"
        f" AS $$ BEGIN RETURN {table}_add(); END $$"
    )
    local_cluster.wait_replicated()
    cluster.refresh_catalog()
    before = cluster.get_stats()["misroutes"]

    with caplog.at_level(logging.WARNING, logger="pgcluster"):
        rows = cluster.query(f"SELECT {table}_lies() AS id")

    assert rows == [{"id": 1}]
    assert cluster.query(f"SELECT v FROM {table}", target="primary") == [{"v": "sneaky"}]
    assert cluster.get_stats()["misroutes"] == before + 1
    assert "refused a statement classified as a read" in caplog.text


# -- stats and logs ----------------------------------------------------------


def test_stats_count_per_node_and_reason(cluster: pgcluster.Cluster, table: str) -> None:
    for _ in range(4):
        cluster.query(f"SELECT * FROM {table}")
    cluster.query(f"INSERT INTO {table} (v) VALUES ('a')")
    stats = cluster.get_stats()
    nodes = stats["nodes"]
    assert [n["role"] for n in nodes.values()].count("primary") == 1
    replica_reads = sum(n["routed"] for n in nodes.values() if n["role"] == "replica")
    assert replica_reads == 4
    assert stats["reasons"]["INSERT writes rows"] >= 1
    assert all("pool_size" in n["pool"] for n in nodes.values())


def test_debug_log_names_the_decision_never_the_parameters(
    cluster: pgcluster.Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="pgcluster"):
        cluster.query("SELECT %s::text AS secret", ["hunter2"])
    assert "replica ->" in caplog.text
    assert "hunter2" not in caplog.text


# -- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"), [(None, "NoneType"), (b"SELECT 1", "bytes"), ("", "empty")]
)
def test_bad_queries_get_a_clear_error(cluster: pgcluster.Cluster, bad: Any, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        cluster.query(bad)


def test_an_unknown_target_is_refused(cluster: pgcluster.Cluster) -> None:
    with pytest.raises(ConfigurationError, match="unknown target"):
        cluster.query("SELECT 1", target="leader")
    with pytest.raises(ConfigurationError, match="unknown target"), cluster.task(target="standby"):
        pass


def test_a_10_mb_statement_is_classified_and_runs_on_the_primary(
    cluster: pgcluster.Cluster, table: str
) -> None:
    values = ", ".join(f"('{'x' * 90}')" for _ in range(100_000))  # ~10 MB
    result = cluster.query(f"INSERT INTO {table} (v) VALUES {values}")
    assert result.rowcount == 100_000
    assert cluster.get_stats()["reasons"].get("INSERT writes rows", 0) >= 1


def test_use_after_close_is_clear(local_cluster: LocalCluster) -> None:
    primary, replicas = dsns(local_cluster)
    cluster = pgcluster.Cluster(primary, replicas)
    cluster.query("SELECT 1")
    cluster.close()
    cluster.close()
    with pytest.raises(PoolClosedError, match="closed"):
        cluster.query("SELECT 1")


def test_a_tx_opened_inside_another_tx_of_the_cluster_is_warned_about(
    cluster: pgcluster.Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pgcluster")
    with cluster.tx() as outer:
        outer.query("SELECT 1")
        assert "already open in this context" not in caplog.text
        with cluster.tx() as inner:  # a second connection: may wait on outer's locks
            inner.query("SELECT 1")
    assert "a tx() of this cluster is already open in this context" in caplog.text
    caplog.clear()
    # After the first ended: no warning, nor for a savepoint (the way to nest).
    with cluster.tx() as outer, outer.tx():
        pass
    assert "already open" not in caplog.text
