"""What a task() or tx() session refuses, and what connection() cleans, on real servers.

The source of test_sessions.py (see tools/async_to_sync.py). Every test runs on
an `AsyncPool` and on an `AsyncCluster` (issue 12: items 1 and 3, and the
smaller ones on stream(), COPY and connection()).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

import pgcluster
from pgcluster.errors import InvalidQueryError, SessionClosedError, SessionStatementError
from pgcluster.testing import LocalCluster

# Named after the module: the generated sync twin must not reuse these names.
_tables = (f"{__name__.rpartition('.')[2]}_t{n}" for n in itertools.count())

Source = pgcluster.AsyncPool | pgcluster.AsyncCluster


@pytest.fixture(params=["pool", "cluster"])
async def single(
    request: pytest.FixtureRequest, local_cluster: LocalCluster
) -> AsyncIterator[Source]:
    """A pool, or a cluster, with one connection per server: a stale session and the
    next block surely share a connection."""
    source: Source
    if request.param == "pool":
        source = pgcluster.AsyncPool(local_cluster.primary.dsn, min_size=1, max_size=1, timeout=10)
    else:
        replicas = [node.dsn for node in local_cluster.replicas]
        source = pgcluster.AsyncCluster(
            local_cluster.primary.dsn, replicas, min_size=1, max_size=1, timeout=10
        )
    async with source:
        yield source


@pytest.fixture
async def table(local_cluster: LocalCluster) -> AsyncIterator[str]:
    """A fresh table ``(id int primary key, v text)``, already on every replica."""
    name = next(_tables)
    local_cluster.primary.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, v text)")
    local_cluster.wait_replicated()
    yield name
    local_cluster.primary.execute(f"DROP TABLE {name}")


def committed(local_cluster: LocalCluster, table: str) -> list[tuple[Any, ...]]:
    """The table's rows as the primary has them committed (seen from a new connection)."""
    return local_cluster.primary.execute(f"SELECT id, v FROM {table} ORDER BY id")


async def pid(session: pgcluster.AsyncSession) -> int:
    rows = await session.query("SELECT pg_backend_pid() AS pid")
    value: int = rows[0]["pid"]
    return value


# -- item 1: a session refuses every call once its block has ended ------------


async def _stale_session(source: Source, kind: str) -> pgcluster.AsyncSession:
    if kind == "task":
        async with source.task() as session:
            await session.query("SELECT 1")
    else:
        async with source.tx() as session:
            await session.query("SELECT 1")
    return session


async def _use(stale: pgcluster.AsyncSession, call: str, table: str) -> None:
    if call == "query":
        await stale.query(f"INSERT INTO {table} VALUES (2, 'stale')")
    elif call == "stream":
        async for _ in stale.stream(f"SELECT * FROM {table}"):
            pass
    elif call == "tx":
        async with stale.tx() as nested:
            await nested.query(f"INSERT INTO {table} VALUES (2, 'stale')")
    else:
        await stale.connection.execute(f"INSERT INTO {table} VALUES (2, 'stale')")


@pytest.mark.parametrize("call", ["query", "stream", "tx", "connection"])
@pytest.mark.parametrize("kind", ["task", "tx"])
async def test_a_finished_session_refuses_every_call(
    single: Source, local_cluster: LocalCluster, table: str, kind: str, call: str
) -> None:
    # The repro: the stale session's connection now runs another caller's tx.
    stale = await _stale_session(single, kind)
    async with single.tx() as tx:
        await tx.query(f"INSERT INTO {table} VALUES (1, 'mine')")
        with pytest.raises(SessionClosedError, match="block has ended") as info:
            await _use(stale, call, table)
        assert isinstance(info.value, psycopg.InterfaceError)
        assert isinstance(info.value, pgcluster.errors.Error)
        # The other transaction is untouched: not written to, not aborted.
        await tx.query(f"INSERT INTO {table} VALUES (3, 'mine')")
    assert committed(local_cluster, table) == [(1, "mine"), (3, "mine")]
    assert "closed" in repr(stale)


