"""pytest fixtures giving tests a real primary and two streaming replicas.

Enable with ``pytest_plugins = ["pgcluster.testing.pytest_plugin"]`` in a
conftest.py. When the servers cannot be started the fixtures fail (not skip)
with the reason, so a CI run without them is noticed.

``fresh_cluster`` starts them where ``PGCLUSTER_TEST_TARGET`` says: ``local``
(the default: `LocalCluster`, processes from this machine's binaries) or
``compose`` (`ComposeCluster`: containers from compose.yaml, with the compose
files of ``COMPOSE_FILE``). Tests typed against `ClusterNodes` run on both.
``local_cluster``, shared by the non-destructive tests, is always local.

When a test that uses either fixture fails, the report shows the last lines of
each server's log (a section per node), taken before the servers are stopped.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import Any, cast

import pytest

from ._binaries import HarnessError
from .compose import ComposeCluster
from .local import LocalCluster
from .nodes import ClusterNodes

__all__ = ["cluster_target", "fresh_cluster", "local_cluster"]

TARGETS = ("local", "compose")
_FIXTURES = ("fresh_cluster", "local_cluster")


def cluster_target() -> str:
    """Where ``fresh_cluster`` starts its nodes: ``$PGCLUSTER_TEST_TARGET``, ``local`` by default."""
    target = os.environ.get("PGCLUSTER_TEST_TARGET", "").strip() or "local"
    if target not in TARGETS:
        raise pytest.UsageError(
            f"PGCLUSTER_TEST_TARGET must be one of {', '.join(TARGETS)}, not {target!r}"
        )
    return target


def _started(cluster: ClusterNodes) -> ClusterNodes:
    try:
        cluster.start()
    except HarnessError as ex:
        pytest.fail(f"pgcluster.testing: {ex}", pytrace=False)
    return cluster


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """A primary and two replicas shared by the whole session: do not stop, pause or promote."""
    cluster = LocalCluster(2)
    _started(cluster)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def fresh_cluster() -> Iterator[ClusterNodes]:
    """A primary and two replicas of the test's own, for tests that kill, pause or promote.

    Local processes, or a compose project of its own with PGCLUSTER_TEST_TARGET=compose.
    """
    cluster: ClusterNodes = ComposeCluster() if cluster_target() == "compose" else LocalCluster(2)
    _started(cluster)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Add each server's log tail to the report of a failed test (the servers still run)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    funcargs: dict[str, object] = getattr(item, "funcargs", {})
    for fixture in _FIXTURES:
        cluster = cast("ClusterNodes | None", funcargs.get(fixture))
        for node in cluster.nodes if cluster is not None else ():
            report.sections.append((f"server log: {fixture} {node.name}", node.log_tail()))
