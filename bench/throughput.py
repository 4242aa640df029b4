"""Workload 3: a 90/10 read/write mix from concurrent workers (threads, or asyncio tasks).

Each worker runs point SELECTs and UPDATEs by primary key (one in ten a
write) for a fixed time. Contenders run in turn, in rounds, each round in a
new random order, so that a noisy moment does not land on one of them only.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from typing import Any

import pgcluster

from .config import Settings
from .servers import Servers
from .stats import latency_summary
from .workload import ROWS, Contender, amix, bare_mix, bare_pool, mix

WRITE_SHARE = 0.1


@dataclass
class Tally:
    """What the workers of one contender did over all its runs."""

    statements: int = 0
    seconds: float = 0.0
    latencies_us: list[float] = field(default_factory=list)

    def add(self, statements: int, seconds: float, latencies_us: list[float]) -> None:
        self.statements += statements
        self.seconds += seconds
        self.latencies_us += latencies_us


def _plan(seed: int, count: int = 4096) -> list[tuple[bool, int]]:
    """A worker's statements, drawn in advance: (is_write, key). Cycled through."""
    rng = random.Random(seed)
    return [(rng.random() < WRITE_SHARE, rng.randint(1, ROWS)) for _ in range(count)]


def run_threads(contender: Contender, workers: int, duration: float, seed: int) -> Tally:
    """*workers* threads calling the sync *contender* for *duration* seconds."""
    results: list[list[float]] = [[] for _ in range(workers)]
    start_line = threading.Barrier(workers + 1)
    clock = time.perf_counter_ns

    def work(index: int) -> None:
        plan = _plan(seed * 1000 + index)
        latencies = results[index]
        run = contender.run
        start_line.wait()
        deadline = time.perf_counter() + duration
        n = 0
        while time.perf_counter() < deadline:
            write, key = plan[n % len(plan)]
            begin = clock()
            run(write, key)
            latencies.append((clock() - begin) / 1000)
            n += 1

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies = [x for worker in results for x in worker]
    return Tally(len(latencies), elapsed, latencies)


async def run_tasks(contender: Contender, workers: int, duration: float, seed: int) -> Tally:
    """*workers* asyncio tasks awaiting the async *contender* for *duration* seconds."""
    clock = time.perf_counter_ns

    async def work(index: int, deadline: float) -> list[float]:
        plan = _plan(seed * 1000 + index)
        latencies: list[float] = []
        run = contender.run
        n = 0
        while time.perf_counter() < deadline:
            write, key = plan[n % len(plan)]
            begin = clock()
            await run(write, key)
            latencies.append((clock() - begin) / 1000)
            n += 1
        return latencies

    began = time.perf_counter()
    results = await asyncio.gather(*(work(i, began + duration) for i in range(workers)))
    elapsed = time.perf_counter() - began
    latencies = [x for worker in results for x in worker]
    return Tally(len(latencies), elapsed, latencies)


async def measure(
    contenders: Sequence[Contender],
    *,
    workers: int,
    duration: float,
    rounds: int,
    warmup: float,
    seed: int = 1,
) -> dict[str, Tally]:
    """Run every contender *rounds* times for *duration* seconds (after one *warmup* run each)."""
    rng = random.Random(seed)
    tallies = {c.key: Tally() for c in contenders}
    order = list(contenders)
    for round_no in range(rounds + 1):
        rng.shuffle(order)
        for contender in order:
            seconds = warmup if round_no == 0 else duration
            if contender.is_async:
                tally = await run_tasks(contender, workers, seconds, seed + round_no)
            else:
                tally = run_threads(contender, workers, seconds, seed + round_no)
            if round_no > 0:
                tallies[contender.key].add(tally.statements, tally.seconds, tally.latencies_us)
    return tallies


def summarize(contenders: Sequence[Contender], tallies: dict[str, Tally]) -> dict[str, Any]:
    """Statements per second, p50 and p99 for each contender."""
    return {
        c.key: {
            "label": c.label,
            "statements": tallies[c.key].statements,
            "seconds": tallies[c.key].seconds,
            "per_second": tallies[c.key].statements / tallies[c.key].seconds,
            **latency_summary(tallies[c.key].latencies_us),
        }
        for c in contenders
    }


async def run(servers: Servers, s: Settings) -> dict[str, Any]:
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
            tallies = await measure(
                contenders,
                workers=s.workers,
                duration=s.duration,
                rounds=s.rounds,
                warmup=min(0.3, s.duration),
                seed=s.seed,
            )
            figures = summarize(contenders, tallies)
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
