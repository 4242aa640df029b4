# WARNING: generated from tests/failover/test_recovery_async.py by tools/async_to_sync.py: do not edit.
# Edit the async source and run the tool again.
"""Nodes coming back: a replica cut for a moment is read from again within seconds, even
when it flaps or waits out a backoff, and writes follow an in-place restart of the
primary at once, without psycopg_pool logging every failed reconnect (issue 12, items 8
and 9; the source of test_recovery.py). Fresh clusters of their own: destructive.

Short cuts go through a `TcpProxy` in front of one replica: only the cluster's
connections to it break, its streaming replication does not. Faults that must happen
while a statement waits run in a thread (`Later`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from psycopg import sql

import pgcluster
from pgcluster.testing import ClusterNodes, Node, TcpProxy

from ..support import Deadline, HasStats, Later, node_name

WHO = "SELECT current_setting('cluster_name') AS node"
# Small, as the repros use them: a probe every 0.2 s, writes wait up to 20 s.
SETTINGS: dict[str, Any] = {
    "health_interval": 0.2,
    "probe_timeout": 1.0,
    "failover_timeout": 20.0,
    "timeout": 15.0,
    "min_size": 0,
    "load_catalog": False,
}
BACK_WITHIN = 6.0  # seconds from reachable again to read from again (it was 13 to 16 s)
MAX_RETRY_IN = 4.5  # the backoff's cap is a few seconds (assumed 4 s), not 30


def pause(seconds: float) -> None:
    """Let *seconds* pass without blocking the monitor (a fault's length, a sampling pace)."""
    time.sleep(seconds)


def proxied(proxy: TcpProxy) -> str:
    """The cluster's name for the node behind *proxy*."""
    return f"{proxy.host}:{proxy.port}/postgres"


def health(cluster: HasStats, name: str) -> dict[str, Any]:
    """What the health state says of node *name*: status, health, failures, retry_in..."""
    seen: dict[str, Any] = cluster.get_stats()["nodes"][name]["health"]
    return seen


def status(cluster: HasStats, name: str) -> str:
    return str(health(cluster, name)["status"])


def in_rotation(cluster: HasStats, name: str, seconds: float = 15.0) -> float:
    """Wait until *name* is in the read rotation; return the largest retry_in seen meanwhile."""
    deadline = Deadline(seconds)
    most = 0.0
    while (seen := health(cluster, name))["status"] != "replica":
        most = max(most, seen["retry_in"])
        deadline.sleep(f"{name} back in the read rotation: {seen}")
    return most


def watch(cluster: HasStats, name: str, seconds: float) -> float:
    """The largest retry_in of *name* over the next *seconds*."""
    end = time.monotonic() + seconds
    most = 0.0
    while time.monotonic() < end:
        most = max(most, health(cluster, name)["retry_in"])
        pause(0.02)
    return most


def reads_reach(cluster: pgcluster.Cluster, node: Node) -> None:
    """Wait until a read is served by *node*."""
    deadline = Deadline(5)
    while (cluster.query(WHO))[0]["node"] != node.name:
        deadline.sleep(f"a read served by {node.name}")


# -- item 8: a rejoined node comes back soon ---------------------------------------


def test_a_replica_cut_for_0_4_s_again_and_again_is_back_within_seconds(
    fresh_cluster: ClusterNodes,
) -> None:
    primary, replica, other = fresh_cluster.nodes
    with TcpProxy(replica.host, replica.port) as proxy:
        replicas = [proxy.dsn(replica), other.dsn]
        with pgcluster.Cluster(primary.dsn, replicas, **SETTINGS) as cluster:
            name = proxied(proxy)
            in_rotation(cluster, name)
            back_after = []
            most = 0.0
            for _ in range(5):  # the randomized schedule cut replicas every few seconds
                proxy.cut()
                pause(0.4)
                proxy.restore()
                restored = time.monotonic()
                most = max(most, in_rotation(cluster, name, 20))
                back_after.append(time.monotonic() - restored)
                if back_after[-1] > BACK_WITHIN:
                    break  # failed already: no need to wait out a longer backoff
            reads_reach(cluster, replica)
    print(
        f"\nback in the rotation after {[round(s, 1) for s in back_after]} s; retry_in <= {most:.1f}"
    )
    assert max(back_after) <= BACK_WITHIN, f"back after {[round(s, 1) for s in back_after]} s"
    assert most <= MAX_RETRY_IN


def test_a_flapping_replica_never_backs_off_more_than_a_few_seconds(
    fresh_cluster: ClusterNodes,
) -> None:
    primary, replica, other = fresh_cluster.nodes
    with TcpProxy(replica.host, replica.port) as proxy:
        replicas = [proxy.dsn(replica), other.dsn]
        with pgcluster.Cluster(primary.dsn, replicas, **SETTINGS) as cluster:
            name = proxied(proxy)
            in_rotation(cluster, name)
            most = 0.0
            flapping = time.monotonic() + 12
            while time.monotonic() < flapping:  # down 0.4 s, up 0.3 s, again and again
                proxy.cut()
                most = max(most, watch(cluster, name, 0.4))
                proxy.restore()
                most = max(most, watch(cluster, name, 0.3))
            restored = time.monotonic()
            most = max(most, in_rotation(cluster, name, 20))
            back = time.monotonic() - restored
            reads_reach(cluster, replica)
    print(f"\nretry_in reached {most:.1f} s; back {back:.1f} s after the flapping stopped")
    assert most <= MAX_RETRY_IN, f"the backoff reached {most:.1f} s"
    assert back <= BACK_WITHIN


def test_a_down_replica_is_back_at_once_when_another_node_is_promoted(
    fresh_cluster: ClusterNodes,
) -> None:
    primary, new, replica = fresh_cluster.nodes
    # The replica streams from `new` (cascading): once `new` is promoted it follows it
    # onto the new timeline by itself, and is ready to serve at once.
    conninfo = f"host={new.host} port={new.port} user=postgres"
    replica.execute(sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(conninfo)))
    replica.execute("SELECT pg_reload_conf()")
    new.wait_streaming([replica.name])
    with TcpProxy(replica.host, replica.port) as proxy:
        replicas = [new.dsn, proxy.dsn(replica)]
        with pgcluster.Cluster(primary.dsn, replicas, **SETTINGS) as cluster:
            name = proxied(proxy)
            in_rotation(cluster, name)
            proxy.cut()
            cut_at = time.monotonic()
            # Down long enough for its backoff to grow to the cap, then a retry fails.
            deadline = Deadline(20)
            failures = health(cluster, name)["failures"]
            while True:
                seen = health(cluster, name)
                if time.monotonic() - cut_at >= 6 and seen["failures"] > failures:
                    break
                failures = seen["failures"]
                deadline.sleep(f"a failed retry of {name} after 6 s down: {seen}")
            proxy.restore()  # reachable again, but serving its backoff
            primary.kill()
            new.promote()
            deadline = Deadline(10)
            while cluster.get_stats()["primary"] != node_name(cluster, new):
                deadline.sleep(f"the promotion of {new.name} to be seen")
            seen_at = time.monotonic()
            waiting = health(cluster, name)["retry_in"]
            in_rotation(cluster, name, 20)
            back = time.monotonic() - seen_at
            reads_reach(cluster, replica)
    print(
        f"\nback {back:.2f} s after the promotion was seen (its backoff had {waiting:.1f} s left)"
    )
    assert back <= 1.5, f"back {back:.1f} s after the promotion: it waited out its backoff"


