"""Real PostgreSQL for tests: a local primary with streaming replicas, and a faulty network.

- `LocalCluster`: a primary and N hot standbys started from the server
  binaries on this machine, each a `LocalNode` that can be stopped, killed,
  paused, resumed, promoted, or pointed at another primary. `detach` leaves
  it running after the process exits; `stop_detached` stops it later.
- `TcpProxy`: a loopback TCP proxy that can cut, black-hole or slow the
  traffic to one server.
- pytest fixtures ``local_cluster`` and ``fresh_cluster``: add
  ``pytest_plugins = ["pgcluster.testing.pytest_plugin"]`` to a conftest.py.
"""

from __future__ import annotations

from ._binaries import HarnessError, find_bindir
from .local import LocalCluster, LocalNode, StopMode, stop_detached
from .proxy import TcpProxy

__all__ = [
    "HarnessError",
    "LocalCluster",
    "LocalNode",
    "StopMode",
    "TcpProxy",
    "find_bindir",
    "stop_detached",
]
