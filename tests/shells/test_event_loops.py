"""An AsyncCluster belongs to the event loop it was opened in.

Sequential ``asyncio.run()`` calls, or a test framework's per-test loops, are
where this bites: the monitor is a task of the first loop and dies with it.
Used from another loop, the cluster says so at once, naming both loops,
instead of silently running without a monitor (a write after a promotion
waited 30 s, then failed); and ``close()`` works from any loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

import pgcluster
from pgcluster.errors import LoopMismatchError
from pgcluster.testing import LocalCluster


def open_in_its_own_loop(local_cluster: LocalCluster) -> pgcluster.AsyncCluster:
    async def first() -> pgcluster.AsyncCluster:
        cluster = pgcluster.AsyncCluster(
            local_cluster.primary.dsn,
            [r.dsn for r in local_cluster.replicas],
            load_catalog=False,
        )
        await cluster.open(wait=True)
        assert (await cluster.query("SELECT 1 AS one"))[0]["one"] == 1
        return cluster

    return asyncio.run(first())


def test_use_from_another_loop_raises_a_clear_error(local_cluster: LocalCluster) -> None:
    cluster = open_in_its_own_loop(local_cluster)

    async def second() -> None:
        with pytest.raises(LoopMismatchError, match="opened in the event loop") as info:
            await cluster.query("SELECT 1")
        assert "one cluster per event loop" in str(info.value)
        with pytest.raises(LoopMismatchError):
            async with cluster.tx():
                pass
        await cluster.close()  # works, from this other loop

    asyncio.run(second())
    assert cluster.closed


def test_close_from_another_loop_closes_every_connection(local_cluster: LocalCluster) -> None:
    cluster = open_in_its_own_loop(local_cluster)
    primary = local_cluster.primary

    def ours() -> int:
        rows = primary.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = '' AND backend_type = 'client backend'"
            " AND pid <> pg_backend_pid()"
        )
        return int(rows[0][0])

    assert ours() >= 1  # the primary's pool holds its min_size connection

    async def second() -> None:
        await cluster.close()

    asyncio.run(second())
    closed = asyncio.run(_wait_until(lambda: ours() == 0, 10))
    assert closed, "the cluster's connections to the primary stayed open"


async def _wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


def test_each_loop_with_its_own_cluster_works(local_cluster: LocalCluster) -> None:
    async def one_run() -> int:
        async with pgcluster.AsyncCluster(
            local_cluster.primary.dsn,
            [r.dsn for r in local_cluster.replicas],
            load_catalog=False,
        ) as cluster:
            return int((await cluster.query("SELECT 1 AS one"))[0]["one"])

    assert [asyncio.run(one_run()) for _ in range(3)] == [1, 1, 1]
