"""AsyncPool against a real server (the source of test_pool.py: see tools/async_to_sync.py)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import tuple_row

import pgcluster
from pgcluster.errors import (
    ConfigurationError,
    InvalidQueryError,
    PoolClosedError,
    PoolTimeoutError,
    SessionStatementError,
)
from pgcluster.testing import LocalCluster, TcpProxy
from pgcluster.testing._ports import free_port

from ..support import Deadline

# Named after the module: the generated sync twin must not reuse these names.
_tables = (f"{__name__.rpartition('.')[2]}_t{n}" for n in itertools.count())


@pytest.fixture
async def pool(local_cluster: LocalCluster) -> AsyncIterator[pgcluster.AsyncPool]:
    async with pgcluster.AsyncPool(local_cluster.primary.dsn, max_size=4, timeout=10) as pool:
        yield pool


@pytest.fixture
async def table(pool: pgcluster.AsyncPool) -> AsyncIterator[str]:
    """A fresh table ``(id int primary key, v text)`` of the test's own."""
    name = next(_tables)
    await pool.query(
        f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (id int PRIMARY KEY, v text)"
    )
    yield name
    await pool.query(f"DROP TABLE IF EXISTS {name}")


async def ids(pool: pgcluster.AsyncPool, table: str) -> list[int]:
    return [row["id"] for row in await pool.query(f"SELECT id FROM {table} ORDER BY id")]


# -- query -------------------------------------------------------------------


async def test_query_returns_rows_as_dicts(pool: pgcluster.AsyncPool) -> None:
    assert await pool.query("SELECT %s::int AS n, %s::text AS s", [1, "x"]) == [{"n": 1, "s": "x"}]
    named = await pool.query("SELECT %(n)s::int AS n", {"n": 2})
    assert named == [{"n": 2}]


async def test_query_reports_rowcount_and_status(pool: pgcluster.AsyncPool, table: str) -> None:
    inserted = await pool.query(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b') RETURNING id")
    assert inserted == [{"id": 1}, {"id": 2}]
    assert (inserted.rowcount, inserted.statusmessage) == (2, "INSERT 0 2")

    updated = await pool.query(f"UPDATE {table} SET v = 'z'")
    assert updated == []
    assert (updated.rowcount, updated.statusmessage) == (2, "UPDATE 2")


async def test_query_autocommits(
    pool: pgcluster.AsyncPool, local_cluster: LocalCluster, table: str
) -> None:
    await pool.query(f"INSERT INTO {table} VALUES (1, 'a')")
    # Seen at once from a connection outside the pool: nothing is left uncommitted.
    assert local_cluster.primary.execute(f"SELECT count(*) FROM {table}") == [(1,)]


async def test_query_accepts_composable(pool: pgcluster.AsyncPool, table: str) -> None:
    await pool.query(
        sql.SQL("INSERT INTO {} VALUES ({}, {})").format(sql.Identifier(table), 7, "seven")
    )
    assert await ids(pool, table) == [7]


async def test_query_of_several_statements_returns_the_last_result(
    pool: pgcluster.AsyncPool,
) -> None:
    assert await pool.query("SELECT 1 AS a; SELECT 2 AS b") == [{"b": 2}]


async def test_row_factory_option(local_cluster: LocalCluster) -> None:
    async with pgcluster.AsyncPool(local_cluster.primary.dsn, row_factory=tuple_row) as pool:
        assert await pool.query("SELECT 1, 'a'") == [(1, "a")]


async def test_server_errors_are_psycopgs(pool: pgcluster.AsyncPool) -> None:
    with pytest.raises(psycopg.errors.UndefinedTable):
        await pool.query("SELECT * FROM no_such_table")
    assert await pool.query("SELECT 1 AS ok") == [{"ok": 1}]  # the pool is fine afterwards


# -- stream ------------------------------------------------------------------


async def test_stream_yields_every_row_in_batches(pool: pgcluster.AsyncPool) -> None:
    rows = [
        row["n"]
        async for row in pool.stream("SELECT generate_series(1, 2500) AS n", batch_size=100)
    ]
    assert rows == list(range(1, 2501))


async def test_stream_uses_a_server_side_cursor(pool: pgcluster.AsyncPool) -> None:
    async with pool.task() as task:
        async with aclosing(
            task.stream("SELECT generate_series(1, 10) AS n", batch_size=2)
        ) as rows:
            async for _ in rows:
                # pg_cursors is per session: look from the streaming session itself.
                open_cursors = await task.query("SELECT count(*) AS n FROM pg_cursors")
                break
        after = await task.query("SELECT count(*) AS n FROM pg_cursors")
    assert open_cursors == [{"n": 1}]
    assert after == [{"n": 0}]


async def test_leaving_stream_early_gives_the_connection_back_clean(
    pool: pgcluster.AsyncPool,
) -> None:
    async with aclosing(
        pool.stream("SELECT generate_series(1, 100000) AS n", batch_size=10)
    ) as rows:
        async for _ in rows:
            break
    deadline = Deadline(5)
    while pool.get_stats()["pool_available"] != pool.get_stats()["pool_size"]:
        await deadline.asleep("the streaming connection to come back")
    # Back idle, not in a transaction: the next statement sees committed data.
    async with pool.task() as task:
        status = task.connection.info.transaction_status
    assert status == psycopg.pq.TransactionStatus.IDLE


async def test_stream_of_a_failing_query_raises_and_releases(pool: pgcluster.AsyncPool) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero):
        async for _ in pool.stream("SELECT 1 / 0"):
            pass
    assert await pool.query("SELECT 1 AS ok") == [{"ok": 1}]


