"""``pgcluster route``: show where statements would be sent, and why.

pgcluster route "SELECT nextval('s')"
pgcluster route --json "SELECT 1" "DELETE FROM t"
some-command | pgcluster route -        # one statement per line
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any

from ..classifier import Route, classify
from ..errors import InvalidQueryError
from . import add_command


def register(subparsers: Any) -> None:
    """Add the ``route`` subcommand."""
    parser = add_command(
        subparsers,
        "route",
        help="show whether statements go to the primary or a replica, and why",
        description="Classify SQL statements as the router would: print the target and the "
        "rule that decided. '-' reads statements from stdin, one per line. Exits 1 when a "
        "statement is invalid.",
    )
    parser.add_argument("sql", nargs="+", metavar="SQL", help="a statement, or - for stdin")
    parser.add_argument("--json", action="store_true", help="one JSON object per statement")
    parser.set_defaults(handler=run)


def _statements(args: Iterable[str]) -> Iterable[str]:
    for arg in args:
        if arg == "-":
            for line in sys.stdin:
                line = line.rstrip("\r\n")
                if line.strip():
                    yield line
        else:
            yield arg


def _render(sql: str, route: Route | None, error: str | None, as_json: bool) -> str:
    if as_json:
        obj: dict[str, Any] = {"sql": sql}
        if route is not None:
            obj.update(target=route.target.value, reason=route.reason, session=route.session)
        else:
            obj["error"] = error
        return json.dumps(obj)
    if route is None:
        return f"error\t{error}"
    session = " [session]" if route.session else ""
    return f"{route.target.value}\t{route.reason}{session}"


def run(args: argparse.Namespace) -> int:
    """Classify each statement; exit status 1 if any was invalid."""
    status = 0
    for sql in _statements(args.sql):
        try:
            route: Route | None = classify(sql)
            error = None
        except InvalidQueryError as exc:
            route, error, status = None, str(exc), 1
        print(_render(sql, route, error, args.json))
    return status
