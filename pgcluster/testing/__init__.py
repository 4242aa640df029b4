"""Real PostgreSQL for tests: a local primary with streaming replicas, and a faulty network.

- `LocalCluster`: a primary and N hot standbys started from the server
  binaries on this machine, each a `LocalNode` that can be stopped, killed,
  paused, resumed, promoted, or pointed at another primary. `detach` leaves
  it running after the process exits; `stop_detached` stops it later.
- `ComposeCluster`: the same from the project's compose.yaml, each node a
  `ComposeNode` container controlled with docker (kill, pause, start...).
- `Node` and `ClusterNodes`: what both backends offer; type tests with them.
- `TcpProxy`: a loopback TCP proxy that can cut, black-hole or slow the
  traffic to one server.
- pytest fixtures ``local_cluster`` and ``fresh_cluster`` (local, or compose
  with ``PGCLUSTER_TEST_TARGET=compose``): add
  ``pytest_plugins = ["pgcluster.testing.pytest_plugin"]`` to a conftest.py.
"""

from __future__ import annotations

from ._binaries import HarnessError, find_bindir
from .compose import ComposeCluster, ComposeNode
from .local import LocalCluster, LocalNode, StopMode, stop_detached
from .nodes import ClusterNodes, Node
from .proxy import TcpProxy

__all__ = [
    "ClusterNodes",
    "ComposeCluster",
    "ComposeNode",
    "HarnessError",
    "LocalCluster",
    "LocalNode",
    "Node",
    "StopMode",
    "TcpProxy",
    "find_bindir",
    "stop_detached",
]
