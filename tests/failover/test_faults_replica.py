# WARNING: generated from tests/failover/test_faults_replica_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""Replicas that die or hang under load: reads keep flowing (fresh clusters: destructive).

The source of test_faults_replica.py (see tools/async_to_sync.py): the read load is
made of asyncio tasks here, of threads in the sync twin.

The harness's node controls (kill, pause, execute...) block the event loop for a
moment; the monitor runs on that loop, so it simply resumes once they return.

How soon a node is ejected is printed (``pytest -s``), not asserted: a test holds
what must happen, the deadline only bounds the wait for it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

import pgcluster
from pgcluster._core.health import (
    Change,
    ChangeKind,
)
from pgcluster.testing import ClusterNodes, TcpProxy

from ..support import Deadline, happened, node_status

WHO = "SELECT current_setting('cluster_name') AS node"
# One reader of the read load: an asyncio task (a thread in the sync twin).
Reader = threading.Thread


@pytest.fixture
def events() -> list[Change]:
    return []


@pytest.fixture
def cluster(fresh_cluster: ClusterNodes, events: list[Change]) -> Iterator[pgcluster.Cluster]:
    replicas = [n.dsn for n in fresh_cluster.replicas]
    with pgcluster.Cluster(
        fresh_cluster.primary.dsn,
        replicas,
        health_interval=0.2,
        probe_timeout=1.0,
        timeout=3.0,
        on_change=events.append,
    ) as cluster:
        yield cluster


class ReadLoad:
    """Readers reading as fast as they can, counting where reads went and what failed.

    Asyncio tasks (threads in the sync twin). A task yields after a failure, which
    may come without a wait, so that the others run.
    """

    def __init__(self, cluster: pgcluster.Cluster, readers: int = 4) -> None:
        self.cluster = cluster
        self.seen: Counter[str] = Counter()
        self.failures: list[BaseException] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()  # held across no await: tasks never wait on it
        self._count = readers
        self._readers: list[Reader] = []

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                node = _where(self.cluster)
            except Exception as ex:
                with self._lock:
                    self.failures.append(ex)
            else:
                with self._lock:
                    self.seen[node] += 1

    def __enter__(self) -> ReadLoad:
        for _ in range(self._count):
            reader = Reader(target=self._read)
            reader.start()
            self._readers.append(reader)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for reader in self._readers:
            reader.join(30)

    def reads(self) -> int:
        with self._lock:
            return sum(self.seen.values())

    def wait_for(self, total: int, what: str, seconds: float = 10) -> None:
        """Wait until *total* reads have succeeded, at most *seconds*."""
        deadline = Deadline(seconds)
        while self.reads() < total:
            deadline.sleep(what)


def test_a_replica_killed_under_read_load_costs_no_read(
    cluster: pgcluster.Cluster, fresh_cluster: ClusterNodes, events: list[Change]
) -> None:
    victim = fresh_cluster.replicas[0]
    with ReadLoad(cluster) as load:
        load.wait_for(200, "the read load to start")
        killed_at = time.monotonic()
        victim.kill()
        deadline = Deadline(10)
        while not happened(events, victim, ChangeKind.EJECTED):
            deadline.sleep("the killed replica to be ejected")
        ejected_after = time.monotonic() - killed_at
        load.wait_for(load.reads() + 200, "reads to go on after the ejection")
    print(f"\nreplica ejected {ejected_after:.2f} s after the kill; reads: {dict(load.seen)}")
    assert load.failures == []
    assert node_status(cluster, victim) == "unavailable"


def test_a_paused_replica_does_not_stall_reads(
    cluster: pgcluster.Cluster, fresh_cluster: ClusterNodes, events: list[Change]
) -> None:
    victim = fresh_cluster.replicas[0]
    with ReadLoad(cluster) as load:
        load.wait_for(200, "the read load to start")
        paused_at = time.monotonic()
        victim.pause()  # SIGSTOP: connections stay open, nothing answers
        try:
            deadline = Deadline(10)
            while not happened(events, victim, ChangeKind.EJECTED):
                deadline.sleep("the hung replica to be ejected")
            ejected_after = time.monotonic() - paused_at
            load.wait_for(load.reads() + 200, "reads to go on while the replica hangs", 5)
        finally:
            victim.resume()
    print(f"\nhung replica ejected {ejected_after:.2f} s after SIGSTOP; reads: {dict(load.seen)}")
    assert load.failures == []


def test_a_replica_cut_off_by_the_network_does_not_stall_reads(
    fresh_cluster: ClusterNodes,
) -> None:
    primary, (first, second) = fresh_cluster.primary, fresh_cluster.replicas
    with TcpProxy(first.host, first.port) as proxy:
        replicas = [proxy.dsn(first.dsn), second.dsn]
        with (
            pgcluster.Cluster(
                primary.dsn, replicas, health_interval=0.2, probe_timeout=1.0, timeout=3.0
            ) as cluster,
            ReadLoad(cluster) as load,
        ):
            load.wait_for(200, "the read load to start")
            proxy.blackhole()
            load.wait_for(load.reads() + 300, "reads to go on while the replica is unreachable", 5)
    assert load.failures == []
    assert load.seen["replica2"] > 0


@pytest.mark.parametrize("limit", [{"bytes": 64 * 1024}, {"seconds": 0.5}])
def test_a_lagging_replica_leaves_the_rotation_and_returns(
    fresh_cluster: ClusterNodes, limit: dict[str, float]
) -> None:
    primary, (laggard, fine) = fresh_cluster.primary, fresh_cluster.replicas
    with pgcluster.Cluster(
        primary.dsn,
        [laggard.dsn, fine.dsn],
        health_interval=0.1,
        probe_timeout=1.0,
        max_replica_lag=limit,
    ) as cluster:
        cluster.query("CREATE TABLE filler (x text)")
        laggard.execute("SELECT pg_wal_replay_pause()")
        try:
            deadline = Deadline(10)
            while node_status(cluster, laggard) != "lagging":
                # Keep the primary writing: lag in bytes grows, and so does its age.
                cluster.query(
                    "INSERT INTO filler SELECT repeat('x', 100) FROM generate_series(1, 1000)"
                )
                deadline.sleep("the paused replica to count as lagging")
            # The healthy replica may lag for a moment after a burst too: let it catch up.
            deadline = Deadline(10)
            while node_status(cluster, fine) != "replica":
                deadline.sleep("the healthy replica to catch up")
            assert {_where(cluster) for _ in range(20)} == {fine.name}
        finally:
            laggard.execute("SELECT pg_wal_replay_resume()")
        deadline = Deadline(10)
        while node_status(cluster, laggard) != "replica":
            deadline.sleep("the replica to catch up and return")
        assert laggard.name in {_where(cluster) for _ in range(20)}


def _where(cluster: pgcluster.Cluster) -> str:
    """The node a read went to."""
    rows = cluster.query(WHO)
    node: str = rows[0]["node"]
    return node