async def test_the_stale_session_had_the_same_backend(single: Source) -> None:
    # What makes the repro above meaningful: with one connection, the next
    # block gets the backend the stale session held.
    async with single.task() as first:
        first_pid = await pid(first)
    async with single.tx() as second:
        assert await pid(second) == first_pid


@pytest.mark.parametrize("kind", ["task", "tx"])
async def test_closed_says_whether_the_block_has_ended(single: Source, kind: str) -> None:
    async with single.task() if kind == "task" else single.tx() as session:
        assert not session.closed
        async with session.tx() as nested:  # a savepoint: the same session, still open after
            assert nested is session
        assert not session.closed
    assert session.closed


@pytest.mark.parametrize("kind", ["task", "tx"])
async def test_a_stream_left_open_by_its_block_refuses_to_go_on(
    single: Source, local_cluster: LocalCluster, table: str, kind: str
) -> None:
    async with single.task() if kind == "task" else single.tx() as session:
        rows = session.stream("SELECT generate_series(1, 10) AS n", batch_size=2)
        assert (await rows.__anext__()) == {"n": 1}
    async with single.tx() as tx:
        await tx.query(f"INSERT INTO {table} VALUES (1, 'mine')")
        with pytest.raises(SessionClosedError):
            await rows.__anext__()
        # Its cursor was closed with its block: nothing ran in this transaction.
        assert await tx.query("SELECT count(*) AS n FROM pg_cursors") == [{"n": 0}]
        await tx.query(f"INSERT INTO {table} VALUES (2, 'mine')")
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
async def test_transaction_control_in_tx_is_refused_and_the_block_still_rolls_back(
    single: Source, local_cluster: LocalCluster, table: str, statement: str
) -> None:
    with pytest.raises(ZeroDivisionError):
        async with single.tx() as tx:
            await tx.query(f"INSERT INTO {table} VALUES (1, 'a')")
            with pytest.raises(SessionStatementError, match=r"nest `with session.tx\(\):`"):
                await tx.query(statement)
            await tx.query(f"INSERT INTO {table} VALUES (2, 'b')")  # the tx goes on
            raise ZeroDivisionError
    assert committed(local_cluster, table) == []


@pytest.mark.parametrize("statement", ["BEGIN", "COMMIT", "SAVEPOINT s"])
async def test_transaction_control_in_task_and_in_stream_is_refused(
    single: Source, local_cluster: LocalCluster, table: str, statement: str
) -> None:
    async with single.task() as task:
        with pytest.raises(SessionStatementError, match="refused inside task"):
            await task.query(statement)
        with pytest.raises(SessionStatementError, match="refused inside task"):
            async for _ in task.stream(statement):
                pass
        # Still in autocommit: nothing was left open by the refused BEGIN.
        await task.query(f"INSERT INTO {table} VALUES (1, 'a')")
        assert committed(local_cluster, table) == [(1, "a")]
        # What the message recommends works.
        with pytest.raises(ZeroDivisionError):
            async with task.tx() as tx:
                await tx.query(f"INSERT INTO {table} VALUES (2, 'b')")
                raise ZeroDivisionError
    assert committed(local_cluster, table) == [(1, "a")]


async def test_a_nested_tx_is_the_savepoint_to_use(
    single: Source, local_cluster: LocalCluster, table: str
) -> None:
    async with single.tx() as tx:
        await tx.query(f"INSERT INTO {table} VALUES (1, 'a')")
        with pytest.raises(ZeroDivisionError):
            async with tx.tx() as savepoint:
                await savepoint.query(f"INSERT INTO {table} VALUES (2, 'b')")
                raise ZeroDivisionError
    assert committed(local_cluster, table) == [(1, "a")]


# -- stream() and COPY: InvalidQueryError naming the API to use ----------------

NOT_A_CURSOR = [
    "UPDATE {t} SET v = 'z' RETURNING id",
    "INSERT INTO {t} VALUES (9, 'z') RETURNING id",
    "WITH d AS (DELETE FROM {t} RETURNING id) SELECT * FROM d",
]


