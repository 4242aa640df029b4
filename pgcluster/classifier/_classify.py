"""`classify()`: input checks, the cache, hints, and the choice of parse or scan."""

from __future__ import annotations

import re

from psycopg import sql as psql

from ..errors import InvalidQueryError
from . import _scan
from ._analyze import EmptyStatement, classify_text
from ._route import Policy, Route, Target, Verdict
from ._sqlglot import quiet

DEFAULT_POLICY = Policy()

_HINT = re.compile(r"\A\s*/\*\s*pgcluster\s*:\s*(primary|replica)\s*\*/", re.IGNORECASE)


def _text_of(sql: object) -> str:
    if isinstance(sql, str):
        return sql
    if isinstance(sql, psql.Composable):
        try:
            text = sql.as_string(None)
        except Exception as exc:
            raise InvalidQueryError(f"cannot render the SQL composable {sql!r}: {exc}") from exc
        return text
    if isinstance(sql, (bytes, bytearray, memoryview)):
        raise InvalidQueryError(
            "the query must be a str or a psycopg.sql.Composable, not bytes: decode it first"
        )
    if sql is None:
        raise InvalidQueryError("the query must be a str or a psycopg.sql.Composable, not None")
    raise InvalidQueryError(
        f"the query must be a str or a psycopg.sql.Composable, not {type(sql).__name__}"
    )


def classify(sql: str | psql.Composable, policy: Policy | None = None) -> Route:
    """Decide where ``sql`` must run: the primary or a replica, and why.

    Pure: no I/O. ``sql`` is a str or a `psycopg.sql.Composable`; the caller
    sends its original text, this only decides. Raises
    `pgcluster.errors.InvalidQueryError` for None, bytes, other types, and
    strings that hold no statement.
    """
    if policy is None:
        policy = DEFAULT_POLICY
    elif not isinstance(policy, Policy):
        raise TypeError(f"policy must be a pgcluster.Policy, not {type(policy).__name__}")
    cache = policy._cache
    if type(sql) is str:
        route = cache.get(sql)
        if route is not None:
            try:  # noqa: SIM105 (contextlib.suppress is slower on this hot path)
                cache.move_to_end(sql)
            except KeyError:  # evicted by another thread meanwhile
                pass
            return route
        text = sql
    else:
        text = _text_of(sql)
        route = cache.get(text)
        if route is not None:
            return route
    route = _decide(text, policy)
    if policy.cache_size and len(text) <= policy.max_parse_size:
        with policy._lock:
            cache[text] = route
            while len(cache) > policy.cache_size:
                cache.popitem(last=False)
    return route


def _decide(text: str, policy: Policy) -> Route:
    try:
        with quiet():
            if len(text) > policy.max_parse_size:
                verdict = _scan.scan(text, policy)
            else:
                verdict = classify_text(text, policy)
    except EmptyStatement:
        raise InvalidQueryError(
            "the query holds no statement (it is empty or only whitespace and comments)"
        ) from None
    hint = _HINT.match(text)
    if hint is not None:
        target, reason = _hinted(Target(hint.group(1).lower()), verdict)
    elif verdict.primary:
        target, reason = Target.PRIMARY, verdict.reason
    else:
        target, reason = Target.REPLICA, verdict.reason
    return Route(target, reason, verdict.session, verdict.statement)


def _hinted(wanted: Target, verdict: Verdict) -> tuple[Target, str]:
    # A hint moves the statement (or does not); it never changes what it is.
    if wanted is Target.PRIMARY:
        return Target.PRIMARY, f"hint pgcluster:primary ({verdict.reason})"
    if verdict.primary and (verdict.hard or verdict.session):
        return Target.PRIMARY, f"hint pgcluster:replica ignored: {verdict.reason}"
    return Target.REPLICA, f"hint pgcluster:replica ({verdict.reason})"
