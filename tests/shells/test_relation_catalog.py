# WARNING: generated from tests/shells/test_relation_catalog_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""The relation catalog on real servers: what a standby cannot read goes to the primary
at once, with no refusal and no misroute (the source of test_relation_catalog.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg
import pytest

import pgcluster
from pgcluster.testing import LocalCluster

# Named after the module: the generated sync twin must not reuse these names.
_schemas = (f"{__name__.rpartition('.')[2]}_s{n}" for n in itertools.count())

WHO = "current_setting('cluster_name')"


def on_primary(local_cluster: LocalCluster, sql: str) -> None:
    with psycopg.Connection.connect(local_cluster.primary.dsn, autocommit=True) as conn:
        conn.execute(sql)
    local_cluster.wait_replicated()


@pytest.fixture
def schema(local_cluster: LocalCluster) -> Iterator[str]:
    name = next(_schemas)
    on_primary(
        local_cluster,
        f"CREATE SCHEMA {name};"
        f" CREATE TABLE {name}.orders (id int PRIMARY KEY, v int);"
        f" INSERT INTO {name}.orders VALUES (1, 10);"
        f" CREATE UNLOGGED TABLE {name}.scratch (v int);"
        f" INSERT INTO {name}.scratch VALUES (7);"
        f" CREATE VIEW {name}.scratch_view AS SELECT v FROM {name}.scratch;"
        f" CREATE VIEW {name}.deeper AS SELECT v FROM {name}.scratch_view;"
        f" CREATE VIEW {name}.xact AS SELECT pg_current_xact_id() IS NOT NULL AS v;"
        f" CREATE FUNCTION {name}.bump() RETURNS int VOLATILE LANGUAGE sql AS $$ SELECT 1 $$;"
        f" CREATE VIEW {name}.bumped AS SELECT {name}.bump() AS v;"
        f" CREATE VIEW {name}.plain AS SELECT v, random() AS r FROM {name}.orders;",
    )
    yield name
    on_primary(local_cluster, f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def cluster(local_cluster: LocalCluster, schema: str) -> Iterator[pgcluster.Cluster]:
    """A cluster opened once the schema exists: its catalog knows it."""
    with pgcluster.Cluster(
        local_cluster.primary.dsn,
        [node.dsn for node in local_cluster.replicas],
        max_size=2,
        timeout=10,
    ) as cluster:
        yield cluster


def where(cluster: pgcluster.Cluster, source: str) -> str:
    rows = cluster.query(f"SELECT {WHO} AS node FROM {source}")
    node: str = rows[0]["node"]
    return node


@pytest.mark.parametrize(
    ("relation", "why"),
    [
        ("scratch", "is UNLOGGED"),
        ("scratch_view", "is a view over {s}.scratch"),
        ("deeper", "is a view over {s}.scratch_view"),
        ("xact", "calls pg_current_xact_id()"),
        ("bumped", "calls {s}.bump(), which is VOLATILE in the catalog"),
    ],
)
def test_reads_a_standby_cannot_serve_go_to_the_primary_with_no_misroute(
    cluster: pgcluster.Cluster, schema: str, relation: str, why: str
) -> None:
    for _ in range(3):  # never a replica, not even one by one in the rotation
        assert where(cluster, f"{schema}.{relation}") == "primary"
    stats = cluster.get_stats()
    assert stats["misroutes"] == 0
    reasons = [reason for reason in stats["reasons"] if f"{schema}.{relation}" in reason]
    assert reasons, stats["reasons"]
    assert why.format(s=schema) in reasons[0]


def test_other_reads_stay_on_the_replicas(cluster: pgcluster.Cluster, schema: str) -> None:
    seen = {where(cluster, f"{schema}.{relation}") for relation in ["orders", "plain"] * 2}
    assert seen == {"replica1", "replica2"}


def test_refresh_catalog_follows_a_table_set_unlogged_and_back(
    cluster: pgcluster.Cluster, local_cluster: LocalCluster, schema: str
) -> None:
    on_primary(local_cluster, f"ALTER TABLE {schema}.orders SET UNLOGGED")
    # Not in the catalog yet: a replica refuses it, the net re-runs it on the primary.
    assert where(cluster, f"{schema}.orders") == "primary"
    assert cluster.get_stats()["misroutes_by_sqlstate"] == {"0A000": 1}
    cluster.refresh_catalog()
    assert where(cluster, f"{schema}.orders") == "primary"
    assert where(cluster, f"{schema}.plain") == "primary"  # a view over it now
    assert cluster.get_stats()["misroutes"] == 1  # no new refusal

    on_primary(local_cluster, f"ALTER TABLE {schema}.orders SET LOGGED")
    cluster.refresh_catalog()
    assert where(cluster, f"{schema}.orders") in ("replica1", "replica2")


def test_without_the_catalog_the_net_still_answers(
    local_cluster: LocalCluster, schema: str
) -> None:
    with pgcluster.Cluster(
        local_cluster.primary.dsn,
        [node.dsn for node in local_cluster.replicas],
        load_catalog=False,
        max_size=2,
        timeout=10,
    ) as cluster:
        assert cluster.query(f"SELECT v FROM {schema}.scratch_view") == [{"v": 7}]
        assert cluster.get_stats()["misroutes_by_sqlstate"] == {"0A000": 1}
