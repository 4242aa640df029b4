"""The primary dies, a replica is promoted: writes resume there, none is applied twice,
and the old primary, back on an older timeline, is fenced (a fresh cluster: destructive).

The source of test_failover.py (see tools/async_to_sync.py): the write load is made of
asyncio tasks here, of threads in the sync twin.

The harness's node controls (kill, promote, follow...) block the event loop while
they run; the monitor runs on that loop, so it simply resumes once they return.
Only under the write load, whose timings are measured, do they run in a thread
(`blocking`).
"""

from __future__ import annotations

import asyncio  # async-only
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

import pgcluster
from pgcluster._core.health import (
    Change,
    ChangeKind,
)
from pgcluster.errors import NoPrimaryError, WriteOutcomeUnknown
from pgcluster.testing import ClusterNodes

from ..support import Deadline, happened, most_advanced, node_status

T = TypeVar("T")

WHO = "SELECT current_setting('cluster_name') AS node"
# One writer of the write load: an asyncio task (a thread in the sync twin).
Writer = asyncio.Task[None]  # sync: Writer = threading.Thread


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking harness call while the write load goes on.

    In a thread, so the load runs on meanwhile (as the sync twin's threads do): called
    on the loop it would hold the loop, and acks the old primary sent just before its
    death would be taken in only after the promotion, as if the new primary sent them.
    """
    return await asyncio.to_thread(fn, *args)  # sync: return fn(*args)


class WriteLoad:
    """Writers inserting unique ids, remembering which were acknowledged, failed or unknown.

    Asyncio tasks (threads in the sync twin). A task yields after a failure, which
    may come without a wait, so that the others run.
    """

    def __init__(self, cluster: pgcluster.AsyncCluster, writers: int = 3) -> None:
        self.cluster = cluster
        self.acked: dict[int, float] = {}  # id -> when it was acknowledged
        self.unknown: set[int] = set()
        self.no_primary: set[int] = set()
        self.other: list[BaseException] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # held across no await: tasks never wait on it
        self._stop = threading.Event()
        self._count = writers
        self._writers: list[Writer] = []

    async def _write(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                n = next(self._ids)
            try:
                await self.cluster.query("INSERT INTO ledger (id) VALUES (%s)", [n])
            except WriteOutcomeUnknown:
                self.unknown.add(n)
            except NoPrimaryError:
                self.no_primary.add(n)
            except Exception as ex:
                self.other.append(ex)
            else:
                with self._lock:
                    self.acked[n] = time.monotonic()
                continue
            await asyncio.sleep(0)  # async-only

    def acked_since(self, moment: float) -> int:
        with self._lock:
            return sum(1 for at in self.acked.values() if at > moment)

    async def __aenter__(self) -> WriteLoad:
        for _ in range(self._count):
            writer = asyncio.create_task(self._write())  # sync: writer = Writer(target=self._write)
            # sync: writer.start()
            self._writers.append(writer)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        for writer in self._writers:
            await asyncio.wait_for(writer, 60)  # sync: writer.join(60)


@pytest.fixture
def events() -> list[Change]:
    return []


@pytest.fixture
async def cluster(
    fresh_cluster: ClusterNodes, events: list[Change]
) -> AsyncIterator[pgcluster.AsyncCluster]:
    primary = fresh_cluster.primary
    primary.execute("CREATE TABLE ledger (id int)")  # no key: duplicates would show
    # With asynchronous replication a commit acknowledged just before the primary
    # dies may never reach a standby: PostgreSQL's contract, not ours. Acknowledged
    # writes survive a failover only when every standby has flushed them first, so
    # this suite runs synchronous (on the primary only: the promoted replica must
    # not wait for itself).
    names = ", ".join(n.name for n in fresh_cluster.replicas)
    primary.execute(
        f"ALTER SYSTEM SET synchronous_standby_names = 'ANY {len(fresh_cluster.replicas)} ({names})'"
    )
    primary.execute("SELECT pg_reload_conf()")
    fresh_cluster.wait_replicated()
    async with pgcluster.AsyncCluster(
        fresh_cluster.primary.dsn,
        [n.dsn for n in fresh_cluster.replicas],
        health_interval=0.2,
        probe_timeout=1.0,
        timeout=3.0,
        failover_timeout=20.0,
        on_change=events.append,
    ) as cluster:
        yield cluster


async def test_writes_resume_on_the_promoted_replica_and_none_is_applied_twice(
    cluster: pgcluster.AsyncCluster, fresh_cluster: ClusterNodes, events: list[Change]
) -> None:
    old = fresh_cluster.primary
    async with WriteLoad(cluster) as load:
        deadline = Deadline(10)
        while load.acked_since(0) < 100:
            await deadline.asleep("the write load to start")
        await blocking(old.kill)
        new = await blocking(most_advanced, fresh_cluster.replicas)
        (other,) = (n for n in fresh_cluster.replicas if n is not new)
        await blocking(new.promote)
        promoted_at = time.monotonic()
        deadline = Deadline(20)
        while load.acked_since(promoted_at) < 50:
            await deadline.asleep("writes to resume on the promoted replica")
        first_write = min(at for at in load.acked.values() if at > promoted_at) - promoted_at

    print(
        f"\nfirst write {first_write:.2f} s after the promotion; acknowledged {len(load.acked)},"
        f" outcome unknown {len(load.unknown)}, no primary {len(load.no_primary)}"
    )
    assert load.other == []
    assert happened(events, new, ChangeKind.PROMOTED)
    assert (await cluster.query(WHO, target="primary"))[0]["node"] == new.name

    rows = [n for (n,) in new.execute("SELECT id FROM ledger")]
    assert len(rows) == len(set(rows)), "a write was applied twice"
    assert set(load.acked) <= set(rows), "an acknowledged write is missing"
    assert not (set(rows) & load.no_primary), "a write reported as not sent was applied"
    assert set(rows) <= set(load.acked) | load.unknown

    # The other replica follows the new primary and is read from again.
    other.follow(new)
    deadline = Deadline(15)
    while node_status(cluster, other) != "replica":
        await deadline.asleep("the other replica to be admitted on the new timeline")


async def test_the_old_primary_coming_back_is_fenced(
    cluster: pgcluster.AsyncCluster, fresh_cluster: ClusterNodes, events: list[Change]
) -> None:
    old, new = fresh_cluster.primary, fresh_cluster.replicas[0]
    old.kill()
    new.promote()
    deadline = Deadline(20)
    while True:  # the first writes may die with the old primary: outcome unknown
        try:
            await cluster.query("INSERT INTO ledger (id) VALUES (1)")  # waits for the new primary
            break
        except WriteOutcomeUnknown:
            await deadline.asleep("a write to succeed on the new primary")
    old.start()  # back, still a primary, on the old timeline
    deadline = Deadline(15)
    while not happened(events, old, ChangeKind.FENCED):
        await deadline.asleep("the old primary to be fenced")
    for _ in range(20):
        await cluster.query("INSERT INTO ledger (id) VALUES (2)")
        assert (await cluster.query(WHO))[0]["node"] != old.name
    assert old.execute("SELECT count(*) FROM ledger WHERE id = 2") == [(0,)]
    assert node_status(cluster, old) == "fenced"
