"""The strict token scan: the second reader of statements sqlglot cannot tokenize or parse.

``tests/classifier/data/regress_reads.tsv`` holds reads taken verbatim from
PostgreSQL's regression tests (src/test/regress/sql/geometry.sql, xml.sql and txid.sql):
operators and SQL/XML syntax sqlglot does not know. They are reads by
construction (SELECT, no write, only built-in operators and functions), and
test_scan_sure_servers.py runs every one on a hot standby, on the regression
suite's table names (data/regress_reads_schema.sql, a few rows each).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pgcluster.classifier import Policy, Target, classify
from pgcluster.classifier._builtin_functions import OPERATORS, SYNTAX_KEYWORDS, TYPES

P, R = Target.PRIMARY, Target.REPLICA
REGRESS = Path(__file__).parent / "data" / "regress_reads.tsv"
SCANNED = "(read by the token scan: sqlglot could not parse it)"


def regress_reads() -> list[str]:
    with REGRESS.open(newline="") as f:
        return [r["sql"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def test_regress_reads_go_to_a_replica() -> None:
    reads = regress_reads()
    assert len(reads) >= 60
    routes = {sql: classify(sql) for sql in reads}
    on_primary = {sql: r.reason for sql, r in routes.items() if r.target is not R}
    assert not on_primary
    # Most of them only the token scan can read: sqlglot fails on them.
    assert sum(SCANNED in r.reason for r in routes.values()) >= 40


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT box '(0,0),(1,1)'",
        "SELECT polygon '(0,0),(1,1),(2,0)' @> point '(1,1)'",
        "SELECT txid_snapshot '10:20:10,14,15'",
        "SELECT box '(0,0),(1,1)' ~<=~ box '(0,0),(2,2)'",
        "SELECT box '(0,0),(1,1)' &<| box '(0,0),(2,2)'",
        "SELECT xmlparse(content '<abc>x</abc>')",
        "SELECT xmlexists('//town' PASSING BY REF '<towns><town>a</town></towns>')",
        "SELECT * FROM t ORDER BY a USING >",
        "SELECT interval '1 day' day to second(2), box '(0,0),(1,1)'",
        "SELECT x::timestamptz(0), box '(0,0),(1,1)' FROM t",
        "SELECT count(*) FILTER (WHERE a), box '(0,0),(1,1)' FROM t",
        "SELECT regproc('now'), box '(0,0),(1,1)'",
        "SELECT 1 = ALL ('{1,2}'), box '(0,0),(1,1)'",
        "SELECT a OPERATOR(pg_catalog.+) b, box '(0,0),(1,1)' FROM t",
        "SELECT * FROM t WHERE a != 1 AND b ~<=~ c",  # PostgreSQL reads != as <>
        "SELECT collation for ('foo')",  # FOR is syntax there, not a call of for()
    ],
)
def test_scan_reads_what_sqlglot_cannot(statement: str) -> None:
    route = classify(statement)
    assert (route.target, route.reason) == (R, f"a read-only query {SCANNED}")
    assert route.movable


# Writes, locks, session state and unknown code hidden behind syntax sqlglot fails on.
HIDDEN_WRITES = [
    "SELECT collation for ('a') FROM t FOR UPDATE",
    "SELECT collation for ('a') FROM t FOR NO KEY UPDATE OF t",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d WHERE a ~<=~ b",
    "WITH d AS (INSERT INTO t VALUES (box '(0,0),(1,1)') RETURNING *) SELECT * FROM d",
    "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT xmlparse(content '<a/>') FROM u",
    "SELECT U&'d\\0061t' UESCAPE '!' INTO t2 FROM xmlparse(content '<a/>') x",
    "SELECT U&'d\\0061t' INTO TEMP t2",
    "SELECT xmlparse(content '<a/>') FROM t FOR UPDATE",
    "SELECT xmlparse(content '<a/>') FROM t FOR NO KEY UPDATE",
    "SELECT box '(0,0),(1,1)' FROM t FOR SHARE",
    "SELECT box '(0,0),(1,1)' FROM t FOR KEY SHARE SKIP LOCKED",
    "SELECT nextval('s'), box '(0,0),(1,1)' @@ x",
    "SELECT \"nextval\"('s'), box '(0,0),(1,1)'",
    "SELECT pg_catalog.setval('s', 1), box '(0,0),(1,1)'",
    "SELECT my_volatile(x), box '(0,0),(1,1)' FROM t",
    "SELECT app.coalesce(x), box '(0,0),(1,1)' FROM t",
    "SELECT rollup(x), box '(0,0),(1,1)' FROM t",
    "SELECT box '(0,0),(1,1)' FROM t WHERE a <<<>>> b",
    "SELECT box '(0,0),(1,1)' FROM t WHERE a OPERATOR(app.+) b",
    "SELECT box '(0,0),(1,1)' FROM pg_stat_activity",
    "SELECT box '(0,0),(1,1)' FROM \"pg_locks\"",
    "SELECT polygon '(0,0)' FROM pg_temp.t",
    "SELECT polygon '(0,0)' FROM U&\"pg_te\\006dp\".t",
    "SELECT pg_advisory_lock(1), xmlpi(name foo)",
    "SELECT set_config('a.b', 'c', false), xmlpi(name foo)",
    "SELECT box '(0,0),(1,1)'; DELETE FROM t",
    "SELECT box '(0,0),(1,1)'; SET x = 1",
    "SELECT $1,$2, box '(0,0),(1,1)'; INSERT INTO t VALUES (1)",
    "SELECT box '(0,0),(1,1)' FROM t WHERE",
    "SELECT box '(0,0),(1,1)' FROM (t",
    "SELECT box '(0,0),(1,1)' FROM t WHERE a = 'unterminated",
    "SELECT box '(0,0),(1,1)' /* unterminated",
    "VALUES (nextval('s'), box '(0,0),(1,1)')",
    "TABLE t; COPY t FROM STDIN",
]


@pytest.mark.parametrize("statement", HIDDEN_WRITES)
def test_writes_behind_unparsable_syntax_go_to_the_primary(statement: str) -> None:
    route = classify(statement)
    assert route.target is P, route
    assert "token scan" not in route.reason or "found" in route.reason


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT my_volatile(x), box '(0,0),(1,1)' FROM t",
        "SELECT box '(0,0),(1,1)' FROM t WHERE a <<<>>> b",
    ],
)
def test_what_the_scan_found_is_the_reason(statement: str) -> None:
    reason = classify(statement).reason
    assert reason.startswith("the statement could not be parsed; the token scan found ")


def test_hidden_writes_stay_even_when_unknown_functions_may_move() -> None:
    policy = Policy(unknown_functions=Target.REPLICA)
    for statement in HIDDEN_WRITES:
        if "my_volatile" in statement or "coalesce" in statement or "rollup" in statement:
            continue
        assert classify(statement, policy).target is P, statement


def test_generated_scan_knowledge() -> None:
    assert {"box", "polygon", "txid_snapshot", "regproc", "hstore"} <= TYPES
    assert {"@@", "~<=~", "&<|", "<->", "?-|", "||", "="} <= OPERATORS
    assert "<<<" not in OPERATORS
    assert {
        "ALL",
        "ANY",
        "SOME",
        "COALESCE",
        "XMLPARSE",
        "XMLATTRIBUTES",
        "SELECT",
    } <= SYNTAX_KEYWORDS
    assert not {"SECOND", "ROLLUP", "OVER", "LEFT"} & SYNTAX_KEYWORDS


@pytest.mark.parametrize(
    ("statement", "movable"),
    [
        # what the scan cannot vouch for but does not write: a replica hint may move it
        ("SELECT point '(1,1)' <<< point '(2,2)'", True),
        ("SELECT box '(0,0),(1,1)' FROM t WHERE", True),
        ("SELECT my_volatile(x), box '(0,0),(1,1)' FROM t", True),
        # what writes, locks or holds session state: never
        ("SELECT xmlparse(content '<a/>') FROM t FOR UPDATE", False),
        ("SELECT U&'d\\0061t' INTO t2", False),
        ("SELECT polygon '(0,0)' FROM pg_temp.t", False),
        ("SELECT polygon '(0,0)' FROM \"pg_temp_3\".t", False),
        ("SELECT box '(0,0),(1,1)' /* unterminated", False),
    ],
)
def test_replica_hint_moves_only_what_does_not_write(statement: str, movable: bool) -> None:
    route = classify(f"/* pgcluster:replica */ {statement}")
    assert route.target is (R if movable else P), route
    assert classify(statement).movable is movable
