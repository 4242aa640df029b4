"""`classify()`: input checks, the cache, hints, and the choice of parse or scan."""

from __future__ import annotations

import re

from ..errors import InvalidQueryError
from . import _fast, _scan
from ._analyze import classify_text, statement
from ._query import Query, query_text
from ._route import Policy, Route, Target
from ._sqlglot import quiet, tokenize
from ._verdict import EmptyStatement, Verdict

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
    if not policy.cache_size or len(text) > policy.max_parse_size:
        return _decide(text, policy, False)[0]
    # Not this text, but maybe its shape: a plain SELECT seen with other literals.
    shape = shape_key(text)
    if shape is not None:
        route = cache.get(shape)
        if route is not None:
            try:  # noqa: SIM105 (as above)
                cache.move_to_end(shape)
            except KeyError:
                pass
            return route
    route, shaped = _decide(text, policy, shape is not None)
    # By shape only when the text has a literal: else its exact text is as good a key,
    # and the quicker one to hit (no regular expression before the lookup).
    key: str | tuple[str] = text
    if shaped and shape is not None and shape[0] != text:
        key = shape
    with policy._lock:
        cache[key] = route
        while len(cache) > policy.cache_size:
            cache.popitem(last=False)
    return route


# The shape key, for the texts where it is sound: a SELECT with no comment, no
# dollar quote, quoted identifier, backslash, ";" or prefixed string (E'', B''...):
# then a string constant is exactly '...' ('' inside), and a number is digits
# with no word character or "." next to it. Texts with the same key differ only
# in the values of their literals, and sqlglot gives them the same tokens but for
# those values. Only the routes the fast path gave (which looks at no literal's
# value) are cached by shape; every other route is cached by its exact text.
_SIMPLE = re.compile(r"\s*select\s[^$\"\\;\x00]*\Z", re.IGNORECASE | re.DOTALL)
# In the key, every string constant is '': one right after a word is prefixed.
_PREFIXED_STRING = re.compile(r"[\w&]''")
_LITERAL = re.compile(r"'(?:[^']|'')*'|(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def _placeholder(m: re.Match[str]) -> str:
    return "''" if m.group().startswith("'") else "0"


def shape_key(text: str) -> tuple[str] | None:
    """The cache key of *text* with its literals replaced, where that is sound (else None)."""
    if _SIMPLE.match(text) is None or "--" in text or "/*" in text:
        return None
    key = _LITERAL.sub(_placeholder, text)
    if _PREFIXED_STRING.search(key) is not None:
        return None
    return (key,)


def _decide(text: str, policy: Policy, shape: bool) -> tuple[Route, bool]:
    """The route of *text*; and whether the fast path gave it (*shape*: try it first)."""
    fast = False
    try:
        with quiet():
            if len(text) > policy.max_parse_size:
                verdict = _scan.scan(text, policy)
            elif shape:
                verdict, fast = _shaped(text, policy)
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
    return Route(target, reason, verdict.session, verdict.statement, may_move), fast


def _shaped(text: str, policy: Policy) -> tuple[Verdict, bool]:
    """`classify_text()` for a text `shape_key()` accepts (one statement), and whether fast."""
    try:
        tokens = tokenize(text)
    except Exception:
        return classify_text(text, policy), False
    if not tokens:
        raise EmptyStatement
    verdict = _fast.verdict(tokens, policy)
    if verdict is not None:
        return verdict, True
    return statement(tokens, text, policy), False