async def test_stream_rejects_a_bad_batch_size(pool: pgcluster.AsyncPool) -> None:
    with pytest.raises(ConfigurationError, match="batch_size"):
        async for _ in pool.stream("SELECT 1", batch_size=0):
            pass


# -- task --------------------------------------------------------------------


async def test_task_holds_one_connection(pool: pgcluster.AsyncPool) -> None:
    async with pool.task() as task:
        pids = {(await task.query("SELECT pg_backend_pid() AS pid"))[0]["pid"] for _ in range(5)}
    assert len(pids) == 1


async def test_task_is_not_a_transaction(
    pool: pgcluster.AsyncPool, local_cluster: LocalCluster, table: str
) -> None:
    with pytest.raises(ZeroDivisionError):
        async with pool.task() as task:
            await task.query(f"INSERT INTO {table} VALUES (1, 'a')")
            assert local_cluster.primary.execute(f"SELECT count(*) FROM {table}") == [(1,)]
            raise ZeroDivisionError
    assert await ids(pool, table) == [1]  # autocommit: the insert stays


# -- tx ----------------------------------------------------------------------


async def test_tx_commits(
    pool: pgcluster.AsyncPool, local_cluster: LocalCluster, table: str
) -> None:
    async with pool.tx() as tx:
        await tx.query(f"INSERT INTO {table} VALUES (1, 'a')")
        # Not visible outside before COMMIT.
        assert local_cluster.primary.execute(f"SELECT count(*) FROM {table}") == [(0,)]
    assert await ids(pool, table) == [1]


async def test_tx_rolls_back_on_exception(pool: pgcluster.AsyncPool, table: str) -> None:
    with pytest.raises(ZeroDivisionError):
        async with pool.tx() as tx:
            await tx.query(f"INSERT INTO {table} VALUES (1, 'a')")
            raise ZeroDivisionError
    assert await ids(pool, table) == []


async def test_nested_tx_is_a_savepoint(pool: pgcluster.AsyncPool, table: str) -> None:
    async with pool.tx() as tx:
        await tx.query(f"INSERT INTO {table} VALUES (1, 'a')")
        with pytest.raises(ZeroDivisionError):
            async with tx.tx() as inner:
                await inner.query(f"INSERT INTO {table} VALUES (2, 'b')")
                raise ZeroDivisionError
        async with tx.tx() as inner:
            await inner.query(f"INSERT INTO {table} VALUES (3, 'c')")
            async with inner.tx() as innermost:
                await innermost.query(f"INSERT INTO {table} VALUES (4, 'd')")
    assert await ids(pool, table) == [1, 3, 4]


