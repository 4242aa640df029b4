"""The bench's command line: start the servers, run the workloads, write the report.

    python -m bench                  # everything (a few minutes), docs/benchmarks.*
    python -m bench --quick          # a smoke run (well under a minute), printed only
    python -m bench --only overhead --no-pgpool --out /tmp/b

Every figure that is compared with another comes from the same run, the
contenders interleaved: only ratios are meaningful on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import importlib.metadata
import os
import platform
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pgcluster
from pgcluster.testing import HarnessError, LocalCluster

from . import classify, overhead, report, throughput
from .pgpool import Pgpool, PgpoolError, find_pgpool, version
from .workload import (
    Contender,
    abare_point,
    abare_pool,
    amix,
    apoint,
    bare_mix,
    bare_point,
    bare_pool,
    create_schema,
    mix,
    point,
)

SECTIONS = ("overhead", "classify", "throughput")

# Workload 1's ratios: (numerator, denominator) by contender key.
OVERHEAD_PAIRS = [
    ("cluster", "psycopg_pool"),
    ("pool", "psycopg_pool"),
    ("cluster_forced", "psycopg_pool"),
    ("cluster_forced", "cluster"),
    ("cluster", "pgpool"),
    ("pgpool", "psycopg_pool"),
    ("acluster", "apsycopg_pool"),
    ("acluster", "cluster"),
]


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one run measures, and how long."""

    quick: bool
    sections: tuple[str, ...]
    pgpool: bool
    asyncio: bool
    iterations: int  # workload 1: samples per contender
    warmup: int  # workload 1: unrecorded iterations first
    sessions: int  # workload 1: how many times every pool is made anew
    pool_size: int  # workload 1: connections per pool
    workers: int  # workload 3: threads or tasks per contender
    duration: float  # workload 3: seconds per contender and round
    rounds: int  # workload 3
    seed: int


def parse_args(argv: Sequence[str]) -> tuple[Settings, Path | None]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})",
    )
    parser.add_argument("--no-pgpool", action="store_true", help="leave pgpool-II out")
    parser.add_argument("--no-async", action="store_true", help="leave the asyncio contenders out")
    parser.add_argument("--iterations", type=int, help="workload 1 samples per contender")
    parser.add_argument("--duration", type=float, help="workload 3 seconds per contender and round")
    parser.add_argument("--rounds", type=int, help="workload 3 rounds")
    parser.add_argument("--workers", type=int, default=8, help="workload 3 threads/tasks (8)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write benchmarks.{md,json,png} (default: docs/, none with --quick)",
    )
    args = parser.parse_args(argv)
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown or not sections:
        parser.error(f"--only takes some of {', '.join(SECTIONS)}, not {args.only!r}")
    for name in ("iterations", "duration", "rounds", "workers"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name} must be positive, not {value}")
    quick = args.quick
    settings = Settings(
        quick=quick,
        sections=sections,
        pgpool=not args.no_pgpool,
        asyncio=not args.no_async,
        iterations=args.iterations or (1_000 if quick else 30_000),
        warmup=100 if quick else 2_000,
        sessions=1 if quick else 10,
        pool_size=2,
        workers=args.workers,
        duration=args.duration or (0.5 if quick else 2.0),
        rounds=args.rounds or (1 if quick else 3),
        seed=args.seed,
    )
    out = args.out if args.out is not None else (None if quick else Path("docs"))
    return settings, out


# -- the servers -------------------------------------------------------------------------


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


# -- workload 1 --------------------------------------------------------------------------


async def run_overhead(servers: Servers, s: Settings) -> dict[str, Any]:
    """Workload 1 with every contender, interleaved, in *s.sessions* sessions of new pools.

    Each pool's connections are server processes of their own, and where the
    scheduler puts them biases a contender by a few per cent for as long as
    they live: new pools in every session average that out.
    """
    samples: dict[str, list[float]] = {}
    for session in range(s.sessions):
        async with overhead_contenders(servers, s) as contenders:
            part = await overhead.measure(
                contenders, s.iterations // s.sessions, s.warmup // s.sessions, s.seed + session
            )
        for key, values in part.items():
            samples.setdefault(key, []).extend(values)
    return overhead.summarize(contenders, samples, OVERHEAD_PAIRS)


