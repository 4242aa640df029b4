# WARNING: generated from tests/shells/test_sessions_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""What a task() or tx() session refuses, and what connection() cleans, on real servers.

The source of test_sessions.py (see tools/async_to_sync.py). Every test runs on
an `Pool` and on an `Cluster` (issue 12: items 1 and 3, and the
smaller ones on stream(), COPY and connection()).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import pgcluster
from pgcluster.errors import InvalidQueryError, SessionClosedError, SessionStatementError
from pgcluster.testing import LocalCluster

# Named after the module: the generated sync twin must not reuse these names.
_tables = (f"{__name__.rpartition('.')[2]}_t{n}" for n in itertools.count())

Source = pgcluster.Pool | pgcluster.Cluster


@pytest.fixture(params=["pool", "cluster"])
def single(request: pytest.FixtureRequest, local_cluster: LocalCluster) -> Iterator[Source]:
    """A pool, or a cluster, with one connection per server: a stale session and the
    next block surely share a connection."""
    source: Source
    if request.param == "pool":
        source = pgcluster.Pool(local_cluster.primary.dsn, min_size=1, max_size=1, timeout=10)
    else:
        replicas = [node.dsn for node in local_cluster.replicas]
        source = pgcluster.Cluster(
            local_cluster.primary.dsn, replicas, min_size=1, max_size=1, timeout=10
        )
    with source:
        yield source


@pytest.fixture
def table(local_cluster: LocalCluster) -> Iterator[str]:
    """A fresh table ``(id int primary key, v text)``, already on every replica."""
    name = next(_tables)
    local_cluster.primary.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, v text)")
    local_cluster.wait_replicated()
    yield name
    local_cluster.primary.execute(f"DROP TABLE {name}")


def committed(local_cluster: LocalCluster, table: str) -> list[tuple[Any, ...]]:
    """The table's rows as the primary has them committed (seen from a new connection)."""
    return local_cluster.primary.execute(f"SELECT id, v FROM {table} ORDER BY id")


def pid(session: pgcluster.Session) -> int:
    rows = session.query("SELECT pg_backend_pid() AS pid")
    value: int = rows[0]["pid"]
    return value


# -- item 1: a session refuses every call once its block has ended ------------


def _stale_session(source: Source, kind: str) -> pgcluster.Session:
    if kind == "task":
        with source.task() as session:
            session.query("SELECT 1")
    else:
        with source.tx() as session:
            session.query("SELECT 1")
    return session


def _use(stale: pgcluster.Session, call: str, table: str) -> None:
    if call == "query":
        stale.query(f"INSERT INTO {table} VALUES (2, 'stale')")
    elif call == "stream":
        for _ in stale.stream(f"SELECT * FROM {table}"):
            pass
    elif call == "tx":
        with stale.tx() as nested:
            nested.query(f"INSERT INTO {table} VALUES (2, 'stale')")
    else:
        stale.connection.execute(f"INSERT INTO {table} VALUES (2, 'stale')")


@pytest.mark.parametrize("call", ["query", "stream", "tx", "connection"])
@pytest.mark.parametrize("kind", ["task", "tx"])
def test_a_finished_session_refuses_every_call(
    single: Source, local_cluster: LocalCluster, table: str, kind: str, call: str
) -> None:
    # The repro: the stale session's connection now runs another caller's tx.
    stale = _stale_session(single, kind)
    with single.tx() as tx:
        tx.query(f"INSERT INTO {table} VALUES (1, 'mine')")
        with pytest.raises(SessionClosedError, match="block has ended") as info:
            _use(stale, call, table)
        assert isinstance(info.value, psycopg.InterfaceError)
        assert isinstance(info.value, pgcluster.errors.Error)
        # The other transaction is untouched: not written to, not aborted.
        tx.query(f"INSERT INTO {table} VALUES (3, 'mine')")
    assert committed(local_cluster, table) == [(1, "mine"), (3, "mine")]
    assert "closed" in repr(stale)


