# WARNING: generated from tests/failover/test_fencing_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""Nothing is written to a node that is no longer the usable primary, and what waits for a
primary waits once (issue 12, items 0, 7, 10 and 11; the source of test_fencing.py).

Most tests kill, pause or promote nodes: each of those has a fresh cluster of its own
(destructive). The harness's node controls (kill, promote, follow...) block; here they
run in a thread (`blocking`), so the monitor, which runs on the test's event loop, and
the statements started in the background (`Background`) go on meanwhile, as they do
in the sync twin, where the monitor and the background have threads of their own.
"""

from __future__ import annotations

import collections.abc
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import psycopg
import pytest

import pgcluster
from pgcluster._core.health import (
    Change,
    ChangeKind,
)
from pgcluster.errors import NoPrimaryError
from pgcluster.testing import ClusterNodes, LocalCluster, Node

from ..support import Deadline, is_node, most_advanced, node_name, node_status

T = TypeVar("T")

WHO = "SELECT current_setting('cluster_name') AS node"
INSERT = "INSERT INTO t VALUES (%s)"
# Small, as the repros use them: a probe every 0.2 s, writes wait up to 20 s.
SETTINGS: dict[str, Any] = {
    "health_interval": 0.2,
    "probe_timeout": 1.0,
    "failover_timeout": 20.0,
    "timeout": 15.0,
    "min_size": 0,
    "load_catalog": False,
}
# A probe of a hung (SIGSTOPped) primary takes this long to fail: long enough that
# "seen before the probe of the hung node timed out" is a question of the order of
# events, not of speed.
HUNG_PROBE_TIMEOUT = 5.0

# The pool counters that count a connection given back: kept idle, or discarded as broken.
RETURNED = ("pool_available", "returns_bad")
Events = list[tuple[float, Change]]  # (time.monotonic() when the hook was called, change)
# The make_cluster fixture: ``await make_cluster(nodes, **options)``.
MakeCluster = Callable[..., pgcluster.Cluster]


def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking harness call without stopping the cluster's monitor meanwhile."""
    return fn(*args)


class Background(Generic[T]):
    """``fn()`` running while the test goes on: an asyncio task (a thread in the sync twin).

    *done* once it returned (*value*) or raised (*error*).
    """

    def __init__(self, fn: Callable[[], T], name: str = "background") -> None:
        self.value: T | None = None
        self.error: BaseException | None = None
        self.done = False
        self._fn = fn
        # A task, kept here (the loop keeps only a weak reference); a daemon thread when sync.
        start = threading.Thread(target=self._run, daemon=True).start
        start()

    def _run(self) -> None:
        try:
            self.value = self._fn()
        except Exception as ex:  # the test looks at it
            self.error = ex
        finally:
            self.done = True

    def wait(self, seconds: float, what: str) -> None:
        deadline = Deadline(seconds)
        while not self.done:
            deadline.sleep(what)


@pytest.fixture
def events() -> Events:
    return []


@pytest.fixture
def make_cluster(
    events: Events,
) -> collections.abc.Iterator[MakeCluster]:
    """``make_cluster(nodes, **options)``: an open cluster (``open(wait=True)``) on
    *nodes* with `SETTINGS` and *options*, its changes in *events*; closed at the end."""
    opened: list[pgcluster.Cluster] = []

    def record(change: Change) -> None:
        events.append((time.monotonic(), change))

    def make(nodes: ClusterNodes, **options: Any) -> pgcluster.Cluster:
        cluster = pgcluster.Cluster(
            nodes.primary.dsn,
            [node.dsn for node in nodes.replicas],
            on_change=record,
            **{**SETTINGS, **options},
        )
        opened.append(cluster)
        cluster.open(wait=True)
        return cluster

    yield make
    for cluster in opened:
        cluster.close()


def changes_of(events: Events, node: Node, kind: ChangeKind) -> list[float]:
    """When the on_change hook saw *kind* happen to *node*."""
    return [at for at, change in events if change.kind is kind and is_node(change.node, node)]


def pool_stats(cluster: pgcluster.Cluster, node: Node) -> dict[str, int]:
    """psycopg_pool's counters for *node*'s pool (a counter still at 0 is left out)."""
    stats: dict[str, int] = cluster.get_stats()["nodes"][node_name(cluster, node)]["pool"]
    return stats