# -- item 9: writes follow an in-place restart of the primary ---------------------


class Restart:
    """Stop *node*, leave it down *outage* seconds, start it again (in a thread)."""

    def __init__(self, node: Node, outage: float) -> None:
        self.node = node
        self.outage = outage
        self.down_at = 0.0
        self.later = Later(0.3, self._restart)

    def _restart(self) -> None:
        self.node.stop()
        self.down_at = time.monotonic()
        time.sleep(self.outage)
        self.node.start()


def write_through(cluster: pgcluster.Cluster, restart: Restart) -> float:
    """Write on and on while *restart* happens; return how long after the primary was up
    again the first write landed (each write waits for the primary while it is down)."""
    failed: list[str] = []
    deadline = Deadline(restart.outage + 30)
    n = 0
    while True:
        n += 1
        try:
            cluster.query("INSERT INTO t VALUES (%s)", [n])
        except Exception as ex:  # the writes caught by the shutdown
            failed.append(type(ex).__name__)
        else:
            landed = time.monotonic()
            up = restart.later.done_at
            if up is not None and landed > up:
                print(f"\n{n} writes, failed: {failed}")
                return landed - up
        deadline.sleep("a write to land after the restart")


def test_a_write_lands_within_a_second_of_an_in_place_restart(
    fresh_cluster: ClusterNodes,
) -> None:
    primary = fresh_cluster.primary
    primary.execute("CREATE TABLE t (id int)")
    settings = {**SETTINGS, "min_size": 1}
    replicas = [node.dsn for node in fresh_cluster.replicas]
    with pgcluster.Cluster(primary.dsn, replicas, **settings) as cluster:
        cluster.wait(10)
        for outage in (3.6, 1.6):
            lag = write_through(cluster, Restart(primary, outage))
            print(f"a write landed {lag:.2f} s after the primary was up again")
            assert lag <= 1.0, f"the first write landed {lag:.2f} s after the primary was up"


def test_an_outage_of_the_primary_logs_a_few_lines_not_one_per_reconnect(
    fresh_cluster: ClusterNodes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pgcluster")
    caplog.set_level(logging.INFO, logger="psycopg.pool")
    primary = fresh_cluster.primary
    primary.execute("CREATE TABLE t (id int)")
    settings = {**SETTINGS, "min_size": 1}
    replicas = [node.dsn for node in fresh_cluster.replicas]
    with pgcluster.Cluster(primary.dsn, replicas, **settings) as cluster:
        cluster.wait(10)
        write_through(cluster, Restart(primary, 8.0))  # 8 s: many reconnect rounds
        name = node_name(cluster, primary)
    records = list(caplog.records)  # in the order they were logged

    def ours(word: str) -> int:
        """The index of pgcluster's line saying the primary was *word*."""
        return next(
            i
            for i, r in enumerate(records)
            if r.name == "pgcluster" and name in r.getMessage() and word in r.getMessage()
        )

    ejected, admitted = ours("ejected"), ours("admitted (unavailable")
    warned = [
        i
        for i, r in enumerate(records)
        if r.name.startswith("psycopg.pool") and r.levelno >= logging.WARNING
    ]
    while_out = [records[i].getMessage()[:100] for i in warned if ejected < i < admitted]
    print(f"\npsycopg.pool warnings: {len(warned)}, {len(while_out)} while ejected: {while_out}")
    # Those logged as the server shut down, before a probe saw it, are psycopg_pool's
    # own (a broken connection, one reconnect); once ejected, the pool keeps quiet.
    assert len(while_out) <= 1, f"{len(while_out)} psycopg.pool warnings while ejected"
    assert len(warned) <= 4, f"{len(warned)} psycopg.pool warnings in one outage"
