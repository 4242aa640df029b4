"""The ``pgcluster`` command line: one entry point, one subcommand per module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each subcommand module adds its own parser."""
    parser = argparse.ArgumentParser(
        prog="pgcluster",
        description="A PostgreSQL primary/replica router for psycopg 3.",
    )
    parser.add_argument("--version", action="version", version=f"pgcluster {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    status: int = handler(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
