"""use_primary() is a context variable: it pins its own thread or asyncio task, no other.

Threads and tasks need different code, so this file is written twice by hand.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

import pgcluster
from pgcluster.testing import LocalCluster

WHO = "SELECT current_setting('cluster_name') AS node"


@pytest.fixture
def cluster(local_cluster: LocalCluster) -> Iterator[pgcluster.Cluster]:
    replicas = [n.dsn for n in local_cluster.replicas]
    with pgcluster.Cluster(local_cluster.primary.dsn, replicas) as cluster:
        yield cluster


@pytest.fixture
async def acluster(local_cluster: LocalCluster) -> AsyncIterator[pgcluster.AsyncCluster]:
    replicas = [n.dsn for n in local_cluster.replicas]
    async with pgcluster.AsyncCluster(local_cluster.primary.dsn, replicas) as cluster:
        yield cluster


def test_threads_do_not_leak_into_each_other(cluster: pgcluster.Cluster) -> None:
    pinned_inside = threading.Event()
    others_done = threading.Event()
    seen: dict[str, set[str]] = {"pinned": set(), "free": set()}

    def pinned() -> None:
        with cluster.use_primary():
            pinned_inside.set()
            for _ in range(10):
                seen["pinned"].add(cluster.query(WHO)[0]["node"])
            others_done.wait(10)  # stay pinned while the other thread reads

    def free() -> None:
        pinned_inside.wait(10)
        for _ in range(10):
            seen["free"].add(cluster.query(WHO)[0]["node"])
        others_done.set()

    threads = [threading.Thread(target=pinned), threading.Thread(target=free)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen["pinned"] == {"primary"}
    assert seen["free"] == {"replica1", "replica2"}


async def test_tasks_do_not_leak_into_each_other(acluster: pgcluster.AsyncCluster) -> None:
    pinned_inside = asyncio.Event()
    others_done = asyncio.Event()
    seen: dict[str, set[str]] = {"pinned": set(), "free": set(), "child": set()}

    async def pinned() -> None:
        with acluster.use_primary():
            pinned_inside.set()
            for _ in range(10):
                seen["pinned"].add((await acluster.query(WHO))[0]["node"])

            async def child() -> None:  # a task created inside inherits the pin
                seen["child"].add((await acluster.query(WHO))[0]["node"])

            await asyncio.create_task(child())
            await asyncio.wait_for(others_done.wait(), 10)

    async def free() -> None:
        await asyncio.wait_for(pinned_inside.wait(), 10)
        for _ in range(10):
            seen["free"].add((await acluster.query(WHO))[0]["node"])
        others_done.set()

    await asyncio.gather(pinned(), free())
    assert seen["pinned"] == {"primary"}
    assert seen["child"] == {"primary"}
    assert seen["free"] == {"replica1", "replica2"}
