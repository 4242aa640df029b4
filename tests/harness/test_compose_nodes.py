"""What only the compose backend can get wrong: the containers themselves.

Runs with PGCLUSTER_TEST_TARGET=compose (``make test-compose``); skipped otherwise.
"""

from __future__ import annotations

import subprocess

import pytest

from pgcluster.testing import ComposeNode
from pgcluster.testing.nodes import ClusterNodes
from pgcluster.testing.pytest_plugin import cluster_target

from ..support import Deadline

pytestmark = [
    pytest.mark.skipif(
        cluster_target() != "compose", reason="compose only: PGCLUSTER_TEST_TARGET=compose"
    ),
]


def _exec(node: ComposeNode, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", node.container, "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_an_orphan_that_fails_does_not_restart_the_server(fresh_cluster: ClusterNodes) -> None:
    # A health check that Docker kills on timeout leaves its pg_isready behind,
    # which then reports "no response" (exit 2). Were the postmaster PID 1, it
    # would reap that orphan, take it for a crashed backend and restart.
    replica = fresh_cluster.replicas[0]
    assert isinstance(replica, ComposeNode)
    with replica.connect() as held:
        started = _exec(replica, "(sleep 0.2; exit 2) >/dev/null 2>&1 & echo $!")
        assert started.returncode == 0, started.stderr
        orphan = started.stdout.strip()
        deadline = Deadline(10)
        while _exec(replica, f"kill -0 {orphan}").returncode == 0:
            deadline.sleep(f"the orphan {orphan} to be reaped")

        assert held.execute("SELECT 1").fetchone() == (1,)
    assert replica.execute("SELECT 1") == [(1,)]
    assert "exited with exit code 2" not in replica.log_tail(50)
