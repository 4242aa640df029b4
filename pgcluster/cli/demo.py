"""``pgcluster demo``: a local primary and two replicas, a mixed workload, and a failover.

Shows, in under a minute, where each statement went and why, then kills the
primary, promotes a replica and shows the writes resuming there. With
``--keep`` the servers keep running afterwards, for ``pgcluster status`` or
your own code; ``--stop DIR`` stops them. With ``--compose`` the nodes are
containers that docker compose starts from compose.yaml (docs/compose.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import psycopg

from .._sync.cluster import Cluster
from ..errors import WriteOutcomeUnknown
from ..testing import (
    ClusterNodes,
    ComposeCluster,
    HarnessError,
    LocalCluster,
    stop_detached,
)
from . import add_command

# The demo's tables and rows. The docs' examples run against exactly these
# (tests/docs/test_docs_examples.py), so that they work on a `--keep` cluster too.
SCHEMA = (
    "CREATE TABLE product (id int PRIMARY KEY, name text, price numeric, stock int);"
    " INSERT INTO product SELECT i, 'product ' || i, i % 50, 1000"
    "   FROM generate_series(1, 100) AS i;"
    " CREATE SEQUENCE order_no"
)

WORKLOAD: list[tuple[str, str]] = [
    # (statement, what it shows)
    ("SELECT * FROM product WHERE id = %s", "a point read"),
    ("SELECT count(*) FROM product WHERE price > 10", "an aggregate read"),
    ("UPDATE product SET stock = stock - 1 WHERE id = %s", "a write"),
    ("SELECT * FROM product WHERE id = %s FOR UPDATE", "a read that locks rows"),
    ("SELECT nextval('order_no')", "a sequence: writes on the primary"),
    ("/* pgcluster:primary */ SELECT stock FROM product WHERE id = %s", "a hint"),
    ("SELECT pg_is_in_recovery()", "a node probe"),
]


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = add_command(
        subparsers,
        "demo",
        help="run a local primary + 2 replicas, a mixed workload and a failover",
        description=__doc__,
    )
    parser.add_argument(
        "--statements",
        metavar="N",
        type=_positive,
        default=700,
        help="statements in the workload (default 700)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the servers running afterwards and print their connection URLs",
    )
    parser.add_argument(
        "--stop",
        metavar="DIR",
        type=Path,
        help="stop the servers a --keep run left in DIR, remove DIR, and exit",
    )
    parser.add_argument(
        "--compose",
        action="store_true",
        help="run the nodes with docker compose from ./compose.yaml (files: $COMPOSE_FILE)",
    )
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run the demo; return the exit status."""
    say = _printer(out)
    if args.stop is not None:
        return _stop(args.stop, say)
    compose = bool(getattr(args, "compose", False))
    if compose and args.keep:
        say("pgcluster demo: --keep is for local servers; with compose, `docker compose up -d`")
        return 2
    _show_events(out)
    kind = "docker compose" if compose else "local"
    say(f"Starting a {kind} PostgreSQL primary and 2 streaming replicas...")
    started = time.monotonic()
    local: ClusterNodes
    try:
        local = ComposeCluster() if compose else LocalCluster(replicas=2)
        local.start()
    except HarnessError as ex:
        say(f"\ncannot start PostgreSQL here: {ex}")
        if compose:
            say("See docs/compose.md: Docker, and compose.yaml in the current directory.")
        else:
            say("Install the server (apt-get install postgresql), set PG_BIN, or try --compose.")
        return 1
    try:
        say(f"  up in {time.monotonic() - started:.1f} s: " + ", ".join(_ports(local)))
        local.primary.execute(SCHEMA)
        local.wait_replicated()
        with Cluster(
            local.primary.dsn,
            [node.dsn for node in local.replicas],
            health_interval=0.2,
            probe_timeout=1.0,
            timeout=3.0,
        ) as cluster:
            _workload(cluster, args.statements, out)
            _where_it_went(cluster, local, say)
            _failover(cluster, local, say)
        if args.keep and isinstance(local, LocalCluster):
            _keep(local, say)
            return 0
    finally:
        local.stop()  # a no-op once detached
    say(f"\nDone in {time.monotonic() - started:.1f} s; the servers are stopped and removed.")
    return 0


def _show_events(out: TextIO) -> None:
    """Print pgcluster's role changes as they happen; keep psycopg_pool's reconnect noise out."""
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("  [event] %(message)s"))
    events = logging.getLogger("pgcluster")
    events.addHandler(handler)
    events.setLevel(logging.WARNING)
    events.propagate = False
    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)


def _printer(out: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, file=out, flush=True)

    return say


