"""The servers a bench run uses, and what it runs on.

A `LocalCluster` (a primary and two streaming replicas) with the bench's
table, and pgpool-II over it with one and with two replicas.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from contextlib import ExitStack
from typing import Any

from pgcluster.testing import LocalCluster

from .config import Settings
from .pgpool import Pgpool, find_pgpool, version
from .workload import create_schema


class Servers:
    """A primary and two replicas, the bench's table, and pgpool-II over one and two replicas."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.local = LocalCluster(replicas=2)
        self.pgpools: dict[int, Pgpool] = {}
        self._stack = ExitStack()

    def __enter__(self) -> Servers:
        try:
            self._stack.enter_context(self.local)
            create_schema(self.local)
            if self.settings.pgpool:
                for replicas in (1, 2):
                    backends = [self.local.primary, *self.local.replicas[:replicas]]
                    pgpool = Pgpool(backends, children=self.settings.workers + 4)
                    self.pgpools[replicas] = self._stack.enter_context(pgpool)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def primary(self) -> str:
        return self.local.primary.dsn

    def replicas(self, count: int) -> list[str]:
        return [node.dsn for node in self.local.replicas[:count]]

    def node_name(self, cluster_name: str) -> str:
        """The LocalCluster name ("replica1") of a node a `Cluster` calls "127.0.0.1:5433/postgres"."""
        ports = {f"{node.host}:{node.port}/postgres": node.name for node in self.local.nodes}
        return ports.get(cluster_name, cluster_name)


def machine(servers: Servers | None) -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        **{
            package: importlib.metadata.version(package)
            for package in ("psycopg", "psycopg-pool", "sqlglot", "pgcluster")
        },
    }
    if servers is not None:
        info["postgresql"] = servers.local.primary.execute("SHOW server_version")[0][0]
    executable = find_pgpool()
    if executable is not None:
        info["pgpool"] = version(executable)
    return info
