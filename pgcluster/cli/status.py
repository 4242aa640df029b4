"""``pgcluster status``: each node as a `Cluster` sees it (role, state, lag, timeline, pool).

The connection strings come from ``--primary`` / ``--replica``, else from
``DATABASE_URL`` / ``DATABASE_REPLICA_URLS``, as `Cluster.from_env` reads them.
Exits 0 when a primary takes writes, 1 when none does, 2 when the cluster
cannot be set up (bad connection strings, or roles contradicting them).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import psycopg

from .._sync.cluster import Cluster
from ..errors import ConfigurationError
from . import add_command

COLUMNS = ("node", "role", "state", "lag", "lag_s", "timeline", "lsn", "pool", "last error")
_CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear screen


def register(subparsers: Any) -> None:
    """Add the ``status`` subcommand."""
    parser = add_command(
        subparsers,
        "status",
        help="show each node's role, state, lag, timeline and pool",
        description=__doc__,
    )
    parser.add_argument("--primary", metavar="DSN", help="the primary (default: $DATABASE_URL)")
    parser.add_argument(
        "--replica",
        metavar="DSN",
        action="append",
        help="a replica; repeat for each (default: $DATABASE_REPLICA_URLS, comma separated)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (one line per snapshot)")
    parser.add_argument(
        "--watch",
        metavar="SECONDS",
        nargs="?",
        const=2.0,
        type=_seconds,
        help="print a new snapshot every SECONDS (default 2) until Ctrl-C",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=5.0,
        help="how long to wait for a node's answer (default 5)",
    )
    parser.set_defaults(handler=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def run(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    snapshots: int | None = None,
) -> int:
    """Print the status (*snapshots* times when watching; until Ctrl-C if None)."""
    # The table shows what the logs would say; keep them off the terminal.
    for name in ("pgcluster", "psycopg.pool"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        cluster = _cluster(args)
        cluster.open()
    except psycopg.Error as ex:
        print(f"pgcluster status: {ex}", file=err)
        return 2
    with cluster:
        status = 0
        try:
            count = 0
            while True:
                stats = cluster.get_stats()
                status = 0 if stats["primary"] is not None else 1
                _show(stats, args, out)
                count += 1
                if args.watch is None or (snapshots is not None and count >= snapshots):
                    return status
                time.sleep(args.watch)
        except KeyboardInterrupt:
            return status


def _cluster(args: argparse.Namespace) -> Cluster:
    options: dict[str, Any] = {
        "load_catalog": False,
        "min_size": 1,
        "health_interval": min(args.watch or 1.0, 1.0),
        "probe_timeout": args.timeout,
        "timeout": args.timeout,
        "kwargs": {"connect_timeout": max(1, round(args.timeout))},
    }
    if args.primary is None and args.replica is None:
        return Cluster.from_env(**options)
    if args.primary is None:
        raise ConfigurationError("--replica needs --primary")
    return Cluster(args.primary, args.replica or [], **options)


def _show(stats: Mapping[str, Any], args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        print(json.dumps(snapshot(stats)), file=out, flush=True)
        return
    if args.watch is not None and out.isatty():
        print(_CLEAR, end="", file=out)
    print(render(stats), file=out, flush=True)


def snapshot(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document: the primary, its timeline, and one entry per node."""
    nodes = []
    for name, node in stats["nodes"].items():
        health = node.get("health", {})
        pool = node["pool"]
        nodes.append(
            {
                "node": name,
                "role": node["role"],
                "state": health.get("status", "unprobed"),
                "health": health.get("health"),
                "reason": health.get("reason"),
                "lag_bytes": health.get("lag_bytes"),
                "lag_seconds": health.get("lag_seconds"),
                "timeline": health.get("timeline"),
                "lsn": health.get("lsn"),
                "last_error": health.get("last_error"),
                "pool": {
                    "size": pool.get("pool_size", 0),
                    "max": pool.get("pool_max", 0),
                    "available": pool.get("pool_available", 0),
                    "waiting": pool.get("requests_waiting", 0),
                },
            }
        )
    return {"primary": stats["primary"], "timeline": stats.get("timeline"), "nodes": nodes}


def render(stats: Mapping[str, Any]) -> str:
    """The table: a header line, one line per node, and a line naming the primary."""
    doc = snapshot(stats)
    rows = [COLUMNS, *(_cells(node) for node in doc["nodes"])]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    primary = doc["primary"] or "NONE: writes have nowhere to go"
    lines.append(f"\nprimary: {primary}   timeline: {doc['timeline'] or '-'}")
    return "\n".join(lines)


def _cells(node: Mapping[str, Any]) -> tuple[str, ...]:
    state = node["state"]
    if node["health"] not in (None, "up"):
        state += f" ({node['health']})"
    pool = node["pool"]
    # The last clause says what happened ("Connection refused"); the JSON has it all.
    error = (node["last_error"] or "").rsplit(": ", 1)[-1]
    return (
        node["node"],
        node["role"],
        state,
        _bytes(node["lag_bytes"]),
        "-" if node["lag_seconds"] is None else f"{node['lag_seconds']:.2f}",
        "-" if node["timeline"] is None else str(node["timeline"]),
        node["lsn"] or "-",
        f"{pool['size']}/{pool['max']} ({pool['available']} idle, {pool['waiting']} waiting)",
        error if len(error) <= 60 else error[:57] + "...",
    )


def _bytes(value: int | None) -> str:
    if value is None:
        return "-"
    if value < 1024:
        return f"{value} B"
    size = value / 1024
    for unit in ("kB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