def in_use(cluster: pgcluster.Cluster, node: Node) -> int:
    """Connections of *node*'s pool that are out (taken and not given back), on a pool
    that has no connection attempt under way (``pool_size`` counts those too)."""
    stats = pool_stats(cluster, node)
    return stats.get("pool_size", 0) - stats.get("pool_available", 0)


def rows(node: Node) -> list[int]:
    return [x for (x,) in node.execute("SELECT x FROM t ORDER BY x")]


def wait_primary(cluster: pgcluster.Cluster, node: Node, seconds: float = 20) -> None:
    """Wait until the cluster sends writes to *node* (``get_stats()["primary"]``)."""
    name = node_name(cluster, node)
    deadline = Deadline(seconds)
    while cluster.get_stats()["primary"] != name:
        deadline.sleep(f"the cluster to see {node.name} as the primary")


def with_table(nodes: ClusterNodes) -> None:
    """Create ``t (x int)`` on the primary and wait until every replica has it."""
    nodes.primary.execute("CREATE TABLE t (x int)")
    nodes.wait_replicated()


def write(cluster: pgcluster.Cluster, kind: str, value: int) -> None:
    """Insert *value* into ``t`` with a tx(), a task() or a plain query()."""
    if kind == "tx":
        with cluster.tx() as tx:
            tx.query(INSERT, [value])
    elif kind == "task":
        with cluster.task() as task:
            task.query(INSERT, [value])
    else:
        cluster.query(INSERT, [value])


# -- item 0: a write started while there is no primary -----------------------------


@pytest.mark.parametrize("kind", ["tx", "task", "query"])
def test_a_write_started_with_no_primary_never_lands_on_the_old_one(
    fresh_cluster: ClusterNodes,
    make_cluster: MakeCluster,
    kind: str,
) -> None:
    # The repro: the primary dies, a write starts, a replica is promoted and the
    # other follows it; once the cluster sees the new primary, the old one comes back,
    # still a primary on timeline 1 (pg_rewind would erase what it took).
    old = fresh_cluster.primary
    with_table(fresh_cluster)
    cluster = make_cluster(fresh_cluster)
    blocking(old.kill)
    writer = Background(lambda: write(cluster, kind, 1), name=kind)
    new = blocking(most_advanced, fresh_cluster.replicas)
    (other,) = (node for node in fresh_cluster.replicas if node is not new)
    blocking(new.promote)
    blocking(other.follow, new)
    wait_primary(cluster, new)
    blocking(old.start)  # back, still a primary on timeline 1
    writer.wait(20, f"the {kind} write to end")

    told = "success" if writer.error is None else repr(writer.error)
    assert rows(old) == [], (
        f"the {kind} write was applied on the old primary (the caller was told: {told})"
    )
    if writer.error is None:
        assert rows(new) == [1], f"the {kind} write was acknowledged but is not on the new primary"
    else:
        assert isinstance(writer.error, psycopg.Error), repr(writer.error)


# -- item 7: a hung primary, and its return -----------------------------------------


