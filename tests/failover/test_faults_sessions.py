"""task() and tx() when their node fails: they fail fast instead of hanging, and a COMMIT
lost on the way says its outcome is unknown (a fresh cluster per test: destructive)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

import pgcluster
from pgcluster.errors import WriteOutcomeUnknown
from pgcluster.testing import ClusterNodes, Node

from ..support import Deadline, node_status

WHO = "SELECT current_setting('cluster_name') AS node"


@pytest.fixture
def cluster(fresh_cluster: ClusterNodes) -> Iterator[pgcluster.Cluster]:
    fresh_cluster.primary.execute("CREATE TABLE ledger (id int)")
    fresh_cluster.wait_replicated()
    with pgcluster.Cluster(
        fresh_cluster.primary.dsn,
        [n.dsn for n in fresh_cluster.replicas],
        health_interval=0.2,
        probe_timeout=1.0,
        timeout=3.0,
    ) as cluster:
        yield cluster


def _by_name(local: ClusterNodes, name: str) -> Node:
    return next(node for node in local.nodes if node.name == name)


def _standby_names_applied(primary: Node) -> bool:
    """Whether the primary applied synchronous_standby_names; if so, make its commits wait.

    pg_reload_conf() returns before the server applies the new settings, and
    whether commits wait is the checkpointer's call: on a busy machine a COMMIT
    sent right after it may not wait at all. A new session seeing the value
    means the postmaster has passed the reload on; the checkpointer then takes
    it in before it runs the next CHECKPOINT.
    """
    if primary.execute("SHOW synchronous_standby_names") != [("nobody",)]:
        return False
    primary.execute("CHECKPOINT")
    return True


def _outcome(fn: Callable[[], Any], seconds: float) -> BaseException | None:
    """Run *fn* in a thread; return what it raised (None if nothing); fail if it hangs."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
        except BaseException as ex:
            raised.append(ex)
        else:
            raised.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert raised, f"still waiting after {seconds} s: the session hangs on its node"
    return raised[0]


def test_a_task_on_a_hung_replica_fails_fast_and_the_replica_leaves_the_rotation(
    cluster: pgcluster.Cluster, fresh_cluster: ClusterNodes
) -> None:
    with cluster.task(target="replica") as task:
        hung = _by_name(fresh_cluster, task.query(WHO)[0]["node"])
        hung.pause()
        started = time.monotonic()
        error = _outcome(lambda: task.query("SELECT 1"), seconds=10)
    print(f"\nthe task's statement failed {time.monotonic() - started:.2f} s after the pause")
    assert isinstance(error, psycopg.OperationalError)
    assert node_status(cluster, hung) == "unavailable"
    # The next reads go to the other replica, at once.
    assert {cluster.query(WHO)[0]["node"] for _ in range(6)} == {
        n.name for n in fresh_cluster.replicas if n is not hung
    }


def test_a_tx_on_a_hung_primary_fails_fast_and_applies_nothing(
    cluster: pgcluster.Cluster, fresh_cluster: ClusterNodes
) -> None:
    primary = fresh_cluster.primary

    def tx() -> None:
        with cluster.tx() as tx:
            tx.query("INSERT INTO ledger VALUES (1)")
            primary.pause()
            tx.query("INSERT INTO ledger VALUES (2)")

    error = _outcome(tx, seconds=10)
    # Lost before COMMIT: the server rolls back, so the outcome is known.
    assert isinstance(error, psycopg.OperationalError)
    assert not isinstance(error, WriteOutcomeUnknown)
    primary.resume()
    deadline = Deadline(10)
    while node_status(cluster, primary) != "primary":
        deadline.sleep("the primary to be admitted again")
    assert cluster.query("SELECT count(*) AS n FROM ledger")[0]["n"] == 0


def test_a_commit_lost_on_the_way_raises_write_outcome_unknown(
    cluster: pgcluster.Cluster, fresh_cluster: ClusterNodes
) -> None:
    primary = fresh_cluster.primary
    # COMMIT writes its record, then waits for a standby that does not exist:
    # a commit that is durable on the primary but not yet acknowledged.
    primary.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    primary.execute("SELECT pg_reload_conf()")
    deadline = Deadline(10)
    while not _standby_names_applied(primary):
        deadline.sleep("the primary to apply synchronous_standby_names")
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"

    def kill_once_the_commit_waits() -> None:
        deadline = Deadline(10)
        while primary.execute(waiting) != [(1,)]:
            deadline.sleep("the COMMIT to wait for the synchronous standby")
        primary.kill()

    killer = threading.Thread(target=kill_once_the_commit_waits, daemon=True)

    def tx() -> None:
        with cluster.tx() as tx:
            tx.query("INSERT INTO ledger VALUES (7)")
            killer.start()

    error = _outcome(tx, seconds=15)
    assert isinstance(error, WriteOutcomeUnknown), repr(error)
    assert "during COMMIT" in str(error)
    # And it was indeed applied: why the error cannot say "failed".
    killer.join(10)  # the client may see the socket close before kill() returns
    primary.start()
    primary.execute("ALTER SYSTEM RESET synchronous_standby_names")
    primary.execute("SELECT pg_reload_conf()")
    assert primary.execute("SELECT id FROM ledger") == [(7,)]


def test_a_read_only_tx_lost_at_commit_is_a_plain_error(
    cluster: pgcluster.Cluster, fresh_cluster: ClusterNodes
) -> None:
    def tx() -> None:
        with cluster.tx(read_only=True, target="replica") as tx:
            node = _by_name(fresh_cluster, tx.query(WHO)[0]["node"])
            node.kill()

    error = _outcome(tx, seconds=10)
    assert isinstance(error, psycopg.OperationalError)
    assert not isinstance(error, WriteOutcomeUnknown)
