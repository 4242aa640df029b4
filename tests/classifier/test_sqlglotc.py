"""The same routes with sqlglot's compiled modules (sqlglotc) as without them.

One process cannot hold both (sqlglotc's ``.so`` files shadow sqlglot's ``.py``
files once imported), so the pure side runs in a subprocess started through
``tools/sqlglot_pure.py``, which loads sqlglot from its sources. Where sqlglotc
is not installed (Python 3.10, no wheel) both sides would be pure: skipped.

CI says which it expects: ``PGCLUSTER_EXPECT_SQLGLOTC=1`` (or ``0``) makes
`test_sqlglotc_is_as_expected` fail if this venv is not as intended, so that
.ci/run provably covers both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgcluster.classifier import Policy, classify
from pgcluster.classifier._sqlglot import _FOREIGN
from tests.classifier.test_classifier_corpus import CORPUS, PUBLIC, load

ROOT = Path(__file__).resolve().parents[2]
PURE = ROOT / "tools" / "sqlglot_pure.py"

# Names sqlglot parses specially and PostgreSQL does not (_sqlglot._FOREIGN), in
# the shapes a call of them takes: they go through the marking of _sqlglot.parse().
_SHAPES = (
    "SELECT {n}(a) FROM t",
    "SELECT {n}(a AS int)",
    'SELECT "{n}"(a)',
    "SELECT x FROM {n}",
    "WITH {n} AS (SELECT 1) SELECT * FROM {n}",
    "SELECT s.{n}(a)",
    "SELECT {n}/*c*/(a) OVER () FROM t",
    "SELECT {n}(nextval('s'))",
    "SELECT * FROM {n}(1) AS f",
)


def statements() -> list[str]:
    rows = load(CORPUS) + (load(PUBLIC) if PUBLIC.exists() else [])
    extra = [s.format(n=n) for n in sorted(_FOREIGN) for s in _SHAPES]
    extra += [s.format(n=n.lower()) for n in sorted(_FOREIGN) for s in _SHAPES]
    return sorted({r.sql for r in rows} | set(extra))


def routes(sql: list[str]) -> dict[str, list[object]]:
    policy = Policy(cache_size=0)
    out: dict[str, list[object]] = {}
    for s in sql:
        r = classify(s, policy)
        out[s] = [r.target.value, r.reason, r.session, r.statement.value, r.movable]
    return out


def compiled() -> bool:
    from sqlglot import tokenizer_core

    return not str(getattr(tokenizer_core, "__file__", "")).endswith(".py")


_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from tests.classifier.test_sqlglotc import compiled, routes
sql = json.load(sys.stdin)
json.dump({"compiled": compiled(), "routes": routes(sql)}, sys.stdout)
"""


@pytest.mark.skipif(not compiled(), reason="sqlglotc is not installed: both sides would be pure")
def test_routes_are_the_same_without_sqlglotc() -> None:
    sql = statements()
    ours = routes(sql)
    child = subprocess.run(
        [sys.executable, str(PURE), "-c", _CHILD, str(ROOT)],
        input=json.dumps(sql),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=110,
    )
    pure = json.loads(child.stdout)
    assert pure["compiled"] is False
    differ = {s: (ours[s], pure["routes"][s]) for s in sql if ours[s] != pure["routes"][s]}
    assert not differ, f"{len(differ)} of {len(sql)} statements route otherwise: {differ}"


@pytest.mark.skipif(
    "PGCLUSTER_EXPECT_SQLGLOTC" not in os.environ,
    reason="PGCLUSTER_EXPECT_SQLGLOTC is not set (.ci/run sets it)",
)
def test_sqlglotc_is_as_expected() -> None:
    assert compiled() is (os.environ["PGCLUSTER_EXPECT_SQLGLOTC"] == "1")