async def test_tx_options_apply_and_do_not_leak(pool: pgcluster.AsyncPool) -> None:
    async with pool.tx(isolation_level="serializable", read_only=True, deferrable=True) as tx:
        settings = await tx.query(
            "SELECT current_setting('transaction_isolation') AS iso,"
            " current_setting('transaction_read_only') AS ro,"
            " current_setting('transaction_deferrable') AS deferrable"
        )
    assert settings == [{"iso": "serializable", "ro": "on", "deferrable": "on"}]
    # Every connection of the pool is back to the defaults.
    for _ in range(3):
        async with pool.tx() as tx:
            again = await tx.query(
                "SELECT current_setting('transaction_isolation') AS iso,"
                " current_setting('transaction_read_only') AS ro"
            )
        assert again == [{"iso": "read committed", "ro": "off"}]


async def test_read_only_tx_refuses_writes(pool: pgcluster.AsyncPool, table: str) -> None:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        async with pool.tx(read_only=True) as tx:
            await tx.query(f"INSERT INTO {table} VALUES (1, 'a')")


async def test_nested_tx_refuses_options(pool: pgcluster.AsyncPool) -> None:
    async with pool.tx() as tx:
        with pytest.raises(ConfigurationError, match="outermost"):
            async with tx.tx(isolation_level="serializable"):
                pass


@pytest.mark.parametrize("bad", ["snapshot", 3, "serialisable"])
async def test_tx_rejects_an_unknown_isolation_level(pool: pgcluster.AsyncPool, bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="isolation level"):
        async with pool.tx(isolation_level=bad):
            pass


# -- run_tx ------------------------------------------------------------------


@pytest.fixture
async def counter(pool: pgcluster.AsyncPool, table: str) -> str:
    await pool.query(f"INSERT INTO {table} VALUES (1, '0')")
    return table


async def test_run_tx_reruns_a_real_serialization_failure(
    pool: pgcluster.AsyncPool, local_cluster: LocalCluster, counter: str
) -> None:
    attempts = 0

    async def bump(tx: pgcluster.AsyncSession) -> int:
        nonlocal attempts
        attempts += 1
        await tx.query(f"SELECT v FROM {counter} WHERE id = 1")  # takes the snapshot
        if attempts == 1:
            # Another session commits a change to the same row after our snapshot:
            # our UPDATE then fails with 40001, as two real transactions would.
            local_cluster.primary.execute(
                f"UPDATE {counter} SET v = (v::int + 100)::text WHERE id = 1"
            )
        rows = await tx.query(
            f"UPDATE {counter} SET v = (v::int + 1)::text WHERE id = 1 RETURNING v"
        )
        return int(rows[0]["v"])

    assert await pool.run_tx(bump, isolation_level="serializable") == 101
    assert attempts == 2


