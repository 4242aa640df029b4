"""Workload 1: one point SELECT by primary key at a time, through each contender in turn.

Every iteration runs the same statement (the same key) through every
contender, in a new random order each time, so that the machine's noise
falls on all of them alike; the medians are compared as ratios.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from typing import Any

import pgcluster

from .config import Settings
from .servers import Servers
from .stats import ratio_summary
from .workload import (
    ROWS,
    Contender,
    abare_point,
    abare_pool,
    apoint,
    bare_point,
    bare_pool,
    point,
)

# The ratios reported: (numerator, denominator) by contender key.
PAIRS = [
    ("cluster", "psycopg_pool"),
    ("pool", "psycopg_pool"),
    ("cluster_forced", "psycopg_pool"),
    ("cluster_forced", "cluster"),
    ("cluster", "pgpool"),
    ("pgpool", "psycopg_pool"),
    ("acluster", "apsycopg_pool"),
    ("acluster", "cluster"),
]


async def measure(
    contenders: Sequence[Contender], iterations: int, warmup: int, seed: int = 1
) -> dict[str, list[float]]:
    """Microseconds per statement for each contender, *iterations* samples each.

    A coroutine so that asyncio contenders can take part; sync ones run
    inline (the loop has nothing else to do meanwhile).
    """
    rng = random.Random(seed)
    order = list(contenders)
    samples: dict[str, list[float]] = {c.key: [] for c in contenders}
    clock = time.perf_counter_ns
    for n in range(warmup + iterations):
        rng.shuffle(order)
        key = n % ROWS + 1
        for contender in order:
            if contender.is_async:
                start = clock()
                await contender.run(key)
                elapsed = clock() - start
            else:
                start = clock()
                contender.run(key)
                elapsed = clock() - start
            if n >= warmup:
                samples[contender.key].append(elapsed / 1000)
    return samples


def summarize(
    contenders: Sequence[Contender],
    samples: dict[str, list[float]],
    pairs: Sequence[tuple[str, str]],
    blocks: int = 10,
) -> dict[str, Any]:
    """Medians and the ratios of *pairs* (numerator key, denominator key)."""
    rows = {
        c.key: {
            "label": c.label,
            "median_us": statistics.median(samples[c.key]),
            "samples": len(samples[c.key]),
        }
        for c in contenders
    }
    ratios = {
        f"{a} / {b}": ratio_summary(samples[a], samples[b], blocks)
        for a, b in pairs
        if a in samples and b in samples
    }
    return {"contenders": rows, "ratios": ratios}


async def run(servers: Servers, s: Settings) -> dict[str, Any]:
    """Workload 1 with every contender, interleaved, in *s.sessions* sessions of new pools.

    Each pool's connections are server processes of their own, and where the
    scheduler puts them biases a contender by a few per cent for as long as
    they live: new pools in every session average that out.
    """
    samples: dict[str, list[float]] = {}
    for session in range(s.sessions):
        async with make_contenders(servers, s) as contenders:
            part = await measure(
                contenders, s.iterations // s.sessions, s.warmup // s.sessions, s.seed + session
            )
        for key, values in part.items():
            samples.setdefault(key, []).extend(values)
    return summarize(contenders, samples, PAIRS)


@asynccontextmanager
async def make_contenders(servers: Servers, s: Settings) -> AsyncIterator[list[Contender]]:
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