def test_the_stale_session_had_the_same_backend(single: Source) -> None:
    # What makes the repro above meaningful: with one connection, the next
    # block gets the backend the stale session held.
    with single.task() as first:
        first_pid = pid(first)
    with single.tx() as second:
        assert pid(second) == first_pid


@pytest.mark.parametrize("kind", ["task", "tx"])
def test_closed_says_whether_the_block_has_ended(single: Source, kind: str) -> None:
    with single.task() if kind == "task" else single.tx() as session:
        assert not session.closed
        with session.tx() as nested:  # a savepoint: the same session, still open after
            assert nested is session
        assert not session.closed
    assert session.closed


@pytest.mark.parametrize("kind", ["task", "tx"])
def test_a_stream_left_open_by_its_block_refuses_to_go_on(
    single: Source, local_cluster: LocalCluster, table: str, kind: str
) -> None:
    with single.task() if kind == "task" else single.tx() as session:
        rows = session.stream("SELECT generate_series(1, 10) AS n", batch_size=2)
        assert (rows.__next__()) == {"n": 1}
    with single.tx() as tx:
        tx.query(f"INSERT INTO {table} VALUES (1, 'mine')")
        with pytest.raises(SessionClosedError):
            rows.__next__()
        # Its cursor was closed with its block: nothing ran in this transaction.
        assert tx.query("SELECT count(*) AS n FROM pg_cursors") == [{"n": 0}]
        tx.query(f"INSERT INTO {table} VALUES (2, 'mine')")
    assert committed(local_cluster, table) == [(1, "mine"), (2, "mine")]


# -- item 3: transaction control is refused inside task() and tx() -------------

TRANSACTION_CONTROL = [
    "BEGIN",
    "START TRANSACTION",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "ROLLBACK TO SAVEPOINT s",
    "PREPARE TRANSACTION 'pgcluster_test'",
    "commit and chain",
    "SELECT 1; COMMIT",
]


@pytest.mark.parametrize("statement", TRANSACTION_CONTROL)
def test_transaction_control_in_tx_is_refused_and_the_block_still_rolls_back(
    single: Source, local_cluster: LocalCluster, table: str, statement: str
) -> None:
    with pytest.raises(ZeroDivisionError), single.tx() as tx:
        tx.query(f"INSERT INTO {table} VALUES (1, 'a')")
        with pytest.raises(SessionStatementError, match=r"nest `with session.tx\(\):`"):
            tx.query(statement)
        tx.query(f"INSERT INTO {table} VALUES (2, 'b')")  # the tx goes on
        raise ZeroDivisionError
    assert committed(local_cluster, table) == []


@pytest.mark.parametrize("statement", ["BEGIN", "COMMIT", "SAVEPOINT s"])
def test_transaction_control_in_task_and_in_stream_is_refused(
    single: Source, local_cluster: LocalCluster, table: str, statement: str
) -> None:
    with single.task() as task:
        with pytest.raises(SessionStatementError, match="refused inside task"):
            task.query(statement)
        with pytest.raises(SessionStatementError, match="refused inside task"):
            for _ in task.stream(statement):
                pass
        # Still in autocommit: nothing was left open by the refused BEGIN.
        task.query(f"INSERT INTO {table} VALUES (1, 'a')")
        assert committed(local_cluster, table) == [(1, "a")]
        # What the message recommends works.
        with pytest.raises(ZeroDivisionError), task.tx() as tx:
            tx.query(f"INSERT INTO {table} VALUES (2, 'b')")
            raise ZeroDivisionError
    assert committed(local_cluster, table) == [(1, "a")]


def test_a_nested_tx_is_the_savepoint_to_use(
    single: Source, local_cluster: LocalCluster, table: str
) -> None:
    with single.tx() as tx:
        tx.query(f"INSERT INTO {table} VALUES (1, 'a')")
        with pytest.raises(ZeroDivisionError), tx.tx() as savepoint:
            savepoint.query(f"INSERT INTO {table} VALUES (2, 'b')")
            raise ZeroDivisionError
    assert committed(local_cluster, table) == [(1, "a")]


# -- stream() and COPY: InvalidQueryError naming the API to use ----------------