@pytest.mark.parametrize("statement", NOT_A_CURSOR)
async def test_stream_of_a_statement_no_cursor_can_run_names_query(
    single: Source, local_cluster: LocalCluster, table: str, statement: str
) -> None:
    local_cluster.primary.execute(f"INSERT INTO {table} VALUES (1, 'a')")
    sql = statement.format(t=table)
    with pytest.raises(InvalidQueryError, match=r"stream\(\) takes one SELECT.*query\(\)"):
        async for _ in single.stream(sql):
            pass
    async with single.tx() as tx:
        with pytest.raises(InvalidQueryError, match=r"run it with query\(\)"):
            async for _ in tx.stream(sql):
                pass
        await tx.query(f"INSERT INTO {table} VALUES (2, 'b')")  # not aborted: nothing was sent
    assert committed(local_cluster, table) == [(1, "a"), (2, "b")]


@pytest.mark.parametrize("copy", ["COPY {t} TO STDOUT", "COPY {t} FROM STDIN"])
async def test_query_of_a_client_copy_names_the_copy_api(
    single: Source, local_cluster: LocalCluster, table: str, copy: str
) -> None:
    sql = copy.format(t=table)
    with pytest.raises(InvalidQueryError, match=r"cursor\(\)\.copy\("):
        await single.query(sql)
    async with single.task() as task:
        before = await pid(task)
        with pytest.raises(InvalidQueryError, match=r"session\.connection"):
            await task.query(sql)
        # The connection was not thrown away: nothing was sent.
        assert await pid(task) == before
    # What the message says to do works.
    async with (
        single.connection() as conn,
        conn.cursor().copy(f"COPY {table} FROM STDIN") as copier,
    ):
        await copier.write_row((1, "a"))
    assert committed(local_cluster, table) == [(1, "a")]


# -- connection(): the session state of a block does not leak -------------------


async def test_connection_is_cleaned_like_a_task(single: Source) -> None:
    async with single.connection() as conn:
        first = conn.info.backend_pid
        await conn.execute("SET search_path = pg_catalog")
        await conn.execute("PREPARE leaked AS SELECT 1")
    async with single.connection() as conn:
        assert conn.info.backend_pid == first  # the same connection, given back clean
        cur = await conn.execute("SHOW search_path")
        assert await cur.fetchall() == [{"search_path": '"$user", public'}]
        cur = await conn.execute("SELECT count(*) AS n FROM pg_prepared_statements")
        assert await cur.fetchall() == [{"n": 0}]
    async with single.task() as task:
        assert await pid(task) == first
        rows = await task.query("SELECT current_setting('search_path') AS path")
        assert rows == [{"path": '"$user", public'}]


async def test_getconn_and_putconn_clean_too(local_cluster: LocalCluster) -> None:
    async with pgcluster.AsyncPool(local_cluster.primary.dsn, min_size=1, max_size=1) as pool:
        conn = await pool.getconn()
        await conn.execute("SET search_path = pg_catalog")
        await conn.commit()
        await pool.putconn(conn)
        rows = await pool.query("SELECT current_setting('search_path') AS path")
        assert rows == [{"path": '"$user", public'}]


async def test_connection_cleaning_keeps_psycopgs_prepared_statements_right(
    single: Source,
) -> None:
    # psycopg prepares a statement run often (prepare_threshold, 5): DISCARD ALL drops
    # it on the server, and psycopg must know, or the next run fails.
    for _ in range(8):
        async with single.connection() as conn:
            cur = await conn.execute("SELECT %s::int AS n", [1])
            assert await cur.fetchall() == [{"n": 1}]


async def test_task_cleaning_keeps_psycopgs_prepared_statements_right(single: Source) -> None:
    # The same for a task() that changed session state (cleaned with DISCARD ALL
    # before this change too).
    for _ in range(8):
        async with single.task() as task:
            await task.query("SET search_path = public")
            assert await task.query("SELECT %s::int AS n", [1]) == [{"n": 1}]
