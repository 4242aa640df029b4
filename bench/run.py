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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgcluster.testing import HarnessError

from . import classify, overhead, report, throughput
from .config import Settings
from .pgpool import PgpoolError
from .servers import Servers, machine

SECTIONS = ("overhead", "classify", "throughput")


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
                results["overhead"] = asyncio.run(overhead.run(servers, settings))
            if "throughput" in settings.sections:
                results["throughput"] = asyncio.run(throughput.run(servers, settings))
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
