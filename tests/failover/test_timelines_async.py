"""Timelines and failovers: reads go on while the primary is gone at timeline 3, and a
cluster opens around a failover, whatever its configuration says (issue 12, items 5
and 6; the source of test_timelines.py). Fresh clusters of their own: destructive.

In the asyncio version the harness's node controls (kill, promote, follow...) block
the event loop while they run; the monitor runs on that loop, so it simply resumes
once they return. A promotion that must happen while a statement waits runs in a
thread (`Later`).
"""

from __future__ import annotations

import asyncio  # async-only
import time
from typing import Any

import pytest

import pgcluster
from pgcluster.errors import NoPrimaryError
from pgcluster.testing import ClusterNodes, LocalCluster, Node
from pgcluster.testing.pytest_plugin import LocalClusterFactory

from ..support import Deadline, HasStats, Later, node_name, node_status

NODE = "current_setting('cluster_name') AS node"
WHO = f"SELECT {NODE}"
# Small, as the repros use them: a probe every 0.2 s, writes wait up to 20 s.
SETTINGS: dict[str, Any] = {
    "health_interval": 0.2,
    "probe_timeout": 1.0,
    "failover_timeout": 20.0,
    "timeout": 15.0,
    "min_size": 0,
    "load_catalog": False,
}


async def pause(seconds: float) -> None:
    """Let *seconds* pass without blocking the monitor (a measurement's pace)."""
    await asyncio.sleep(seconds)  # sync: time.sleep(seconds)


def multi_host_url(nodes: list[Node]) -> str:
    hosts = ",".join(f"{node.host}:{node.port}" for node in nodes)
    return f"postgresql://postgres@{hosts}/postgres"


def health(cluster: HasStats, node: Node) -> dict[str, Any]:
    """What the health state says of *node*: status, health, timeline, retry_in..."""
    seen: dict[str, Any] = cluster.get_stats()["nodes"][node_name(cluster, node)]["health"]
    return seen


def primary_is(cluster: HasStats, node: Node) -> bool:
    primary = cluster.get_stats()["primary"]
    return primary is not None and primary == node_name(cluster, node)


async def wait_for_primary(cluster: HasStats, node: Node, replicas: list[Node]) -> None:
    """Wait until *node* takes writes and each of *replicas* is in the read rotation."""
    deadline = Deadline(20)
    while not primary_is(cluster, node):
        await deadline.asleep(f"{node.name} to be the primary: {cluster.get_stats()}")
    for replica in replicas:
        while node_status(cluster, replica) != "replica":
            await deadline.asleep(
                f"{replica.name} in the read rotation: {health(cluster, replica)}"
            )


@pytest.fixture
def four_nodes(new_local_cluster: LocalClusterFactory) -> LocalCluster:
    """A primary and three replicas: two failovers still leave a replica to read from."""
    return new_local_cluster(3)


# -- item 5: a replica's timeline never goes back ----------------------------------


async def test_reads_go_on_while_the_primary_is_gone_at_timeline_3(
    four_nodes: LocalCluster,
) -> None:
    first, r1, r2, r3 = four_nodes.nodes
    async with pgcluster.AsyncCluster(first.dsn, [r1.dsn, r2.dsn, r3.dsn], **SETTINGS) as cluster:
        # Two failovers: timeline 2 on replica1, then timeline 3 on replica2.
        first.kill()
        r1.promote()
        r2.follow(r1)
        r3.follow(r1)
        await wait_for_primary(cluster, r1, [r2, r3])
        r1.kill()
        r2.promote()
        r3.follow(r2)
        await wait_for_primary(cluster, r2, [r3])
        assert cluster.get_stats()["timeline"] == 3
        # What a probe falls back to once replica3's WAL receiver is gone.
        (checkpoint,) = r3.execute("SELECT timeline_id FROM pg_control_checkpoint()")[0]
        print(f"\nreplica3's checkpoint is on timeline {checkpoint}")

        # The primary dies, and nobody is promoted (yet): replica3 serves every read.
        r2.kill()
        failures: list[str] = []
        statuses: set[str] = set()
        timelines: set[int | None] = set()
        served: set[str] = set()

        async def read() -> None:
            try:
                rows = await cluster.query(WHO)
            except Exception as ex:
                failures.append(f"{type(ex).__name__}: {ex}")
            else:
                served.add(rows[0]["node"])
            seen = health(cluster, r3)
            statuses.add(seen["status"])
            timelines.add(seen["timeline"])

        deadline = Deadline(10)
        while health(cluster, r2)["health"] != "down":
            await read()
            await deadline.asleep("the monitor to see the primary down")
        # Long enough for many probes of replica3 with its WAL receiver gone.
        window = Deadline(3.0)
        reads = 0
        while not window.expired:
            await read()
            reads += 1
            await pause(0.01)
        print(f"{reads} reads with no primary: {len(failures)} failed; replica3 {statuses}")
        assert failures == [], f"{len(failures)} of {reads} reads failed, first: {failures[0]}"
        assert served == {"replica3"}
        assert "off timeline" not in statuses
        assert all(tl is None or tl >= 3 for tl in timelines), f"timeline went back: {timelines}"