def test_a_hung_primary_delays_neither_the_promotion_nor_the_replicas_reads(
    fresh_cluster: ClusterNodes,
    make_cluster: MakeCluster,
    events: Events,
) -> None:
    old = fresh_cluster.primary
    new, other = fresh_cluster.replicas
    cluster = make_cluster(fresh_cluster, probe_timeout=HUNG_PROBE_TIMEOUT)
    deadline = Deadline(10)
    while [node_status(cluster, node) for node in (new, other)] != ["replica", "replica"]:
        deadline.sleep("both replicas to be read from")

    old.pause()  # a hung machine: each probe of it waits HUNG_PROBE_TIMEOUT, then fails
    paused_at = time.monotonic()
    try:
        blocking(new.promote)
        blocking(other.follow, new)  # on the new timeline, as an HA manager does
        # A probe of *other* taken just before the follow may report just after it.
        settled = time.monotonic() + 1.0
        failed_reads: list[str] = []
        stop = threading.Event()

        def read_on_replicas() -> None:
            # A task() holds its replica for two statements: an abort is not retried.
            while not stop.is_set():
                began, node = time.monotonic(), "?"
                try:
                    with cluster.task(target="replica") as task:
                        node = (task.query(WHO))[0]["node"]
                        task.query("SELECT pg_sleep(0.1)")
                except psycopg.Error as ex:
                    if began > settled:
                        failed_reads.append(f"{node}: {ex!r}")

        reader = Background(read_on_replicas, name="reader")
        deadline = Deadline(3 * HUNG_PROBE_TIMEOUT)
        while not changes_of(events, new, ChangeKind.PROMOTED):
            deadline.sleep(f"the cluster to see {new.name} promoted")
        deadline = Deadline(10)
        while node_status(cluster, other) != "replica":
            deadline.sleep(f"{other.name} to be read from on the new timeline")
        stop.set()
        reader.wait(10, "the reads to stop")
    finally:
        old.resume()

    seen_after = changes_of(events, new, ChangeKind.PROMOTED)[0] - paused_at
    spurious = [
        f"{change} ({at - settled:+.2f} s)"
        for at, change in events
        if at > settled
        and change.kind is ChangeKind.EJECTED
        and (is_node(change.node, new) or is_node(change.node, other))
    ]
    print(
        f"\npromotion seen {seen_after:.2f} s after the primary hung (its probes time out"
        f" after {HUNG_PROBE_TIMEOUT} s); ejections of nodes on the new timeline: {spurious};"
        f" failed reads: {failed_reads}"
    )
    assert reader.error is None, repr(reader.error)
    # The order of events: the promotion is seen before the hung node's probe gives up.
    assert seen_after < HUNG_PROBE_TIMEOUT, (
        f"the promotion was seen {seen_after:.2f} s after the primary hung: only once a probe"
        f" of the hung node (timeout {HUNG_PROBE_TIMEOUT} s) had given up"
    )
    assert spurious == [], "a replica already on the new timeline was ejected"
    assert failed_reads == [], "reads on a replica already on the new timeline were aborted"


def test_an_old_primary_thawing_after_the_seat_moved_is_never_written_to(
    fresh_cluster: ClusterNodes,
    make_cluster: MakeCluster,
) -> None:
    old, new = fresh_cluster.primary, fresh_cluster.replicas[0]
    with_table(fresh_cluster)
    cluster = make_cluster(fresh_cluster, probe_timeout=HUNG_PROBE_TIMEOUT)
    new_name = node_name(cluster, new)

    old.pause()  # hung: nothing is sent to it meanwhile, since nothing is written
    paused_at = time.monotonic()
    try:
        blocking(new.promote)
        # Thaw the old primary as soon as the cluster sees the new one, and at the latest
        # well before the probe of the hung node times out: it comes back within the
        # probe round that the seat moved in.
        thaw = Deadline(0.6 * HUNG_PROBE_TIMEOUT - (time.monotonic() - paused_at))
        deadline = Deadline(HUNG_PROBE_TIMEOUT)
        while cluster.get_stats()["primary"] != new_name and not thaw.expired:
            deadline.sleep("the moment to thaw the old primary")
    finally:
        old.resume()  # back, still a primary on timeline 1

    # Writes for several probe rounds: query() and tx() in turn.
    acknowledged: set[int] = set()
    failed: list[str] = []
    ids = iter(range(1000, 1_000_000))
    rounds = Deadline(8 * SETTINGS["health_interval"])
    while not rounds.expired:
        n = next(ids)
        try:
            write(cluster, "tx" if n % 2 else "query", n)
        except psycopg.Error as ex:
            failed.append(f"{n}: {ex!r}")
        else:
            acknowledged.add(n)
    deadline = Deadline(10)
    while node_status(cluster, old) != "fenced":
        deadline.sleep(f"{old.name} to be fenced")

    stray = rows(old)
    print(f"\n{len(acknowledged)} writes acknowledged, {len(failed)} failed: {failed[:3]}")
    assert stray == [], (
        f"{len(stray)} writes reached the old primary after the seat moved: {stray[:10]}"
    )
    assert acknowledged, "no write succeeded"
    assert acknowledged <= set(rows(new)), "an acknowledged write is not on the new primary"
    assert node_status(cluster, old) == "fenced"


# -- item 10: getconn() and putconn() across a failover --------------------------


