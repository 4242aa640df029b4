"""Client instructions per point SELECT, counted by callgrind: Cluster against psycopg_pool.

Wall clock on a shared machine swings too much to hold a few percent; the
instructions the client process executes do not. Each contender runs twice
under ``valgrind --tool=callgrind`` in a fresh process, with the same
warm-up, once with no measured statements and once with *N*; the
difference over *N* is its cost per statement, whatever startup costs.

    python -m bench.callgrind                 # starts its own servers
    python -m bench.callgrind --statements 2000

The contenders read the same row of the same table on a replica:
``psycopg_pool`` (``with pool.connection() as conn: conn.execute().fetchall()``),
``Cluster.query()``, and their asyncio twins.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

WARMUP = 300
CONTENDERS = ("psycopg_pool", "cluster", "apsycopg_pool", "acluster")
PAIRS = (("cluster", "psycopg_pool"), ("acluster", "apsycopg_pool"))


def client(contender: str, statements: int, primary: str, replicas: list[str]) -> None:
    """Run WARMUP + *statements* point SELECTs through *contender* (under valgrind)."""
    import pgcluster

    from .workload import POINT_SELECT, bare_pool

    total = WARMUP + statements
    if contender == "psycopg_pool":
        pool = bare_pool(replicas[0], 1)
        for _ in range(total):
            with pool.connection() as conn:
                conn.execute(POINT_SELECT, (1,)).fetchall()
        pool.close()
    elif contender == "cluster":
        with pgcluster.Cluster(primary, replicas, **_quiet()) as cluster:
            cluster.wait()
            for _ in range(total):
                cluster.query(POINT_SELECT, (1,))
    else:
        asyncio.run(_aclient(contender, total, primary, replicas))


async def _aclient(contender: str, total: int, primary: str, replicas: list[str]) -> None:
    import pgcluster

    from .workload import POINT_SELECT, abare_pool

    if contender == "apsycopg_pool":
        pool = await abare_pool(replicas[0], 1)
        for _ in range(total):
            async with pool.connection() as conn:
                await (await conn.execute(POINT_SELECT, (1,))).fetchall()
        await pool.close()
        return
    async with pgcluster.AsyncCluster(primary, replicas, **_quiet()) as cluster:
        await cluster.wait()
        for _ in range(total):
            await cluster.query(POINT_SELECT, (1,))


def _quiet() -> dict[str, Any]:
    # No probe during the run: the monitor's work is not the statement's. Under
    # valgrind everything is some 50 times slower: long timeouts.
    return {
        "load_catalog": False,
        "health_interval": 3600.0,
        "probe_timeout": 300.0,
        "timeout": 300.0,
        "min_size": 1,
    }


def count(contender: str, statements: int, primary: str, replicas: list[str]) -> int:
    """The instructions the client process ran, as callgrind counts them."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.callgrind",
            "--client",
            contender,
            "--statements",
            str(statements),
            "--primary",
            primary,
            "--replicas",
            ",".join(replicas),
        ]
        done = subprocess.run(command, capture_output=True, text=True, cwd=Path.cwd())
        if done.returncode != 0:
            raise SystemExit(f"{contender} failed under valgrind:\n{done.stderr[-3000:]}")
        match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
        if match is None:
            raise SystemExit(f"no totals in {out}")
        return int(match[1])


def measure(statements: int, primary: str, replicas: list[str]) -> dict[str, float]:
    """Instructions per statement of each contender."""
    per_statement = {}
    for contender in CONTENDERS:
        base = count(contender, 0, primary, replicas)
        loaded = count(contender, statements, primary, replicas)
        per_statement[contender] = (loaded - base) / statements
        print(f"  {contender:14} {per_statement[contender]:12,.0f} instructions per statement")
    return per_statement


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=1000)
    parser.add_argument("--client", choices=CONTENDERS)
    parser.add_argument("--primary")
    parser.add_argument("--replicas")
    args = parser.parse_args(argv)
    if args.client:
        client(args.client, args.statements, args.primary, args.replicas.split(","))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    from pgcluster.testing import LocalCluster

    from .workload import create_schema

    with LocalCluster(2) as local:
        create_schema(local)
        local.wait_replicated()
        replicas = [node.dsn for node in local.replicas]
        print(f"client instructions per point SELECT ({args.statements} statements, callgrind):")
        result = measure(args.statements, local.primary.dsn, replicas)
    for num, den in PAIRS:
        print(f"  {num} / {den}: {result[num] / result[den]:.3f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
