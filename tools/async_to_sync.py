#!/usr/bin/env python3
"""Generate pgcluster's sync modules from their async sources.

The async code is the source of truth (``pgcluster/_async/*.py``); the sync
twins (``pgcluster/_sync/*.py``) are generated, so the two can never drift.
Run it after editing an async module; CI runs it with ``--check``, which
fails when a generated file is stale.

The conversion works on tokens, so comments and layout are kept:

- ``async def`` / ``async with`` / ``async for`` lose ``async``, ``await`` goes;
- names in `RENAMES` are replaced (in code, and as whole words in strings);
- ``Awaitable[X]`` becomes ``X``;
- in strings (docstrings), ``await`` and the ``async`` of ``async with`` go too;
- a line ending in ``# sync: <code>`` is replaced by ``<code>`` (same indent); a
  line holding only that comment adds ``<code>`` to the twin alone;
- a line ending in ``# async-only`` is left out.

``__init__.py`` files are not converted: each package documents itself.

    python tools/async_to_sync.py            # regenerate
    python tools/async_to_sync.py --check    # exit 1 if anything is stale or orphaned

``--check`` also fails on an orphan: a file with the generated header (see
`header()`) whose async source is gone or renamed, which would otherwise be
kept, tested and shipped with nothing to regenerate it from. Without
``--check`` an orphan is reported, never deleted.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pairs() -> list[tuple[Path, Path]]:
    """Every (async source, sync target): the package's _async/ modules, and the
    tests written as ``tests/**/test_*_async.py`` (their twin, beside them, drops
    the suffix)."""
    package = [
        (source, ROOT / "pgcluster" / "_sync" / source.name)
        for source in sorted((ROOT / "pgcluster" / "_async").glob("*.py"))
        if source.name != "__init__.py"
    ]
    tests = [
        (source, source.with_name(source.name.removesuffix("_async.py") + ".py"))
        for source in sorted((ROOT / "tests").rglob("test_*_async.py"))
    ]
    return package + tests


RENAMES = {
    "TaskRunner": "ThreadRunner",
    "ABroadcast": "Broadcast",
    "ALock": "Lock",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "AsyncCluster": "Cluster",
    "AsyncConnection": "Connection",
    "AsyncConnectionPool": "ConnectionPool",
    "AsyncCursor": "Cursor",
    "AsyncExitStack": "ExitStack",
    "AsyncGenerator": "Generator",
    "AsyncIterator": "Iterator",
    "AsyncPool": "Pool",
    "AsyncRowFactory": "RowFactory",
    "AsyncRowStream": "RowStream",
    "AsyncServerCursor": "ServerCursor",
    "AsyncSession": "Session",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aclose": "close",
    "aclosing": "closing",
    "asleep": "sleep",
    "aspawn": "spawn",
    "asynccontextmanager": "contextmanager",
    "enter_async_context": "enter_context",
    "_async": "_sync",
}

# Names with no sync counterpart: left out of import lists.
DROPPED_IMPORTS = frozenset({"Awaitable"})

_SYNC_MARKER = re.compile(r"#\s*sync:\s?(?P<code>.*)$")
_ASYNC_ONLY_MARKER = re.compile(r"#\s*async-only\s*$")
_WORDS = re.compile(
    r"\b(" + "|".join(map(re.escape, sorted(RENAMES, key=len, reverse=True))) + r")\b"
)
_PROSE_KEYWORDS = re.compile(r"\bawait\s+|\basync\s+(?=with\b|for\b|def\b)")


def _sync_prose(text: str) -> str:
    """Rename the names in a string and drop its ``await``/``async`` keywords."""
    return _PROSE_KEYWORDS.sub("", _WORDS.sub(lambda m: RENAMES[m.group(1)], text))


GENERATED_MARK = "# WARNING: generated from "


def orphans(targets: set[Path]) -> list[Path]:
    """The generated files (their first line is the header's) that no source generates."""
    found = []
    for path in sorted([*ROOT.glob("pgcluster/**/*.py"), *ROOT.glob("tests/**/*.py")]):
        if path in targets:
            continue
        with path.open() as f:
            if f.readline().startswith(GENERATED_MARK):
                found.append(path)
    return found


def header(source: Path) -> str:
    rel = source.relative_to(ROOT).as_posix()
    return (
        f"{GENERATED_MARK}{rel} by tools/async_to_sync.py: do not edit.\n"
        "# Edit the async source and run the tool again.\n"
    )


def convert(text: str) -> str:
    """Return the sync twin of the async module *text*."""
    lines = text.splitlines(keepends=True)
    # Edits as (row, col_start, col_end, replacement); rows are 1-based like tokenize's.
    edits: list[tuple[int, int, int, str]] = []
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    awaitable_closers: list[int] = []  # bracket depths at which an Awaitable[ was opened
    depth = 0
    in_import = False
    for i, tok in enumerate(tokens):
        (row, col), (end_row, end_col) = tok.start, tok.end
        if tok.type == tokenize.NAME and tok.string in ("import", "from") and col == 0:
            in_import = True
        elif tok.type == tokenize.NEWLINE:
            in_import = False
        if in_import and tok.type == tokenize.NAME and tok.string in DROPPED_IMPORTS:
            nxt, prev = tokens[i + 1], tokens[i - 1]
            if nxt.string == ",":  # "A, Awaitable, B": drop "Awaitable, "
                after = tokens[i + 2]
                stop = after.start[1] if after.start[0] == row else nxt.end[1]
                edits.append((row, col, stop, ""))
            elif prev.string == "," and prev.start[0] == row:  # "A, Awaitable": drop ", Awaitable"
                edits.append((row, prev.start[1], end_col, ""))
            else:
                raise ValueError(f"line {row}: cannot drop {tok.string!r} from this import")
            continue
        if tok.type == tokenize.NAME and tok.string in ("async", "await"):
            nxt = tokens[i + 1]
            if tok.string == "await" or nxt.string in ("def", "with", "for"):
                # Drop the keyword and the blank up to the next token.
                stop = nxt.start[1] if nxt.start[0] == row else end_col
                edits.append((row, col, stop, ""))
                continue
        if tok.type == tokenize.NAME and tok.string == "Awaitable" and tokens[i + 1].string == "[":
            edits.append((row, col, tokens[i + 1].end[1], ""))
            awaitable_closers.append(depth + 1)
            continue
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            if awaitable_closers and awaitable_closers[-1] == depth:
                awaitable_closers.pop()
                edits.append((row, col, end_col, ""))
            depth -= 1
        elif tok.type == tokenize.NAME and tok.string in RENAMES:
            edits.append((row, col, end_col, RENAMES[tok.string]))
        elif tok.type == tokenize.STRING and row == end_row:
            new = _sync_prose(tok.string)
            if new != tok.string:
                edits.append((row, col, end_col, new))
        elif tok.type == tokenize.STRING:
            # A multi-line string (a docstring): rename whole words line by line.
            for r in range(row, end_row + 1):
                start = col if r == row else 0
                stop = end_col if r == end_row else len(lines[r - 1])
                segment = lines[r - 1][start:stop]
                new = _sync_prose(segment)
                if new != segment:
                    edits.append((r, start, stop, new))
        elif tok.type == tokenize.COMMENT and _ASYNC_ONLY_MARKER.search(tok.string):
            # The whole line goes: forget the edits already made inside it.
            edits = [edit for edit in edits if edit[0] != row]
            edits.append((row, 0, len(lines[row - 1]), ""))
        elif tok.type == tokenize.COMMENT and (match := _SYNC_MARKER.search(tok.string)):
            edits = [edit for edit in edits if edit[0] != row]
            indent = len(lines[row - 1]) - len(lines[row - 1].lstrip())
            edits.append((row, indent, len(lines[row - 1].rstrip("\r\n")), match["code"]))

    # Apply right to left on each line so earlier columns stay valid.
    for row, start, stop, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[stop:]
    return "".join(lines)


_IMPORT_LIST = re.compile(r"^(from \S+ import )(\(?)([^()\n]+|\([^()]*\)|[^()]*?)(\)?)$", re.M)


def dedupe_imports(text: str) -> str:
    """Drop names imported twice by one statement (``AsyncIterator, Iterator`` -> ``Iterator, Iterator``)."""

    def fix(match: re.Match[str]) -> str:
        names = [n.strip() for n in match[3].replace("\n", " ").split(",") if n.strip()]
        unique = list(dict.fromkeys(names))
        if len(unique) == len(names):
            return match[0]
        return f"{match[1]}{match[2]}{', '.join(unique)}{match[4]}"

    return _IMPORT_LIST.sub(fix, text)


def merge_withs(text: str) -> str:
    """Join a ``with`` whose whole body is another ``with`` into one statement.

    ``with pytest.raises(E):`` around ``async with pool.tx():`` cannot be one
    statement in the async source; in the twin both are plain ``with``, and ruff
    (SIM117) wants them joined. Blocks with a comment on either header, or whose
    body cannot be dedented line by line (a multi-line string), are left alone.
    """
    while True:
        lines = text.splitlines(keepends=True)
        for outer in ast.walk(ast.parse(text)):
            if not (
                isinstance(outer, ast.With)
                and len(outer.body) == 1
                and isinstance(inner := outer.body[0], ast.With)
            ):
                continue
            first_body = inner.body[0].lineno
            headers = "".join(lines[outer.lineno - 1 : first_body - 1])
            if "#" in headers or inner.lineno == outer.lineno:
                continue
            shift = inner.col_offset - outer.col_offset
            body = lines[first_body - 1 : inner.end_lineno]
            if any(line.strip() and not line.startswith(" " * shift) for line in body):
                continue
            items = ", ".join(_item(text, item) for item in (*outer.items, *inner.items))
            indent = " " * outer.col_offset
            merged = [
                f"{indent}with {items}:\n",
                *(line[shift:] if line.strip() else line for line in body),
            ]
            lines[outer.lineno - 1 : inner.end_lineno] = merged
            text = "".join(lines)
            break  # positions changed: parse again
        else:
            return text


def _item(text: str, item: ast.withitem) -> str:
    expr = ast.get_source_segment(text, item.context_expr, padded=False)
    if item.optional_vars is None:
        return f"{expr}"
    return f"{expr} as {ast.get_source_segment(text, item.optional_vars)}"


def generate(source: Path, target: Path) -> str:
    """The sync twin of *source*, linted and formatted as ruff does the rest of the code."""
    converted = header(source) + merge_withs(dedupe_imports(convert(source.read_text())))
    # Renamed names sort differently, and "async-only" lines may leave an import
    # unused: fix the import block first. Dropping "await" shortens lines: then let
    # the formatter re-join what now fits.
    fixed = _ruff(source, target, converted, "check", "--fix-only", "--select", "I001,F401")
    return _ruff(source, target, fixed, "format")


def _ruff(source: Path, target: Path, text: str, *command: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--quiet", "--stdin-filename", str(target), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"ruff {command[0]} failed on the twin of {source}:\n{result.stderr}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = parser.parse_args(argv)

    stale = 0
    all_pairs = pairs()
    for source, target in all_pairs:
        expected = generate(source, target)
        current = target.read_text() if target.exists() else ""
        if current == expected:
            continue
        if args.check:
            stale += 1
            rel = target.relative_to(ROOT)
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    f"{rel} (current)",
                    f"{rel} (generated)",
                )
            )
        else:
            target.write_text(expected)
            print(f"generated {target.relative_to(ROOT)}")
    if stale:
        print(
            f"\n{stale} generated file(s) stale: run python tools/async_to_sync.py", file=sys.stderr
        )
    lost = orphans({target for _, target in all_pairs})
    for path in lost:
        print(
            f"{path.relative_to(ROOT)}: generated, but no async source generates it"
            " (delete it, or restore its source)",
            file=sys.stderr,
        )
    return 1 if stale or (lost and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
