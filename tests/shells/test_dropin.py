# WARNING: generated from tests/shells/test_dropin_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""The drop-in promise: one behavioural suite, run against Pool and Cluster.

Code written for a pool must run unchanged on a cluster. (The source of
test_dropin.py, which runs the same suite against Pool and Cluster.)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import psycopg
import pytest

import pgcluster
from pgcluster.errors import InvalidQueryError, PoolClosedError, SessionStatementError
from pgcluster.testing import LocalCluster

_tables = (f"{__name__.rpartition('.')[2]}_t{n}" for n in itertools.count())

Db = Any  # an AsyncPool or an AsyncCluster: the suite uses only what both offer


def make(kind: str, local_cluster: LocalCluster) -> Db:
    primary = local_cluster.primary.dsn
    if kind == "pool":
        return pgcluster.Pool(primary, max_size=4)
    return pgcluster.Cluster(primary, [n.dsn for n in local_cluster.replicas], max_size=4)


@pytest.fixture(params=["pool", "cluster"])
def db(request: pytest.FixtureRequest, local_cluster: LocalCluster) -> Iterator[Db]:
    with make(request.param, local_cluster) as db:
        yield db


@pytest.fixture
def table(db: Db, local_cluster: LocalCluster) -> Iterator[str]:
    name = next(_tables)
    db.query(f"CREATE TABLE {name} (id int PRIMARY KEY, v text)")
    yield name
    db.query(f"DROP TABLE {name}")


def settled(db: Db, local_cluster: LocalCluster) -> Db:
    """*db*, once every replica has what was written (a read may go to one)."""
    local_cluster.wait_replicated()
    return db


def test_query_and_result(db: Db, local_cluster: LocalCluster, table: str) -> None:
    inserted = db.query(f"INSERT INTO {table} VALUES (%s, %s), (2, 'b') RETURNING id", [1, "a"])
    assert inserted == [{"id": 1}, {"id": 2}]
    assert (inserted.rowcount, inserted.statusmessage) == (2, "INSERT 0 2")
    rows = (settled(db, local_cluster)).query(f"SELECT * FROM {table} ORDER BY id")
    assert rows == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]


def test_stream(db: Db) -> None:
    got = [r["n"] for r in db.stream("SELECT generate_series(1, 500) AS n", batch_size=50)]
    assert got == list(range(1, 501))
    with closing(db.stream("SELECT generate_series(1, 500) AS n")) as rows:
        for _ in rows:
            break
    assert db.query("SELECT 1 AS ok") == [{"ok": 1}]


def test_task(db: Db, table: str) -> None:
    with db.task() as task:
        task.query("SET application_name = 'drop-in'")
        task.query(f"INSERT INTO {table} VALUES (1, 'a')")
        assert task.query(f"SELECT v FROM {table}") == [{"v": "a"}]


def test_tx_commit_rollback_and_savepoint(db: Db, local_cluster: LocalCluster, table: str) -> None:
    with db.tx() as tx:
        tx.query(f"INSERT INTO {table} VALUES (1, 'a')")
        with pytest.raises(ZeroDivisionError), tx.tx():
            tx.query(f"INSERT INTO {table} VALUES (2, 'b')")
            raise ZeroDivisionError
    with pytest.raises(ZeroDivisionError), db.tx() as tx:
        tx.query(f"INSERT INTO {table} VALUES (3, 'c')")
        raise ZeroDivisionError
    rows = (settled(db, local_cluster)).query(f"SELECT id FROM {table}")
    assert rows == [{"id": 1}]


def test_run_tx(db: Db, table: str) -> None:
    def insert(tx: Any) -> int:
        rows = tx.query(f"INSERT INTO {table} VALUES (1, 'a') RETURNING id")
        n: int = rows[0]["id"]
        return n

    assert db.run_tx(insert, isolation_level="serializable") == 1


def test_connection(db: Db, table: str) -> None:
    with db.connection() as conn:
        conn.execute(f"INSERT INTO {table} VALUES (1, 'a')")
    with db.tx() as tx:
        assert tx.query(f"SELECT count(*) AS n FROM {table}") == [{"n": 1}]


def test_errors(db: Db) -> None:
    with pytest.raises(psycopg.errors.UndefinedTable):
        db.query("SELECT * FROM no_such_table")
    with pytest.raises(SessionStatementError):
        db.query("SET search_path = x")
    with pytest.raises(InvalidQueryError):
        db.query("")


def test_stats_are_a_dict(db: Db) -> None:
    db.query("SELECT 1")
    assert isinstance(db.get_stats(), dict)


@pytest.mark.parametrize("kind", ["pool", "cluster"])
def test_close(kind: str, local_cluster: LocalCluster) -> None:
    db = make(kind, local_cluster)
    db.query("SELECT 1")
    db.close()
    db.close()
    with pytest.raises(PoolClosedError):
        db.query("SELECT 1")