async def test_run_tx_gives_up_after_the_retries(
    pool: pgcluster.AsyncPool, local_cluster: LocalCluster, counter: str
) -> None:
    attempts = 0

    async def always_conflicts(tx: pgcluster.AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        await tx.query(f"SELECT v FROM {counter}")
        local_cluster.primary.execute(f"UPDATE {counter} SET v = 'other'")
        await tx.query(f"UPDATE {counter} SET v = 'mine'")

    with pytest.raises(psycopg.errors.SerializationFailure):
        await pool.run_tx(always_conflicts, retries=2, isolation_level="repeatable read")
    assert attempts == 3


async def test_run_tx_does_not_retry_other_errors(pool: pgcluster.AsyncPool) -> None:
    attempts = 0

    async def fails(tx: pgcluster.AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        await tx.query("SELECT 1 / 0")

    with pytest.raises(psycopg.errors.DivisionByZero):
        await pool.run_tx(fails)
    assert attempts == 1


# -- psycopg_pool's API ------------------------------------------------------


async def test_connection_commits_at_the_end_like_psycopg_pool(
    pool: pgcluster.AsyncPool, table: str
) -> None:
    async with pool.connection() as conn:
        assert not conn.autocommit
        await conn.execute(f"INSERT INTO {table} VALUES (1, 'a')")
    with pytest.raises(ZeroDivisionError):
        async with pool.connection() as conn:
            await conn.execute(f"INSERT INTO {table} VALUES (2, 'b')")
            raise ZeroDivisionError
    assert await ids(pool, table) == [1]
    # query() is autocommit again on whichever connection it gets.
    async with pool.task() as task:
        assert task.connection.autocommit


async def test_getconn_and_putconn(pool: pgcluster.AsyncPool, table: str) -> None:
    conn = await pool.getconn()
    try:
        await conn.execute(f"INSERT INTO {table} VALUES (1, 'a')")
        await conn.commit()
    finally:
        await pool.putconn(conn)
    assert await ids(pool, table) == [1]


async def test_a_connection_given_back_in_a_transaction_is_rolled_back(
    local_cluster: LocalCluster, pool: pgcluster.AsyncPool, table: str
) -> None:
    # One connection only: query() surely gets the one given back.
    async with pgcluster.AsyncPool(local_cluster.primary.dsn, min_size=1, max_size=1) as single:
        conn = await single.getconn()
        await conn.execute(f"INSERT INTO {table} VALUES (1, 'a')")
        await single.putconn(conn)  # never committed
        await single.query(f"INSERT INTO {table} VALUES (2, 'b')")  # autocommit again
        async with single.task() as task:
            assert task.connection is conn
    assert await ids(pool, table) == [2]


async def test_the_users_reset_sees_a_cleaned_connection(local_cluster: LocalCluster) -> None:
    seen: list[tuple[bool, object]] = []

    async def reset(conn: psycopg.AsyncConnection[Any]) -> None:
        seen.append((conn.autocommit, conn.row_factory))

    async with pgcluster.AsyncPool(
        local_cluster.primary.dsn, min_size=1, max_size=1, reset=reset
    ) as pool:
        async with pool.connection() as conn:
            conn.row_factory = tuple_row
        deadline = Deadline(10)
        while not seen:  # psycopg_pool runs the user's reset in its worker
            await deadline.asleep("the reset callback")
        assert seen == [(True, pool.row_factory)]
        assert await pool.query("SELECT 1 AS one") == [{"one": 1}]


async def test_wait_and_stats(local_cluster: LocalCluster) -> None:
    async with pgcluster.AsyncPool(local_cluster.primary.dsn, min_size=2, max_size=3) as pool:
        await pool.wait(timeout=10)
        stats = pool.get_stats()
    assert (stats["pool_min"], stats["pool_max"]) == (2, 3)
    assert stats["pool_size"] >= 2


async def test_opens_on_first_use(local_cluster: LocalCluster) -> None:
    pool = pgcluster.AsyncPool(local_cluster.primary.dsn)
    try:
        assert "not opened" in repr(pool)
        assert await pool.query("SELECT 1 AS one") == [{"one": 1}]
    finally:
        await pool.close()


async def test_close_twice_is_harmless_and_use_after_close_is_clear(
    local_cluster: LocalCluster,
) -> None:
    pool = pgcluster.AsyncPool(local_cluster.primary.dsn)
    await pool.query("SELECT 1")
    await pool.close()
    await pool.close()
    assert pool.closed
    with pytest.raises(PoolClosedError, match="closed") as info:
        await pool.query("SELECT 1")
    assert isinstance(info.value, psycopg.OperationalError)
    with pytest.raises(PoolClosedError):
        async with pool.task():
            pass


async def test_closing_a_pool_never_opened(local_cluster: LocalCluster) -> None:
    pool = pgcluster.AsyncPool(local_cluster.primary.dsn)
    await pool.close()
    with pytest.raises(PoolClosedError):
        await pool.open()


# -- configuration and bad input ---------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        (None, "NoneType"),
        (42, "int"),
        (b"SELECT 1", "bytes"),
    ],
)
async def test_bad_queries_get_a_clear_error(
    pool: pgcluster.AsyncPool, bad: Any, message: str
) -> None:
    with pytest.raises(InvalidQueryError, match=message) as info:
        await pool.query(bad)
    assert isinstance(info.value, psycopg.ProgrammingError)
    with pytest.raises(InvalidQueryError, match=message):
        async for _ in pool.stream(bad):
            pass
    async with pool.task() as task:
        with pytest.raises(InvalidQueryError, match=message):
            await task.query(bad)