# -- item 6: configured roles are hints ------------------------------------------


async def test_open_with_yesterdays_primary_finds_the_promoted_one(
    fresh_cluster: ClusterNodes,
) -> None:
    old, new, other = fresh_cluster.nodes
    old.execute("CREATE TABLE t (id int)")
    fresh_cluster.wait_replicated()
    # A switchover: the old primary now streams from the promoted replica.
    old.stop()
    new.promote()
    other.follow(new)
    old.follow(new)
    assert old.in_recovery()

    # The application restarts with yesterday's configuration.
    async with pgcluster.AsyncCluster(old.dsn, [new.dsn, other.dsn], **SETTINGS) as cluster:
        assert primary_is(cluster, new), cluster.get_stats()
        rows = await cluster.query(f"INSERT INTO t VALUES (1) RETURNING {NODE}")
        assert rows[0]["node"] == new.name
        assert new.execute("SELECT count(*) FROM t") == [(1,)]
        await wait_for_primary(cluster, new, [old, other])
        for _ in range(10):
            assert (await cluster.query(WHO))[0]["node"] in {old.name, other.name}


async def test_open_with_a_multi_host_url_while_there_is_no_primary_serves_reads(
    fresh_cluster: ClusterNodes,
) -> None:
    dead, r1, r2 = fresh_cluster.nodes
    dead.kill()
    settings = {**SETTINGS, "failover_timeout": 3.0}
    async with pgcluster.AsyncCluster(multi_host_url([dead, r1, r2]), **settings) as cluster:
        served = {(await cluster.query(WHO))[0]["node"] for _ in range(20)}
        assert served == {r1.name, r2.name}
        assert cluster.get_stats()["primary"] is None
        started = time.monotonic()
        with pytest.raises(NoPrimaryError):
            await cluster.query("CREATE TABLE t (id int)")
        waited = time.monotonic() - started
        print(f"\nthe write waited {waited:.2f} s for a primary (failover_timeout=3)")
        assert waited >= 2.5, "the write did not wait for a primary"


async def test_open_with_a_multi_host_url_then_a_promotion_lands_the_waiting_write(
    fresh_cluster: ClusterNodes,
) -> None:
    dead, r1, r2 = fresh_cluster.nodes
    dead.execute("CREATE TABLE t (node text)")
    fresh_cluster.wait_replicated()
    dead.kill()
    async with pgcluster.AsyncCluster(multi_host_url([dead, r1, r2]), **SETTINGS) as cluster:
        assert (await cluster.query(WHO))[0]["node"] in {r1.name, r2.name}
        promotion = Later(1.0, r1.promote)
        started = time.monotonic()
        rows = await cluster.query(f"INSERT INTO t SELECT {NODE} RETURNING node")
        landed = time.monotonic()
        promotion.result()
        assert promotion.started_at is not None
        promoting = promotion.started_at
        print(f"\nthe write landed {landed - promoting:.2f} s after the promotion began")
        assert landed > promoting > started, "the write did not wait for the promotion"
        assert rows[0]["node"] == r1.name
        assert r1.execute("SELECT node FROM t") == [(r1.name,)]
        assert primary_is(cluster, r1)


@pytest.mark.parametrize("configured", ["multi-host URL", "stale primary="])
async def test_open_with_two_primaries_picks_the_highest_timeline(
    fresh_cluster: ClusterNodes, configured: str
) -> None:
    old, new, other = fresh_cluster.nodes
    old.execute("CREATE TABLE t (node text)")
    fresh_cluster.wait_replicated()
    old.kill()
    new.promote()  # timeline 2
    other.follow(new)
    old.start()  # back, still a primary on timeline 1: an old leader thawing
    assert not old.in_recovery()

    if configured == "multi-host URL":
        cluster = pgcluster.AsyncCluster(multi_host_url([old, new, other]), **SETTINGS)
    else:
        cluster = pgcluster.AsyncCluster(old.dsn, [new.dsn, other.dsn], **SETTINGS)
    async with cluster:
        assert primary_is(cluster, new), cluster.get_stats()
        assert cluster.get_stats()["timeline"] == 2
        for _ in range(5):
            rows = await cluster.query(f"INSERT INTO t SELECT {NODE} RETURNING node")
            assert rows[0]["node"] == new.name
        deadline = Deadline(5)
        while node_status(cluster, old) != "fenced":
            await deadline.asleep(f"the old primary to be fenced: {health(cluster, old)}")
        assert old.execute("SELECT count(*) FROM t") == [(0,)]
        assert new.execute("SELECT count(*) FROM t") == [(5,)]