@asynccontextmanager
async def overhead_contenders(servers: Servers, s: Settings) -> AsyncIterator[list[Contender]]:
    """Workload 1's contenders, each with pools of its own, closed on exit."""
    size = s.pool_size
    sizes: dict[str, Any] = {"min_size": size, "max_size": size}
    replica = servers.replicas(1)[0]
    with ExitStack() as stack:
        async with AsyncExitStack() as astack:
            bare = stack.enter_context(bare_pool(replica, size))
            pool = stack.enter_context(pgcluster.Pool(replica, **sizes))
            pool.open(wait=True)
            cluster = stack.enter_context(pgcluster.Cluster(servers.primary, [replica], **sizes))
            cluster.open(wait=True)
            contenders = [
                Contender("psycopg_pool", "psycopg_pool.ConnectionPool", bare_point(bare)),
                Contender("pool", "pgcluster.Pool.query", point(pool)),
                Contender("cluster", "pgcluster.Cluster.query", point(cluster)),
                Contender(
                    "cluster_forced",
                    "Cluster.query(target='replica')",
                    point(cluster, target="replica"),
                ),
            ]
            if s.pgpool:
                via = stack.enter_context(bare_pool(servers.pgpools[1].dsn, size))
                contenders.append(
                    Contender("pgpool", "pgpool-II (psycopg_pool.ConnectionPool)", bare_point(via))
                )
            if s.asyncio:
                abare = await astack.enter_async_context(await abare_pool(replica, size))
                acluster = await astack.enter_async_context(
                    pgcluster.AsyncCluster(servers.primary, [replica], **sizes)
                )
                await acluster.wait()
                contenders += [
                    Contender(
                        "apsycopg_pool",
                        "psycopg_pool.AsyncConnectionPool",
                        abare_point(abare),
                        is_async=True,
                    ),
                    Contender(
                        "acluster", "pgcluster.AsyncCluster.query", apoint(acluster), is_async=True
                    ),
                ]
            yield contenders


# -- workload 3 --------------------------------------------------------------------------


async def run_throughput(servers: Servers, s: Settings) -> dict[str, Any]:
    """Workload 3 over one and two replicas, every contender interleaved in one run."""
    sizes: dict[str, Any] = {"min_size": s.workers, "max_size": s.workers}
    contenders: list[Contender] = []
    clusters: dict[str, pgcluster.Cluster | pgcluster.AsyncCluster] = {}
    with ExitStack() as stack:
        async with AsyncExitStack() as astack:
            for n in (1, 2):
                replicas = servers.replicas(n)
                cluster = stack.enter_context(pgcluster.Cluster(servers.primary, replicas, **sizes))
                cluster.wait()
                clusters[f"cluster_{n}r"] = cluster
                contenders.append(
                    Contender(f"cluster_{n}r", f"Cluster, {n} replica(s), threads", mix(cluster))
                )
                if s.asyncio:
                    acluster = await astack.enter_async_context(
                        pgcluster.AsyncCluster(servers.primary, replicas, **sizes)
                    )
                    await acluster.wait()
                    clusters[f"acluster_{n}r"] = acluster
                    contenders.append(
                        Contender(
                            f"acluster_{n}r",
                            f"AsyncCluster, {n} replica(s), tasks",
                            amix(acluster),
                            is_async=True,
                        )
                    )
                if s.pgpool:
                    via = stack.enter_context(bare_pool(servers.pgpools[n].dsn, s.workers))
                    contenders.append(
                        Contender(
                            f"pgpool_{n}r", f"pgpool-II, {n} replica(s), threads", bare_mix(via)
                        )
                    )
            tallies = await throughput.measure(
                contenders,
                workers=s.workers,
                duration=s.duration,
                rounds=s.rounds,
                warmup=min(0.3, s.duration),
                seed=s.seed,
            )
            figures = throughput.summarize(contenders, tallies)
            for key, target in clusters.items():
                nodes = target.get_stats()["nodes"]
                figures[key]["routed"] = {
                    servers.node_name(name): node["routed"] for name, node in nodes.items()
                }
            for n, pgpool in servers.pgpools.items():
                if f"pgpool_{n}r" in figures:
                    figures[f"pgpool_{n}r"]["select_cnt"] = {
                        servers.node_name(f"{row['hostname']}:{row['port']}/postgres"): int(
                            row["select_cnt"]
                        )
                        for row in pgpool.pool_nodes()
                    }
            return figures


# -- the run -----------------------------------------------------------------------------


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


def run(settings: Settings, command: str) -> dict[str, Any]:
    """Every selected section; the results as one JSON-able dict."""
    results: dict[str, Any] = {"command": command, "settings": dataclasses.asdict(settings)}
    if "classify" in settings.sections:
        # First, while no server burns CPU.
        results["classification"] = classify.run(settings.quick)
    servers: Servers | None = None
    if {"overhead", "throughput"} & set(settings.sections):
        with Servers(settings) as servers:
            if "overhead" in settings.sections:
                results["overhead"] = asyncio.run(run_overhead(servers, settings))
            if "throughput" in settings.sections:
                results["throughput"] = asyncio.run(run_throughput(servers, settings))
            results["machine"] = machine(servers)
    else:
        results["machine"] = machine(None)
    results["headline"] = report.headline(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings, out = parse_args(argv)
    command = " ".join(["python -m bench", *argv])
    try:
        results = run(settings, command)
    except (HarnessError, PgpoolError) as ex:
        print(f"bench: cannot start the servers: {ex}", file=sys.stderr)
        return 2
    print(report.markdown(results, chart=None))
    if out is not None:
        for path in report.write(results, out):
            print(f"wrote {path}")
    return 0
