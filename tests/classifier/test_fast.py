"""The fast path (`_fast`) declines, or says exactly what the full path says.

Over every corpus statement and a few thousand generated plain SELECTs (and
near misses of them): classify() with the fast path and with it switched off
give the same Route, target, reason, session, kind and movable alike.
"""

from __future__ import annotations

import contextlib
import random

import pytest

from pgcluster.classifier import Policy, Route, Target, _fast, classify
from pgcluster.classifier._sqlglot import tokenize
from tests.classifier.test_classifier_corpus import CORPUS, PUBLIC, load

_COLS = ["id", "name", '"Email"', "u.id", "t.*", "*", "created_at", "a AS b", "x y", "next", "user"]
_TABLES = ["users", "public.users", '"Order"', "pg_temp.t", "pg_stat_activity", "users u"]
_TABLES += ["pg_catalog.pg_locks", "users AS u", "pg_class", "t1"]
_CONDS = ["id = %s", "id = 42", "name = 'x'", "u.id <> %(id)s", "a IS NULL", "a IS NOT NULL"]
_CONDS += ["a IN (1, 2, %s)", "a NOT IN (%s)", "a = ANY(%s)", "a LIKE %s", "a >= b", "flag = TRUE"]
_CONDS += ["a = % s", "a = %b", "nextval('s') = 1", "a = (SELECT 1)", "a = -1", "a = now()"]
_TAILS = ["", " ORDER BY id", " ORDER BY id DESC, name", " LIMIT 10", " LIMIT %s OFFSET %s"]
_TAILS += [" FOR UPDATE", " FOR SHARE", " LIMIT ALL", " ORDER BY id NULLS FIRST", " OFFSET 5"]


def generated(n: int = 3000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        cols = ", ".join(rng.sample(_COLS, rng.randint(1, 3)))
        where = ""
        if rng.random() < 0.8:
            joiner = rng.choice([" AND ", " OR "])
            where = " WHERE " + joiner.join(rng.sample(_CONDS, rng.randint(1, 3)))
        distinct = "DISTINCT " if rng.random() < 0.1 else ""
        s = f"SELECT {distinct}{cols} FROM {rng.choice(_TABLES)}{where}{rng.choice(_TAILS)}"
        if rng.random() < 0.05:
            s = f"/* pgcluster:replica */ {s}"
        if rng.random() < 0.05:
            s = s.replace(" FROM", " /* c */ FROM")
        out.add(s)
    return sorted(out)


def statements() -> list[str]:
    rows = load(CORPUS) + (load(PUBLIC) if PUBLIC.exists() else [])
    return sorted({r.sql for r in rows}) + generated()


def full_route(sql: str, monkeypatch: pytest.MonkeyPatch) -> Route:
    with monkeypatch.context() as m:
        m.setattr(_fast, "verdict", lambda tokens, policy: None)
        return classify(sql, Policy(cache_size=0))


def test_the_fast_path_declines_or_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = Policy(cache_size=0)
    taken = 0
    differ = []
    for sql in statements():
        fast = classify(sql, policy)
        full = full_route(sql, monkeypatch)
        if fast != full:
            differ.append((sql, fast, full))
        # A string that does not tokenize: classify() covered it above.
        with contextlib.suppress(Exception):
            taken += _fast.verdict(tokenize(sql), policy) is not None
    assert not differ, differ[:10]
    # else the comparison above would pass whatever the fast path does
    assert taken > 300


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id, name FROM users WHERE id = %s",
        "SELECT * FROM public.users u WHERE u.email = %(email)s AND u.active = TRUE LIMIT 1",
        "SELECT id FROM users WHERE id IN (%s, %s) ORDER BY id DESC LIMIT %s OFFSET %s",
        "SELECT DISTINCT status FROM orders WHERE user_id = 42",
    ],
)
def test_orm_selects_take_the_fast_path(sql: str) -> None:
    v = _fast.verdict(tokenize(sql), Policy())
    assert v is not None
    assert classify(sql).target is Target.REPLICA


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM users WHERE id = %s FOR UPDATE",  # a lock
        "SELECT nextval('s') FROM users",  # a call
        "SELECT id FROM pg_temp.t",  # a temporary table
        "SELECT * FROM pg_stat_activity",  # a node relation
        "SELECT * FROM pg_catalog.pg_locks",
        'SELECT * FROM "pg_stat_replication"',
        "SELECT id FROM users JOIN orders ON true",  # a join: not this shape
        "SELECT id INTO t2 FROM users",  # INTO
        "SELECT id FROM users WHERE id = (SELECT 1)",  # a subquery
        "SELECT id FROM users WHERE id = % s",  # modulo, not a placeholder
        "SELECT id FROM users /* x */ WHERE id = 1",  # a comment past the first token
        "SELECT next FROM users",  # a word sqlglot parses on its own
    ],
)
def test_the_fast_path_declines(sql: str) -> None:
    assert _fast.verdict(tokenize(sql), Policy()) is None


def test_the_relation_catalog_is_asked() -> None:
    policy = Policy(relation_catalog={"hits": "is UNLOGGED", "app.jobs": "is UNLOGGED"})
    for sql in ["SELECT id FROM hits WHERE id = %s", "SELECT id FROM app.jobs WHERE id = 1"]:
        assert _fast.verdict(tokenize(sql), policy) is None
        assert classify(sql, policy).target is Target.PRIMARY
    assert _fast.verdict(tokenize("SELECT id FROM other WHERE id = 1"), policy) is not None
