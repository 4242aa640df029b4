"""Small helpers shared by the tests: deadlines instead of sleep-and-hope, free ports."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from pgcluster._core.health import (
    Change,
    ChangeKind,
)
from pgcluster.testing import Node


class Deadline:
    """Poll a condition until it holds or *seconds* pass; then fail saying what was awaited."""

    def __init__(self, seconds: float, interval: float = 0.02) -> None:
        self.seconds = seconds
        self.interval = interval
        self.end = time.monotonic() + seconds

    @property
    def expired(self) -> bool:
        return time.monotonic() > self.end

    def _check(self, what: str) -> None:
        if self.expired:
            raise AssertionError(f"gave up after {self.seconds} s waiting for {what}")

    def sleep(self, what: str) -> None:
        """Fail if the deadline passed, else wait a little before the next poll."""
        self._check(what)
        time.sleep(self.interval)

    async def asleep(self, what: str) -> None:
        """`sleep()` for async tests."""
        self._check(what)
        await asyncio.sleep(self.interval)


def most_advanced(replicas: Sequence[Node]) -> Node:
    """The replica holding the most WAL of the dead primary, once none receives more.

    The one to promote, as a failover tool would: the other one may have replayed WAL
    the promoted one never received, and then cannot follow it ("new timeline forked
    off current database system timeline before current recovery point": only
    pg_rewind helps). Under a write load that happens now and then with either choice
    made blindly. Blocking (async tests: run it in a thread).
    """
    query = (
        "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint,"
        " EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')"
    )
    deadline = Deadline(10)
    while True:
        seen = {node.name: node.execute(query)[0] for node in replicas}
        if not any(streaming for _, streaming in seen.values()):
            break  # a receiver leaves "streaming" once it flushed what it received
        deadline.sleep("the replicas to notice that their primary died")
    received: int = max(lsn for lsn, _ in seen.values())
    return next(node for node in replicas if seen[node.name][0] == received)


class HasStats(Protocol):
    """A Cluster or an AsyncCluster: both report get_stats() synchronously."""

    def get_stats(self) -> dict[str, Any]: ...


def is_node(name: str, node: Node) -> bool:
    """Whether the cluster's node *name* (``host:port/db``) is the harness's *node*."""
    return name.endswith(f":{node.port}/postgres")


def happened(events: Iterable[Change], node: Node, kind: ChangeKind) -> bool:
    """Whether the on_change hook saw *kind* happen to *node*."""
    return any(change.kind is kind and is_node(change.node, node) for change in events)


def node_name(cluster: HasStats, node: Node) -> str:
    """The cluster's name for the harness's *node*."""
    names: dict[str, Any] = cluster.get_stats()["nodes"]
    return next(name for name in names if is_node(name, node))


def node_status(cluster: HasStats, node: Node) -> str:
    """What the health checks make of *node* now: "replica", "lagging", "fenced", ..."""
    status: str = cluster.get_stats()["nodes"][node_name(cluster, node)]["health"]["status"]
    return status


class Later:
    """Run *fn* in a thread after *delay* seconds: a fault on a schedule while the test
    goes on using the cluster. `result()` waits for it and re-raises what it raised."""

    def __init__(self, delay: float, fn: Callable[[], object]) -> None:
        self.started_at: float | None = None  # time.monotonic() when fn was called
        self.done_at: float | None = None  # time.monotonic() when fn returned
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(delay, fn), daemon=True)
        self._thread.start()

    def _run(self, delay: float, fn: Callable[[], object]) -> None:
        try:
            time.sleep(delay)
            self.started_at = time.monotonic()
            fn()
        except BaseException as ex:  # reported by result()
            self._error = ex
        else:
            self.done_at = time.monotonic()

    def result(self, timeout: float = 60.0) -> float:
        """When *fn* returned (it must have)."""
        self._thread.join(timeout)
        if self._error is not None:
            raise self._error
        assert self.done_at is not None, "the scheduled fault did not finish"
        return self.done_at
