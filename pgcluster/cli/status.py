"""``pgcluster status``: each node as a `Cluster` sees it (role, state, lag, timeline, pool).

The connection strings come from ``--primary`` / ``--replica``, else from
``DATABASE_URL`` / ``DATABASE_REPLICA_URLS``, as `Cluster.from_env` reads them.
Exits 0 when a primary takes writes, 1 when none does, 2 when the cluster
cannot be set up (a missing or bad connection string, or roles contradicting
them).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .._core.topology import (
    NodeSpec,
    layout,
)
from .._sync.cluster import Cluster
from ..errors import ConfigurationError
from . import add_command

COLUMNS = ("node", "role", "state", "lag", "lag_s", "timeline", "lsn", "pool", "last error")
ERROR_WIDTH = 60  # of the last error column; --json has the whole message
_CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear screen

# What the last error column leaves out: the exception class, and libpq's
# preamble, which names the server as the node column does already.
_PREAMBLE = re.compile(
    r"^(?:[A-Z][a-z]\w*: )?(?:connection (?:failed|is bad): )?"
    r'(?:connection to server (?:at "[^"]*", port \d+|on socket "[^"]*") failed: )?'
)

# libpq checks these values only when it connects, so a Cluster given a bad one
# opens with that node down (exit 1). Checked first, they exit 2 as bad input.
_WHOLE_NUMBERS = (
    "connect_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
)
_CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "target_session_attrs": (
        "any",
        "read-write",
        "read-only",
        "primary",
        "standby",
        "prefer-standby",
    ),
    "load_balance_hosts": ("disable", "random"),
}


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
        help="a replica; repeat for each (with neither flag: $DATABASE_REPLICA_URLS,"
        " comma separated)",
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
    primary, replicas = args.primary, args.replica
    if primary is None and replicas is not None:
        raise ConfigurationError("--replica needs --primary")
    for flag, value in [("--primary", primary), *(("--replica", r) for r in replicas or [])]:
        if value is not None and not value.strip():
            raise ConfigurationError(f"{flag} is empty: give a connection string")
    if primary is not None:
        replicas = replicas or []
    # None and None: $DATABASE_URL and $DATABASE_REPLICA_URLS, as Cluster.from_env reads them.
    for node in layout(primary, replicas).nodes:
        _check(node)
    return Cluster(primary, replicas, **options)


def _check(node: NodeSpec) -> None:
    """Refuse a connection string libpq would refuse when connecting (ConfigurationError)."""
    params = {k: str(v).strip() for k, v in conninfo_to_dict(node.conninfo).items() if v}
    problems = []
    ports = params.get("port", "").split(",")
    if len(ports) > 1:
        problems.append(f'port "{params["port"]}" lists {len(ports)} ports for one host')
    elif ports[0] and not (_whole(ports[0]) and 1 <= int(ports[0]) <= 65535):
        problems.append(f'port "{ports[0]}" is not a port number (1 to 65535)')
    for key in _WHOLE_NUMBERS:
        if key in params and not _whole(params[key]):
            problems.append(f'{key} "{params[key]}" is not a whole number')
    for key, choices in _CHOICES.items():
        if key in params and params[key].lower() not in choices:
            problems.append(f'{key} "{params[key]}" is not one of {", ".join(choices)}')
    if "hostaddr" in params:
        try:
            ipaddress.ip_address(params["hostaddr"])
        except ValueError:
            problems.append(f'hostaddr "{params["hostaddr"]}" is not an IP address')
    if problems:
        raise ConfigurationError(f"the connection string of {node.name}: {'; '.join(problems)}")


def _whole(text: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", text) is not None


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
    return (
        node["node"],
        node["role"],
        state,
        _bytes(node["lag_bytes"]),
        "-" if node["lag_seconds"] is None else f"{node['lag_seconds']:.2f}",
        "-" if node["timeline"] is None else str(node["timeline"]),
        node["lsn"] or "-",
        f"{pool['size']}/{pool['max']} ({pool['available']} idle, {pool['waiting']} waiting)",
        _error(node["last_error"]),
    )


def _error(message: str | None) -> str:
    """The last error as the table shows it: what happened, shortened to fit its column."""
    text = " ".join(_PREAMBLE.sub("", message or "", count=1).split())
    return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 3] + "..."


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
