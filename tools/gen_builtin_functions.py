"""Generate ``pgcluster/classifier/_builtin_functions.py`` from a real server's ``pg_proc``.

The classifier needs to know, for every function a statement may call, whether
it is IMMUTABLE, STABLE or VOLATILE (``pg_proc.provolatile``): a volatile
function may write, so it goes to the primary unless it is on the hand-curated
read-safe list. Rather than typing that table by hand, this script starts a
throw-away PostgreSQL server (``initdb`` into a temporary directory, run as the
OS user ``postgres`` when we are root), installs every contrib extension that
ships with it (so that e.g. pg_trgm's ``similarity()`` is known), reads
``pg_proc`` and writes the table as a Python module.

Usage::

    .venv/bin/python tools/gen_builtin_functions.py [--bindir /usr/lib/postgresql/15/bin]

Overloads are merged by name, keeping the most volatile one (a name is only as
safe as its least safe overload). The same module lists, for the token scan,
the type names a function-style cast may use (``pg_type``), the operators
whose function is not volatile (``pg_operator``) and the reserved and
column-name keywords (``pg_get_keywords()``). ``tests/classifier`` checks the
module is what this script writes (``test_generated_knowledge_is_rendered``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "pgcluster" / "classifier" / "_builtin_functions.py"
_RANK = {"i": 0, "s": 1, "v": 2}

QUERY = """
SELECT p.proname, p.provolatile, coalesce(e.extname, '') AS extname
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN pg_depend d
  ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
LEFT JOIN pg_extension e ON e.oid = d.refobjid
WHERE p.prokind IN ('f', 'a', 'w')
  AND (n.nspname = 'pg_catalog' OR e.extname IS NOT NULL)
ORDER BY 1, 3
"""

# Types a function-style cast may name (regproc('now')): base, range, multirange,
# enum and domain types of pg_catalog and the extensions, whose input function
# (what a cast of a literal runs) is not VOLATILE.
TYPES_QUERY = """
SELECT DISTINCT t.typname
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_proc i ON i.oid = t.typinput
LEFT JOIN pg_depend d
  ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
WHERE t.typtype IN ('b', 'r', 'm', 'e', 'd') AND t.typname NOT LIKE '\\_%'
  AND i.provolatile <> 'v'
  AND (n.nspname = 'pg_catalog' OR d.objid IS NOT NULL)
ORDER BY 1
"""

# Operators whose function is not VOLATILE, of pg_catalog and the extensions: the
# token scan reads a statement with another operator (a user's) as unknown.
OPERATORS_QUERY = """
SELECT o.oprname
FROM pg_operator o
JOIN pg_namespace n ON n.oid = o.oprnamespace
JOIN pg_proc p ON p.oid = o.oprcode
LEFT JOIN pg_depend d
  ON d.classid = 'pg_operator'::regclass AND d.objid = o.oid AND d.deptype = 'e'
