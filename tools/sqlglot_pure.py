"""Run Python on sqlglot's pure-Python modules, even where sqlglotc is installed.

    python tools/sqlglot_pure.py -m MODULE [ARG...]
    python tools/sqlglot_pure.py -c CODE [ARG...]
    python tools/sqlglot_pure.py SCRIPT [ARG...]

sqlglotc (sqlglot's ``[c]`` extra) ships no module of its own: it lays compiled
``.so`` files beside sqlglot's ``.py`` files, and Python's import system
prefers an extension module to a source file of the same name. This puts a
finder first on ``sys.meta_path`` that loads every ``sqlglot`` module from its
``.py`` source instead, before anything imports sqlglot; the rest of the
process is as usual. Where sqlglotc is not installed it changes nothing.

Used by the bench (the pure-Python parse it compares against) and by
tests/classifier/test_sqlglotc.py (the same routes with and without it).
`force_pure()` does the same from inside a process that has not imported
sqlglot yet.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import runpy
import sys
from collections.abc import Sequence
from types import ModuleType

_SOURCE_ONLY = [(importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)]


class _PureSqlglot(importlib.abc.MetaPathFinder):
    """Finds ``sqlglot`` and ``sqlglot.*`` among source files only."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "sqlglot" and not fullname.startswith("sqlglot."):
            return None
        for entry in sys.path if path is None else path:
            spec = importlib.machinery.FileFinder(entry or ".", *_SOURCE_ONLY).find_spec(fullname)
            if spec is not None:
                return spec
        return None


def force_pure() -> None:
    """Load sqlglot from its ``.py`` files from now on; refuses if it is already loaded."""
    if "sqlglot" in sys.modules:
        raise RuntimeError("sqlglot is already imported: force_pure() must come first")
    if not any(isinstance(f, _PureSqlglot) for f in sys.meta_path):
        sys.meta_path.insert(0, _PureSqlglot())


def compiled() -> bool:
    """Whether the sqlglot loaded in this process runs sqlglotc's compiled modules."""
    from sqlglot import tokenizer_core

    return not str(getattr(tokenizer_core, "__file__", "")).endswith(".py")


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    force_pure()
    # sys.path[0] as `python -m` / `-c` / `python SCRIPT` would have it, not tools/.
    if argv[0] == "-m" and len(argv) > 1:
        sys.path[0] = os.getcwd()
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c" and len(argv) > 1:
        sys.path[0] = ""
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
    else:
        sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
