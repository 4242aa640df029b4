"""The bench's table, its statements, and the contenders that run them.

A *contender* runs one statement its own way: through a bare psycopg_pool
pool, a `pgcluster.Pool`, a `Cluster`, pgpool-II... Every contender gets the
same statement, the same row factory (dicts) and the same pool size, so
only the path differs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg_pool
from psycopg.rows import dict_row

import pgcluster
from pgcluster.testing import LocalCluster

TABLE = "bench_item"
ROWS = 10_000

POINT_SELECT = f"SELECT id, name, qty FROM {TABLE} WHERE id = %s"
UPDATE = f"UPDATE {TABLE} SET qty = qty + 1 WHERE id = %s"

SyncPoint = Callable[[int], object]
AsyncPoint = Callable[[int], Awaitable[object]]
SyncMix = Callable[[bool, int], object]  # (is_write, id)
AsyncMix = Callable[[bool, int], Awaitable[object]]


@dataclass(frozen=True)
class Contender:
    """One way of running the bench's statements: a label and a sync or async callable."""

    key: str  # short and stable: the JSON's key
    label: str  # what the table shows
    run: Callable[..., Any]
    is_async: bool = False


def create_schema(local: LocalCluster) -> None:
    """The bench's table on the primary, filled, and replayed by every replica."""
    local.primary.execute(
        f"DROP TABLE IF EXISTS {TABLE};"
        f" CREATE TABLE {TABLE} (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL);"
        f" INSERT INTO {TABLE} SELECT i, 'item ' || i, 100 FROM generate_series(1, {ROWS}) i"
    )
    local.primary.execute(f"VACUUM ANALYZE {TABLE}")  # not inside the multi-statement string
    local.wait_replicated()


# -- the bare pools: psycopg_pool as its users write it ----------------------------------


def bare_pool(conninfo: str, size: int) -> psycopg_pool.ConnectionPool[Any]:
    """psycopg_pool's pool as pgcluster configures its own: autocommit, dict rows."""
    pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
        conninfo,
        min_size=size,
        max_size=size,
        kwargs={"autocommit": True, "row_factory": dict_row},
        open=True,
    )
    pool.wait()
    return pool


async def abare_pool(conninfo: str, size: int) -> psycopg_pool.AsyncConnectionPool[Any]:
    """The asyncio twin of `bare_pool`."""
    pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
        conninfo,
        min_size=size,
        max_size=size,
        kwargs={"autocommit": True, "row_factory": dict_row},
        open=False,
    )
    await pool.open(wait=True)
    return pool


def bare_point(pool: psycopg_pool.ConnectionPool[Any]) -> SyncPoint:
    def run(key: int) -> object:
        with pool.connection() as conn:
            return conn.execute(POINT_SELECT, (key,)).fetchall()

    return run


def abare_point(pool: psycopg_pool.AsyncConnectionPool[Any]) -> AsyncPoint:
    async def run(key: int) -> object:
        async with pool.connection() as conn:
            cur = await conn.execute(POINT_SELECT, (key,))
            return await cur.fetchall()

    return run


def bare_mix(pool: psycopg_pool.ConnectionPool[Any]) -> SyncMix:
    def run(write: bool, key: int) -> object:
        with pool.connection() as conn:
            if write:
                return conn.execute(UPDATE, (key,)).rowcount
            return conn.execute(POINT_SELECT, (key,)).fetchall()

    return run


# -- pgcluster ---------------------------------------------------------------------------


def point(through: pgcluster.Pool | pgcluster.Cluster, **options: Any) -> SyncPoint:
    """``through.query(POINT_SELECT, [key], **options)``."""
    query = through.query

    def run(key: int) -> object:
        return query(POINT_SELECT, (key,), **options)

    return run


def apoint(target: pgcluster.AsyncCluster) -> AsyncPoint:
    query = target.query

    async def run(key: int) -> object:
        return await query(POINT_SELECT, (key,))

    return run


def mix(cluster: pgcluster.Cluster) -> SyncMix:
    query = cluster.query

    def run(write: bool, key: int) -> object:
        return query(UPDATE if write else POINT_SELECT, (key,))

    return run


def amix(cluster: pgcluster.AsyncCluster) -> AsyncMix:
    query = cluster.query

    async def run(write: bool, key: int) -> object:
        return await query(UPDATE if write else POINT_SELECT, (key,))

    return run