WHERE n.nspname = 'pg_catalog' OR d.objid IS NOT NULL
GROUP BY o.oprname
HAVING bool_and(p.provolatile <> 'v')
ORDER BY 1
"""

# Reserved and column-name keywords: PostgreSQL's grammar never takes one, unquoted
# and unqualified, for a function's name, so one before "(" is syntax (ALL (...),
# COALESCE(...), XMLPARSE(...), NUMERIC(10, 2)).
KEYWORDS_QUERY = "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'C') ORDER BY 1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run_as() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres"}


@contextlib.contextmanager
def temp_server(bindir: Path) -> Iterator[str]:
    """Start a throw-away server; yield its conninfo."""
    tmp = Path(tempfile.mkdtemp(prefix="pgcluster-gen-"))
    try:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(tmp, pw.pw_uid, pw.pw_gid)
        datadir = tmp / "data"
        kw = _run_as()
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "--auth=trust",
                "--no-sync",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=tmp,
            **kw,  # type: ignore[call-overload]
        )
        port = _free_port()
        proc = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(datadir),
                "-p",
                str(port),
                "-k",
                str(tmp),
                "-c",
                "listen_addresses=",
                "-c",
                "fsync=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp,
            **kw,  # type: ignore[call-overload]
        )
        conninfo = f"host={tmp} port={port} user=postgres dbname=postgres"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    psycopg.connect(conninfo).close()
                    break
                except psycopg.OperationalError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.1)
            yield conninfo
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Knowledge(NamedTuple):
    version: str
    functions: dict[str, tuple[str, str]]
    types: list[str]
    operators: list[str]
    keywords: list[str]


def collect(conninfo: str) -> Knowledge:
    """Install the contrib extensions, then read pg_proc (name -> (volatility, extension)),
    pg_type, pg_operator and the keywords."""
    table: dict[str, tuple[str, str]] = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        names = [r[0] for r in conn.execute("SELECT name FROM pg_available_extensions ORDER BY 1")]
        for name in names:
            with contextlib.suppress(psycopg.Error):
                conn.execute(f'CREATE EXTENSION IF NOT EXISTS "{name}" CASCADE')
        for proname, volatility, extname in conn.execute(QUERY):
            old = table.get(proname)
            if old is None:
                table[proname] = (volatility, extname)
                continue
            vol = max(old[0], volatility, key=_RANK.__getitem__)
            # A built-in name stays built-in even when an extension overloads it.
            table[proname] = (vol, old[1] if not old[1] or not extname else min(old[1], extname))
            if not extname:
                table[proname] = (vol, "")
        types = [str(r[0]) for r in conn.execute(TYPES_QUERY)]
        operators = [str(r[0]) for r in conn.execute(OPERATORS_QUERY)]
        keywords = [str(r[0]) for r in conn.execute(KEYWORDS_QUERY)]
    return Knowledge(version, table, types, operators, keywords)


def _names(name: str, doc: str, values: list[str]) -> list[str]:
    lines = ["", f"# {doc}", f"{name}: frozenset[str] = frozenset(", "    {"]
    lines += [f"        {value!r}," for value in sorted(values)]
    return [*lines, "    }", ")"]


def render(knowledge: Knowledge) -> str:
    version, table = knowledge.version, knowledge.functions
    lines = [
        '"""Volatility of PostgreSQL\'s built-in and contrib functions, from ``pg_proc``.',
        "",
        f"Generated by tools/gen_builtin_functions.py from PostgreSQL {version}; do not edit.",
        "",
        "``FUNCTIONS`` maps a function name to ``(provolatile, extension)``: provolatile is",
        '"i" (immutable), "s" (stable) or "v" (volatile), the most volatile of the name\'s',
        'overloads; extension is "" for a built-in function, else the contrib extension.',
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"SERVER_VERSION = {version!r}",
        "",
        "FUNCTIONS: dict[str, tuple[str, str]] = {",
    ]
    lines += [f"    {name!r}: ({vol!r}, {ext!r})," for name, (vol, ext) in sorted(table.items())]
    lines.append("}")
    lines += _names(
        "TYPES",
        "Types whose input function is not VOLATILE: a function-style cast may name them.",
        knowledge.types,
    )
    lines += _names(
        "OPERATORS",
        "Operators whose function is not VOLATILE (every overload).",
        knowledge.operators,
    )
    lines += _names(
        "SYNTAX_KEYWORDS",
        "Reserved and column-name keywords (pg_get_keywords()): never a function's name.",
        [k.upper() for k in knowledge.keywords],
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bindir", type=Path, default=Path("/usr/lib/postgresql/15/bin"))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with temp_server(args.bindir) as conninfo:
        knowledge = collect(conninfo)
    version, table = knowledge.version, knowledge.functions
    args.output.write_text(render(knowledge))
    # Checked in as ruff formats it (make lint): the ruff of the [dev] extra.
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run([str(ruff if ruff.exists() else "ruff"), "format", str(args.output)], check=True)
    n_ext = sum(1 for _, ext in table.values() if ext)
    print(
        f"wrote {args.output}: {len(table)} names ({n_ext} from extensions), PostgreSQL {version}"
    )


if __name__ == "__main__":
    main()