NOT_A_CURSOR = [
    "UPDATE {t} SET v = 'z' RETURNING id",
    "INSERT INTO {t} VALUES (9, 'z') RETURNING id",
    "WITH d AS (DELETE FROM {t} RETURNING id) SELECT * FROM d",
]


@pytest.mark.parametrize("statement", NOT_A_CURSOR)
def test_stream_of_a_statement_no_cursor_can_run_names_query(
    single: Source, local_cluster: LocalCluster, table: str, statement: str
) -> None:
    local_cluster.primary.execute(f"INSERT INTO {table} VALUES (1, 'a')")
    sql = statement.format(t=table)
    with pytest.raises(InvalidQueryError, match=r"stream\(\) takes one SELECT.*query\(\)"):
        for _ in single.stream(sql):
            pass
    with single.tx() as tx:
        with pytest.raises(InvalidQueryError, match=r"run it with query\(\)"):
            for _ in tx.stream(sql):
                pass
        tx.query(f"INSERT INTO {table} VALUES (2, 'b')")  # not aborted: nothing was sent
    assert committed(local_cluster, table) == [(1, "a"), (2, "b")]


@pytest.mark.parametrize("copy", ["COPY {t} TO STDOUT", "COPY {t} FROM STDIN"])
def test_query_of_a_client_copy_names_the_copy_api(
    single: Source, local_cluster: LocalCluster, table: str, copy: str
) -> None:
    sql = copy.format(t=table)
    with pytest.raises(InvalidQueryError, match=r"cursor\(\)\.copy\("):
        single.query(sql)
    with single.task() as task:
        before = pid(task)
        with pytest.raises(InvalidQueryError, match=r"session\.connection"):
            task.query(sql)
        # The connection was not thrown away: nothing was sent.
        assert pid(task) == before
    # What the message says to do works.
    with (
        single.connection() as conn,
        conn.cursor().copy(f"COPY {table} FROM STDIN") as copier,
    ):
        copier.write_row((1, "a"))
    assert committed(local_cluster, table) == [(1, "a")]


# -- connection(): the session state of a block does not leak -------------------


def test_connection_is_cleaned_like_a_task(single: Source) -> None:
    with single.connection() as conn:
        first = conn.info.backend_pid
        conn.execute("SET search_path = pg_catalog")
        conn.execute("PREPARE leaked AS SELECT 1")
    with single.connection() as conn:
        assert conn.info.backend_pid == first  # the same connection, given back clean
        cur = conn.execute("SHOW search_path")
        assert cur.fetchall() == [{"search_path": '"$user", public'}]
        cur = conn.execute("SELECT count(*) AS n FROM pg_prepared_statements")
        assert cur.fetchall() == [{"n": 0}]
    with single.task() as task:
        assert pid(task) == first
        rows = task.query("SELECT current_setting('search_path') AS path")
        assert rows == [{"path": '"$user", public'}]


def test_getconn_and_putconn_clean_too(local_cluster: LocalCluster) -> None:
    with pgcluster.Pool(local_cluster.primary.dsn, min_size=1, max_size=1) as pool:
        conn = pool.getconn()
        conn.execute("SET search_path = pg_catalog")
        conn.commit()
        pool.putconn(conn)
        rows = pool.query("SELECT current_setting('search_path') AS path")
        assert rows == [{"path": '"$user", public'}]


def test_connection_cleaning_keeps_psycopgs_prepared_statements_right(
    single: Source,
) -> None:
    # psycopg prepares a statement run often (prepare_threshold, 5): DISCARD ALL drops
    # it on the server, and psycopg must know, or the next run fails.
    for _ in range(8):
        with single.connection() as conn:
            cur = conn.execute("SELECT %s::int AS n", [1])
            assert cur.fetchall() == [{"n": 1}]


def test_task_cleaning_keeps_psycopgs_prepared_statements_right(single: Source) -> None:
    # The same for a task() that changed session state (cleaned with DISCARD ALL
    # before this change too).
    for _ in range(8):
        with single.task() as task:
            task.query("SET search_path = public")
            assert task.query("SELECT %s::int AS n", [1]) == [{"n": 1}]
