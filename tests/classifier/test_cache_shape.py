"""The cache by shape: a plain SELECT seen with other literals is a hit, with the same route.

For every corpus statement (and the fast path's generated ones), a variant with
other literal values is classified by a policy that saw the original first:
its route must be the one an uncached classification of the variant gives.
"""

from __future__ import annotations

import re

from pgcluster.classifier import Policy, Target, classify
from pgcluster.classifier._classify import _LITERAL, shape_key
from tests.classifier.test_classifier_corpus import CORPUS, PUBLIC, load
from tests.classifier.test_fast import generated


def _other(m: re.Match[str]) -> str:
    lit = m.group()
    return "'other''s value'" if lit.startswith("'") else str(int(float(lit)) + 7)


def variant(sql: str) -> str:
    return _LITERAL.sub(_other, sql)


def test_a_variant_routes_as_it_would_uncached() -> None:
    rows = load(CORPUS) + (load(PUBLIC) if PUBLIC.exists() else [])
    nocache = Policy(cache_size=0)
    hits = 0
    wrong = []
    for sql in sorted({r.sql for r in rows}) + generated():
        other = variant(sql)
        policy = Policy()
        first = classify(sql, policy)
        assert first == classify(sql, nocache)
        hits += shape_key(other) in policy._cache
        got = classify(other, policy)
        if got != classify(other, nocache):
            wrong.append((sql, other, got))
    assert not wrong, wrong[:5]
    assert hits > 100  # else the test above proves nothing of the shape cache


def test_inlined_literals_share_one_entry() -> None:
    policy = Policy()
    for i in range(100):
        route = classify(f"SELECT id, name FROM users WHERE id = {i} AND name = 'n{i}'", policy)
        assert route.target is Target.REPLICA
    assert len(policy._cache) == 1


def test_no_shape_where_a_literal_could_matter() -> None:
    for sql in [
        "SELECT set_config('a', 'b', false)",  # not a plain SELECT: cached by text, not shape
        "EXPLAIN (ANALYZE 0) SELECT 1",
        "/* pgcluster:replica */ SELECT a FROM t WHERE id = 1",
        "SELECT a FROM t WHERE b = E'x\\'y'",
        "SELECT a FROM t WHERE b = $$x$$",
        'SELECT "1" FROM t',
        "SELECT a FROM t; DELETE FROM t WHERE id = 1",
        "SELECT a FROM t -- 1",
    ]:
        policy = Policy()
        classify(sql, policy)
        assert list(policy._cache) == [sql] or shape_key(sql) is None
        assert all(isinstance(k, str) for k in policy._cache), sql