def _ports(local: ClusterNodes) -> list[str]:
    return [f"{node.name} on port {node.port}" for node in local.nodes]


def _workload(cluster: Cluster, count: int, out: TextIO) -> None:
    print(f"\nRunning {count} statements through one Cluster:", file=out)
    for n in range(count):
        sql, _ = WORKLOAD[n % len(WORKLOAD)]
        params = [n % 100 + 1] if "%s" in sql else None
        if "FOR UPDATE" in sql:
            with cluster.tx() as tx:  # a lock only means something in a transaction
                tx.query(sql, params)
        else:
            cluster.query(sql, params)
        if out.isatty() and ((n + 1) % (count // 30 or 1) == 0 or n + 1 == count):
            bar = "#" * ((n + 1) * 30 // count)
            print(f"\r  [{bar:<30}] {n + 1}/{count}", end="", file=out, flush=True)
    print(f"\r  [{'#' * 30}] {count}/{count}" if not out.isatty() else "", file=out)


def _where_it_went(cluster: Cluster, local: ClusterNodes, say: Callable[[str], None]) -> None:
    stats = cluster.get_stats()
    server = {f"{node.host}:{node.port}/postgres": node.name for node in local.nodes}
    say("\nWhere the statements went (per node):")
    say(f"  {'node':<28} {'server':<10} {'role':<8} {'statements':>10}")
    for name, node in stats["nodes"].items():
        say(f"  {name:<28} {server.get(name, '?'):<10} {node['role']:<8} {node['routed']:>10}")
    say("\nWhy (per route reason):")
    for reason, count in stats["reasons"].items():
        say(f"  {count:>6}  {reason}")
    say("  (transactions are not counted above: tx() always runs on the primary)")


def _failover(cluster: Cluster, local: ClusterNodes, say: Callable[[str], None]) -> None:
    say("\nFailover: killing the primary (SIGKILL) and promoting replica1...")
    old, new = local.primary, local.replicas[0]
    old.kill()
    new.promote()
    promoted = time.monotonic()
    unknown = 0
    while True:
        try:
            row = cluster.query(
                "UPDATE product SET stock = stock - 1 WHERE id = 1"
                " RETURNING current_setting('cluster_name') AS node"
            )
            break
        except WriteOutcomeUnknown:
            unknown += 1  # in flight when the primary died: it may or may not have applied
        except psycopg.Error as ex:
            say(f"  write failed: {ex}")
            return
    after = time.monotonic() - promoted
    say(f"  the first write landed on {row[0]['node']} {after:.2f} s after the promotion")
    if unknown:
        say(f"  ({unknown} write(s) raised WriteOutcomeUnknown: never retried automatically)")
    say("  replica2 still follows the dead primary: pointing it at the new one...")
    local.replicas[1].follow(new)
    deadline = time.monotonic() + 15
    who = "SELECT current_setting('cluster_name') AS n"
    while cluster.query(who)[0]["n"] != "replica2" and time.monotonic() < deadline:
        pass  # until the monitor re-admits it on the new timeline
    reads = {cluster.query(who)[0]["n"] for _ in range(10)}
    say(f"  reads now go to: {', '.join(sorted(reads))}")


def _keep(local: LocalCluster, say: Callable[[str], None]) -> None:
    """Rejoin the old primary if it can, then leave every server running and say how to use it."""
    old, new, other = local.primary, local.replicas[0], local.replicas[1]
    replicas = [other]
    say("\nKeeping the cluster: restarting the old primary as a standby of replica1...")
    try:
        old.follow(new, timeout=15)
        replicas.append(old)
    except HarnessError:
        # Its last WAL may have forked off before the promotion: that needs pg_rewind.
        old.stop("immediate")
        say("  it cannot follow (its WAL forked off before the promotion); it stays stopped")
    root = local.detach()
    say(f"\nThe cluster keeps running, in {root}:")
    say(f"  primary  {new.url}   (replica1, promoted)")
    for node in replicas:
        say(f"  replica  {node.url}   ({node.name})")
    say("\nUse it from a shell:")
    say(f"  export DATABASE_URL='{new.url}'")
    say(f"  export DATABASE_REPLICA_URLS='{','.join(node.url for node in replicas)}'")
    say("  pgcluster status")
    say(f"\nStop it with:\n  pgcluster demo --stop {root}")


def _stop(root: Path, say: Callable[[str], None]) -> int:
    try:
        stopped = stop_detached(root)
    except (HarnessError, OSError) as ex:
        say(f"pgcluster demo --stop: {ex}")
        return 1
    say(f"stopped {', '.join(stopped) or 'nothing (no server was running)'}; removed {root}")
    return 0