def test_putconn_after_a_failover_gives_the_connection_back_to_its_own_pool(
    fresh_cluster: ClusterNodes,
    make_cluster: MakeCluster,
) -> None:
    old = fresh_cluster.primary
    cluster = make_cluster(fresh_cluster)
    conn = cluster.getconn()
    assert conn.info.port == old.port
    assert in_use(cluster, old) == 1

    blocking(old.kill)
    new = blocking(most_advanced, fresh_cluster.replicas)
    blocking(new.promote)
    wait_primary(cluster, new)
    before = pool_stats(cluster, old)
    cluster.putconn(conn)  # to the old primary's pool, not to the new one's

    # The pool it came from takes it back (maybe through its worker): kept idle, or, its
    # server being dead, closed (discarded as broken, or by that pool itself if it was
    # closed while its node was down). Either way nothing holds it any more.
    def taken_back() -> bool:
        after = pool_stats(cluster, old)
        return conn.closed or any(after.get(key, 0) > before.get(key, 0) for key in RETURNED)

    deadline = Deadline(5)
    while not taken_back():
        deadline.sleep(f"the pool of {old.name} to take the connection back: {before}")
    # And the cluster goes on: the new primary takes writes.
    assert (cluster.query(WHO, target="primary"))[0]["node"] == new.name


def test_getconn_during_a_failover_waits_for_the_new_primary(
    fresh_cluster: ClusterNodes,
    make_cluster: MakeCluster,
) -> None:
    old = fresh_cluster.primary
    # A short pool timeout: a getconn() that waits on the dead primary's pool gives up
    # soon, while one that waits for a primary (failover_timeout) gets the new one.
    cluster = make_cluster(fresh_cluster, timeout=2.0)
    blocking(old.kill)
    deadline = Deadline(10)
    while cluster.get_stats()["primary"] is not None:
        deadline.sleep("the primary to be known down")

    taker = Background(cluster.getconn, name="getconn")
    new = blocking(most_advanced, fresh_cluster.replicas)
    blocking(new.promote)
    taker.wait(20, "getconn() to return")

    assert taker.error is None, f"getconn() did not wait for the new primary: {taker.error!r}"
    conn = taker.value
    assert conn is not None
    try:
        assert conn.info.port == new.port
    finally:
        cluster.putconn(conn)
    deadline = Deadline(5)
    while in_use(cluster, new) != 0:
        deadline.sleep(f"the connection to be back in the pool of {new.name}")


def test_getconn_takes_a_target(
    local_cluster: LocalCluster,
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster(local_cluster)
    conn = cluster.getconn(target="replica")
    try:
        assert conn.info.port in {node.port for node in local_cluster.replicas}
    finally:
        cluster.putconn(conn)
    conn = cluster.getconn(target="primary")
    try:
        assert conn.info.port == local_cluster.primary.port
    finally:
        cluster.putconn(conn)
    for node in local_cluster.nodes:
        assert in_use(cluster, node) == 0, f"a connection of {node.name} was not given back"


# -- item 11: one failover_timeout per call ----------------------------------------


@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_a_write_with_no_primary_gives_up_after_one_failover_timeout(
    fresh_cluster: ClusterNodes,
    make_cluster: MakeCluster,
    fault: str,
) -> None:
    # Nobody promotes a replica. The write starts before the cluster knows: it goes for
    # the old primary first and finds it unusable; that must not restart its wait. A
    # hung primary (its probes fail after probe_timeout) stays "usable" longest.
    old = fresh_cluster.primary
    failover_timeout = 3.0
    cluster = make_cluster(
        fresh_cluster,
        failover_timeout=failover_timeout,
        probe_timeout=2.0 if fault == "hung" else SETTINGS["probe_timeout"],
    )
    if fault == "hung":
        old.pause()
    else:
        blocking(old.kill)
    started = time.monotonic()
    try:
        with pytest.raises(NoPrimaryError):
            cluster.query("CREATE TABLE t (x int)")
        waited = time.monotonic() - started
    finally:
        old.resume()  # a no-op for a killed node
    print(f"\nNoPrimaryError after {waited:.2f} s (failover_timeout {failover_timeout} s)")
    assert 0.9 * failover_timeout <= waited < 1.5 * failover_timeout