async def test_conninfo_defaults_to_database_url(
    local_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", local_cluster.primary.dsn)
    async with pgcluster.AsyncPool() as pool:
        assert await pool.query("SELECT current_setting('cluster_name') AS name") == [
            {"name": "primary"}
        ]


def test_no_conninfo_and_no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        pgcluster.AsyncPool()


@pytest.mark.parametrize(
    "dsn",
    [
        "garbage",
        "host=x port",
        "postgresql://u:s3cret@[bad/db",
        "postgresql://u:s3cret@h/d?bogus=1",
    ],
)
def test_malformed_conninfo(dsn: str) -> None:
    with pytest.raises(ConfigurationError, match="malformed connection string") as info:
        pgcluster.AsyncPool(dsn)
    assert "s3cret" not in str(info.value)


def test_options_that_would_break_the_pool_are_refused(local_cluster: LocalCluster) -> None:
    with pytest.raises(ConfigurationError, match="autocommit"):
        pgcluster.AsyncPool(local_cluster.primary.dsn, kwargs={"autocommit": False})
    with pytest.raises(ConfigurationError, match="min_size"):
        pgcluster.AsyncPool(local_cluster.primary.dsn, min_size=5, max_size=2)


async def test_unreachable_server_fails_within_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dsn = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/app?connect_timeout=1"
    pool = pgcluster.AsyncPool(dsn, timeout=1.0)
    assert "s3cret" not in repr(pool)
    deadline = Deadline(10)
    with pytest.raises(PoolTimeoutError) as info:
        await pool.query("SELECT 1")
    assert not deadline.expired
    await pool.close()
    assert isinstance(info.value, psycopg.OperationalError)
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in caplog.text


# -- session state -----------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SET search_path = x",
        "LISTEN jobs",
        "BEGIN",
        "CREATE TEMP TABLE t (x int)",
        "PREPARE p AS SELECT 1",
    ],
)
async def test_session_statements_are_refused_at_pool_level(
    pool: pgcluster.AsyncPool, statement: str
) -> None:
    with pytest.raises(SessionStatementError, match=r"task\(\)") as info:
        await pool.query(statement)
    assert isinstance(info.value, psycopg.ProgrammingError)


async def test_session_state_set_in_a_task_does_not_leak(local_cluster: LocalCluster) -> None:
    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("SET application_name = 'configured'")

    # One connection only: the next task surely gets the same one.
    async with pgcluster.AsyncPool(
        local_cluster.primary.dsn, min_size=1, max_size=1, configure=configure
    ) as pool:
        async with pool.task() as task:
            pid = (await task.query("SELECT pg_backend_pid() AS pid"))[0]["pid"]
            await task.query("SET statement_timeout = '1234ms'")
            await task.query("CREATE TEMP TABLE scratch (x int)")
        async with pool.task() as task:
            assert (await task.query("SELECT pg_backend_pid() AS pid"))[0]["pid"] == pid
            settings = await task.query(
                "SELECT current_setting('statement_timeout') AS timeout,"
                " current_setting('application_name') AS app,"
                " to_regclass('pg_temp.scratch') IS NULL AS temp_table_gone"
            )
        assert settings == [{"timeout": "0", "app": "configured", "temp_table_gone": True}]


async def test_a_host_that_never_answers_fails_within_the_timeout(
    local_cluster: LocalCluster,
) -> None:
    with TcpProxy(local_cluster.primary.host, local_cluster.primary.port) as proxy:
        proxy.blackhole()  # accepts connections, then forwards nothing: a hung network
        pool = pgcluster.AsyncPool(
            proxy.dsn(local_cluster.primary.dsn) + " connect_timeout=1", timeout=1.5
        )
        deadline = Deadline(10)
        with pytest.raises(PoolTimeoutError, match="within the timeout"):
            await pool.query("SELECT 1")
        assert not deadline.expired
        await pool.close()
