"""The ``pgcluster`` command line: one entry point, one subcommand per module."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from typing import Any

from .. import __version__

# Each subcommand is a module here with ``register(subparsers)`` that adds its
# parser with `add_command()` and sets ``handler=`` (a function taking the
# parsed args, returning the exit status). Add new subcommands to this tuple.
_SUBCOMMANDS: tuple[str, ...] = ("demo", "status", "route")


class _Formatter(argparse.HelpFormatter):
    """Wraps each paragraph of a description on its own: argparse runs them together."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text  # not in the generator: zero-argument super() fails there
        return "\n\n".join(fill(p, width, indent) for p in re.split(r"\n\s*\n", text.strip()))


def plain(text: str) -> str:
    """*text* as a terminal should show it: the docstrings' ``code`` and `code` unwrapped."""
    return re.sub(r"``(.+?)``|`(.+?)`", lambda m: m[1] or m[2], text)


def add_command(
    subparsers: Any, name: str, *, help: str, description: str
) -> argparse.ArgumentParser:
    """Add subcommand *name*; *description* (often the module's docstring) is shown as plain text."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=plain(help), description=plain(description), formatter_class=_Formatter
    )
    return parser


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
