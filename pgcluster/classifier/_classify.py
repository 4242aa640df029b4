"""`classify()`: input checks, the cache, hints, and the choice of parse or scan."""

from __future__ import annotations

import re

from ..errors import InvalidQueryError
from . import _scan
from ._analyze import classify_text
from ._query import Query, query_text
from ._route import Policy, Route, Target
from ._sqlglot import quiet
from ._verdict import EmptyStatement

DEFAULT_POLICY = Policy()

_HINT = re.compile(r"\A\s*/\*\s*pgcluster\s*:\s*(primary|replica)\s*\*/", re.IGNORECASE)


def classify(sql: Query, policy: Policy | None = None) -> Route:
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
        text = query_text(sql)
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
    # Whether a replica may run it when asked (a replica hint, target="replica"):
    # one rule for both, decided here once and cached with the route. A read
    # may, and a soft primary (an unknown function, a node probe); not what
    # writes, locks, or reads or changes session state.
    may_move = not (verdict.primary and (verdict.hard or verdict.session))
    hint = _HINT.match(text)
    # A hint moves the statement (or does not); it never changes what it is.
    if hint is None:
        target = Target.PRIMARY if verdict.primary else Target.REPLICA
        reason = verdict.reason
    elif hint.group(1).lower() == "primary":
        target, reason = Target.PRIMARY, f"hint pgcluster:primary ({verdict.reason})"
    elif may_move:
        target, reason = Target.REPLICA, f"hint pgcluster:replica ({verdict.reason})"
    else:
        target, reason = Target.PRIMARY, f"hint pgcluster:replica ignored: {verdict.reason}"
    return Route(target, reason, verdict.session, verdict.statement, may_move)
