"""The primary dies, a replica is promoted: writes resume there, none is applied twice,
and the old primary, back on an older timeline, is fenced (a fresh cluster: destructive).

The asyncio twin of test_failover.py: the same scenarios with `AsyncCluster`, the
write load made of asyncio tasks instead of threads. Written by hand, not generated
(a ``*_async.py`` name would mean "source of a generated sync twin").

The harness's node controls (kill, promote, follow...) block the event loop while
they run; the monitor runs on that loop, so it simply resumes once they return.
Only under the write load, whose timings are measured, do they run in a thread.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest

import pgcluster
from pgcluster._core.health import (
    Change,
    ChangeKind,
)
from pgcluster.errors import NoPrimaryError, WriteOutcomeUnknown
from pgcluster.testing import ClusterNodes

from ..support import Deadline, happened, most_advanced, node_status

WHO = "SELECT current_setting('cluster_name') AS node"


class WriteLoad:
    """Tasks inserting unique ids, remembering which were acknowledged, failed or unknown."""

    def __init__(self, cluster: pgcluster.AsyncCluster, tasks: int = 3) -> None:
        self.cluster = cluster
        self.acked: dict[int, float] = {}  # id -> when it was acknowledged
        self.unknown: set[int] = set()
        self.no_primary: set[int] = set()
        self.other: list[BaseException] = []
        self._ids = itertools.count(1)
        self._stop = asyncio.Event()
        self._count = tasks
        self._tasks: list[asyncio.Task[None]] = []

    async def _write(self) -> None:
        while not self._stop.is_set():
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
                self.acked[n] = time.monotonic()
                continue
            await asyncio.sleep(0)  # a failure may come without a wait: let the others run

    def acked_since(self, moment: float) -> int:
        return sum(1 for at in self.acked.values() if at > moment)

    async def __aenter__(self) -> WriteLoad:
        self._tasks = [asyncio.create_task(self._write()) for _ in range(self._count)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await asyncio.wait_for(asyncio.gather(*self._tasks), 60)


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
        # In threads, so the load runs on meanwhile (as the sync test's threads do): called
        # here they would hold the event loop, and acks the old primary sent just before its
        # death would be taken in only after the promotion, as if the new primary sent them.
        await asyncio.to_thread(old.kill)
        new = await asyncio.to_thread(most_advanced, fresh_cluster.replicas)
        (other,) = (n for n in fresh_cluster.replicas if n is not new)
        await asyncio.to_thread(new.promote)
        promoted_at = time.monotonic()
        deadline = Deadline(20)
        while load.acked_since(promoted_at) < 50:
            await deadline.asleep("writes to resume on the promoted replica")
        first_write = min(at for at in load.acked.values() if at > promoted_at) - promoted_at

    print(
        f"\nfirst write {first_write:.2f} s after the promotion (asyncio);"
        f" acknowledged {len(load.acked)}, outcome unknown {len(load.unknown)},"
        f" no primary {len(load.no_primary)}"
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
