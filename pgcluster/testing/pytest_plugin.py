"""pytest fixtures giving tests a real primary and two streaming replicas.

Enable with ``pytest_plugins = ["pgcluster.testing.pytest_plugin"]`` in a
conftest.py. When the servers cannot be started the fixtures fail (not skip)
with the reason, so a CI run without them is noticed.

``fresh_cluster`` starts them where ``PGCLUSTER_TEST_TARGET`` says: ``local``
(the default: `LocalCluster`, processes from this machine's binaries) or
``compose`` (`ComposeCluster`: containers from compose.yaml, with the compose
files of ``COMPOSE_FILE``). Tests typed against `ClusterNodes` run on both.
``local_cluster``, shared by the non-destructive tests, is always local.
``new_local_cluster(replicas, **options)`` starts local clusters of other shapes
(three replicas, other settings) for the test alone.

When a test that uses either fixture fails, the report shows the last lines of
each server's log (a section per node), taken before the servers are stopped.

The fixtures mark the tests that use them, directly or through another fixture:
``servers`` (real PostgreSQL servers: either fixture) and ``destructive`` (a
cluster of its own that the test may kill, pause or promote: ``fresh_cluster``).
``pytest -m "not servers"`` runs the rest; ``-m "not destructive"`` leaves out the
slow tests that start clusters of their own.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import Any, cast

import pytest

from ._binaries import HarnessError
from .compose import ComposeCluster
from .local import LocalCluster
from .nodes import ClusterNodes, Node

__all__ = [
    "LocalClusterFactory",
    "cluster_target",
    "fresh_cluster",
    "local_cluster",
    "new_local_cluster",
]

TARGETS = ("local", "compose")
_FIXTURES = ("fresh_cluster", "local_cluster", "new_local_cluster")
# The markers the fixtures set, by fixture: a test never needs to write them.
MARKERS = {
    "servers": "uses real PostgreSQL servers (set by the local_cluster and fresh_cluster fixtures)",
    "destructive": "starts a cluster of its own that it may kill, pause or promote"
    " (set by the fresh_cluster fixture)",
}
_MARKED_BY = {
    "local_cluster": ("servers",),
    "fresh_cluster": ("servers", "destructive"),
    "new_local_cluster": ("servers", "destructive"),
}


def cluster_target() -> str:
    """Where ``fresh_cluster`` starts its nodes: ``$PGCLUSTER_TEST_TARGET``, ``local`` by default."""
    target = os.environ.get("PGCLUSTER_TEST_TARGET", "").strip() or "local"
    if target not in TARGETS:
        raise pytest.UsageError(
            f"PGCLUSTER_TEST_TARGET must be one of {', '.join(TARGETS)}, not {target!r}"
        )
    return target


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by them
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the server fixtures it uses, directly or through other fixtures."""
    for item in items:
        fixtures: list[str] = getattr(item, "fixturenames", [])
        marks = {mark for name in fixtures for mark in _MARKED_BY.get(name, ())}
        for mark in sorted(marks):
            item.add_marker(mark)


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


class LocalClusterFactory:
    """What ``new_local_cluster`` gives: call it to start a `LocalCluster` of the test's own."""

    def __init__(self) -> None:
        self.clusters: list[LocalCluster] = []

    def __call__(self, replicas: int = 2, **options: Any) -> LocalCluster:
        """A started `LocalCluster(replicas, **options)`, stopped after the test."""
        cluster = LocalCluster(replicas, **options)
        self.clusters.append(cluster)
        _started(cluster)
        return cluster

    @property
    def nodes(self) -> list[Node]:
        return [node for cluster in self.clusters for node in cluster.nodes]


@pytest.fixture
def new_local_cluster() -> Iterator[LocalClusterFactory]:
    """``new_local_cluster(replicas=2, **options)``: a started `LocalCluster` of the test's
    own, of a shape ``fresh_cluster`` does not give; every one is stopped after the test."""
    factory = LocalClusterFactory()
    try:
        yield factory
    finally:
        for cluster in reversed(factory.clusters):
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
        cluster = cast("ClusterNodes | LocalClusterFactory | None", funcargs.get(fixture))
        for node in cluster.nodes if cluster is not None else ():
            report.sections.append((f"server log: {fixture} {node.name}", node.log_tail()))
