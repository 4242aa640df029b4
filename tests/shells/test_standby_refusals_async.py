"""Every refusal of a hot standby, on a real one: known as such, and re-run on the primary.

First each refusal is provoked on a standby directly, and `standby_refusal` must
name its SQLSTATE (the rule in pgcluster/_core/faults.py was written from these
errors). Then the ones a statement classified as a read can meet go through
the cluster: each is re-run once on the primary, answers as the primary does,
and is counted as a misroute with its SQLSTATE. The relations and functions
are hidden from the classifier on purpose (no catalog, functions that say
they are STABLE), as they would be by a catalog loaded before they changed.
(The source of test_standby_refusals.py.)
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator

import psycopg
import pytest

import pgcluster
from pgcluster._core.faults import standby_refusal
from pgcluster.testing import LocalCluster

# Named after the module: the generated sync twin must not reuse these names.
_schemas = (f"{__name__.rpartition('.')[2]}_s{n}" for n in itertools.count())

WHO = "current_setting('cluster_name')"
# What the classifier knows of the schema: nothing (its functions are unknown, and
# taken for reads).
POLICY = pgcluster.Policy(unknown_functions=pgcluster.Target.REPLICA)


@pytest.fixture
async def schema(local_cluster: LocalCluster) -> AsyncIterator[str]:
    """A schema holding what standbys refuse: an unlogged table and sequence, views over
    it and over pg_current_xact_id(), and STABLE functions that lie (they need an xid,
    an OID, the WAL or a lock a standby cannot take)."""
    name = next(_schemas)
    async with await psycopg.AsyncConnection.connect(
        local_cluster.primary.dsn, autocommit=True
    ) as conn:
        await conn.execute(
            f"CREATE SCHEMA {name};"
            f" CREATE SCHEMA {name}_collations;"
            f" CREATE UNLOGGED TABLE {name}.scratch (v int);"
            f" INSERT INTO {name}.scratch VALUES (7);"
            f" CREATE UNLOGGED SEQUENCE {name}.counter;"
            f" CREATE VIEW {name}.scratch_view AS SELECT v FROM {name}.scratch;"
            f" CREATE VIEW {name}.xact AS SELECT pg_current_xact_id() IS NOT NULL AS ok;"
            f" CREATE FUNCTION {name}.lsn() RETURNS bool STABLE LANGUAGE sql"
            f"  AS $$ SELECT pg_current_wal_lsn() IS NOT NULL $$;"
            f" CREATE FUNCTION {name}.message() RETURNS bool STABLE LANGUAGE sql"
            f"  AS $$ SELECT pg_logical_emit_message(true, 'pgcluster', 'x') IS NOT NULL $$;"
            f" CREATE FUNCTION {name}.large_object() RETURNS bool STABLE LANGUAGE sql"
            f"  AS $$ SELECT lo_create(0) IS NOT NULL $$;"
            f" CREATE FUNCTION {name}.collations() RETURNS bool STABLE LANGUAGE sql"
            f"  AS $$ SELECT pg_import_system_collations('{name}_collations') >= 0 $$"
        )
    local_cluster.wait_replicated()
    yield name
    async with await psycopg.AsyncConnection.connect(
        local_cluster.primary.dsn, autocommit=True
    ) as conn:
        await conn.execute(
            f"DROP SCHEMA {name} CASCADE; DROP SCHEMA {name}_collations CASCADE;"
            " SELECT lo_unlink(oid) FROM pg_largeobject_metadata"
        )


# What a standby refuses, and the SQLSTATE it refuses it with (PostgreSQL 15).
REFUSALS = [
    ("SELECT * FROM {s}.scratch", "0A000"),  # unlogged relation
    ("SELECT * FROM {s}.scratch_view", "0A000"),  # a view over one
    ("SELECT * FROM {s}.counter", "0A000"),  # an unlogged sequence
    ("SELECT * FROM {s}.xact", "25006"),  # a view calling pg_current_xact_id()
    ("SELECT {s}.lsn()", "55000"),  # WAL control functions: "recovery is in progress"
    ("SELECT {s}.collations()", "55000"),  # a lock mode a standby refuses
    ("SELECT {s}.message()", "XX000"),  # "cannot assign TransactionIds during recovery"
    ("SELECT {s}.large_object()", "XX000"),  # "cannot assign OIDs during recovery"
    ("INSERT INTO {s}.scratch VALUES (1)", "25006"),
    ("BEGIN READ WRITE", "0A000"),  # "cannot set transaction read-write mode"
    ("BEGIN ISOLATION LEVEL SERIALIZABLE", "0A000"),  # "serializable mode in a hot standby"
]
# The ones a read meets (the others are writes or transaction control: never sent
# to a replica by the classifier).
READS = [(sql, sqlstate) for sql, sqlstate in REFUSALS if sql.startswith("SELECT")]


@pytest.mark.parametrize(("sql", "sqlstate"), REFUSALS)
async def test_each_refusal_of_a_real_standby_is_known(
    local_cluster: LocalCluster, schema: str, sql: str, sqlstate: str
) -> None:
    replica = local_cluster.replicas[0]
    async with await psycopg.AsyncConnection.connect(replica.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as refused:
            await conn.execute(sql.format(s=schema))
    assert refused.value.sqlstate == sqlstate
    assert standby_refusal(refused.value) == sqlstate


async def test_a_caller_error_on_a_standby_is_not_a_refusal(local_cluster: LocalCluster) -> None:
    replica = local_cluster.replicas[0]
    async with await psycopg.AsyncConnection.connect(replica.dsn, autocommit=True) as conn:
        for sql in [
            "SELECT 1/0",
            "SELECT * FROM no_such_table",
            "SELECT count(*) WHERE sum(1) > 0",
        ]:
            with pytest.raises(psycopg.Error) as failed:
                await conn.execute(sql)
            assert standby_refusal(failed.value) is None, sql


@pytest.fixture
async def cluster(local_cluster: LocalCluster) -> AsyncIterator[pgcluster.AsyncCluster]:
    """A cluster that does not know the schema: every statement of READS is a read."""
    async with pgcluster.AsyncCluster(
        local_cluster.primary.dsn,
        [node.dsn for node in local_cluster.replicas],
        load_catalog=False,
        policy=POLICY,
        max_size=2,
        timeout=10,
    ) as cluster:
        yield cluster


@pytest.mark.parametrize(("sql", "sqlstate"), READS)
async def test_a_read_a_standby_refuses_is_rerun_once_on_the_primary(
    cluster: pgcluster.AsyncCluster,
    schema: str,
    caplog: pytest.LogCaptureFixture,
    sql: str,
    sqlstate: str,
) -> None:
    statement = sql.format(s=schema)
    assert pgcluster.classify(statement, POLICY).target == "replica"
    before = cluster.get_stats()

    with caplog.at_level(logging.WARNING, logger="pgcluster"):
        rows = await cluster.query(f"SELECT *, {WHO} AS node FROM ({statement}) AS q")

    assert [row["node"] for row in rows] == ["primary"]
    after = cluster.get_stats()
    assert after["misroutes"] == before["misroutes"] + 1
    refusals = after["misroutes_by_sqlstate"]
    assert refusals.get(sqlstate, 0) == before["misroutes_by_sqlstate"].get(sqlstate, 0) + 1
    assert sum(node["misroutes"] for node in after["nodes"].values()) == after["misroutes"]
    assert f"SQLSTATE {sqlstate}" in caplog.text
    assert any(f"refused it with {sqlstate}" in reason for reason in after["reasons"])


async def test_an_unlogged_table_read_answers_what_the_primary_holds(
    cluster: pgcluster.AsyncCluster, schema: str
) -> None:
    for _ in range(4):  # every replica, in turn, refuses it; the caller never sees it
        assert await cluster.query(f"SELECT v FROM {schema}.scratch") == [{"v": 7}]


async def test_in_a_replica_session_a_refusal_is_raised_not_rerun(
    cluster: pgcluster.AsyncCluster, schema: str
) -> None:
    # A task() is one connection: the statement cannot move to another node.
    async with cluster.task("replica") as session:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="during recovery"):
            await session.query(f"SELECT v FROM {schema}.scratch")
