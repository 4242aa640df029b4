"""pytest fixtures giving tests a real primary and two streaming replicas.

Enable with ``pytest_plugins = ["pgcluster.testing.pytest_plugin"]`` in a
conftest.py. When the PostgreSQL binaries cannot be found the fixtures fail
(not skip) with the reason, so a CI run without them is noticed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._binaries import HarnessError
from .local import LocalCluster

__all__ = ["fresh_cluster", "local_cluster"]


def _started(replicas: int) -> LocalCluster:
    cluster = LocalCluster(replicas)
    try:
        cluster.start()
    except HarnessError as ex:
        pytest.fail(f"pgcluster.testing: {ex}", pytrace=False)
    return cluster


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """A primary and two replicas shared by the whole session: do not stop, pause or promote."""
    cluster = _started(2)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def fresh_cluster() -> Iterator[LocalCluster]:
    """A primary and two replicas of the test's own, for tests that kill, pause or promote."""
    cluster = _started(2)
    try:
        yield cluster
    finally:
        cluster.stop()
