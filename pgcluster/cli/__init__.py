"""The ``pgcluster`` command line: one entry point, one subcommand per module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__

# Each subcommand is a module here with ``register(subparsers)`` that adds its
# parser and sets ``handler=`` (a function taking the parsed args, returning
# the exit status). Add new subcommands to this tuple.
_SUBCOMMANDS: tuple[str, ...] = ("demo", "status", "route")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each subcommand module adds its own parser."""
    parser = argparse.ArgumentParser(
        prog="pgcluster",
        description="A PostgreSQL primary/replica router for psycopg 3.",
    )
    parser.add_argument("--version", action="version", version=f"pgcluster {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(subparsers)
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
