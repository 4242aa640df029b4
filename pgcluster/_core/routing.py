"""The routing decision for one statement: the classifier's route, then the caller's overrides.

Pure functions, no I/O: the cluster shells call them, the tests call them
with no database.
"""

from __future__ import annotations

from ..classifier import (
    Policy,
    Route,
    Statement,
    Target,
    classify,
)
from ..errors import (
    ConfigurationError,
    InvalidQueryError,
    SessionStatementError,
)
from .query import Query

PINNED = Route(Target.PRIMARY, "use_primary() pins this context to the primary")
ASKED_PRIMARY = Route(Target.PRIMARY, "target='primary' was asked")


# A dict lookup: Target(value) goes through Enum's machinery, slow for every statement.
_TARGETS = {target.value: target for target in Target}


def parse_target(value: object) -> Target | None:
    """Accept None, a `Target`, or "primary" / "replica"; anything else is a clear error."""
    if value is None or isinstance(value, Target):
        return value
    if isinstance(value, str):
        found = _TARGETS.get(value.strip().lower())
        if found is not None:
            return found
    raise ConfigurationError(f"unknown target {value!r}: use 'primary' or 'replica'")


def check_not_session(route: Route) -> None:
    """Refuse, at pool level, a statement whose effect would stay on the pooled connection."""
    if route.session:
        raise SessionStatementError(
            f"this statement changes or reads connection session state ({route.reason}),"
            " which would leak into the next user of a pooled connection: run it inside"
            " `with pool.task() as conn:` (or tx()), or put it in the pool's configure= callback"
        )


_QUERY = Statement.QUERY
_COPY = Statement.COPY
_TRANSACTION = Statement.TRANSACTION


def check_method(route: Route, method: str) -> None:
    """Refuse a statement that *method* (``"query"`` or ``"stream"``) cannot run.

    - a COPY with the client (``FROM STDIN``, ``TO STDOUT``) needs psycopg's
      ``cursor.copy()``, through neither;
    - `stream()` declares a server-side cursor, which only one SELECT, VALUES,
      TABLE or WITH ... SELECT can feed (`Statement.QUERY`).

    *route* is the classifier's, not an override's (`decide()` keeps it).
    """
    statement = route.statement
    if statement is _QUERY:
        return
    if statement is _COPY:
        raise InvalidQueryError(
            f"{method}() cannot run a COPY with the client ({route.reason}): use psycopg's"
            " copy API on a connection, `with pool.connection() as conn:` (or"
            " `session.connection` inside task() or tx()), then"
            " `with conn.cursor().copy(sql) as copy:`"
        )
    if method == "stream":
        raise InvalidQueryError(
            f"stream() takes one SELECT, VALUES, TABLE or WITH ... SELECT, which a"
            f" server-side cursor can be declared for; this statement is not one"
            f" ({route.reason}): run it with query(), which returns the rows of"
            " ... RETURNING too"
        )


def check_in_session(route: Route) -> None:
    """Refuse transaction control inside ``task()`` or ``tx()``.

    A COMMIT (or a BEGIN, a SAVEPOINT, ...) sent there would end or start a
    transaction behind the block's back: a ``tx()`` block that then raises
    would leave committed writes.
    """
    if route.statement is _TRANSACTION:
        raise SessionStatementError(
            f"transaction control is refused inside task() and tx() ({route.reason}):"
            " a tx() block commits when it ends and rolls back if it raises; for a"
            " savepoint nest `with session.tx():` inside it; for a transaction inside"
            " task() (which runs in autocommit) use `with session.tx():` too"
        )


def pool_route(query: Query, policy: Policy | None, method: str = "query") -> Route:
    """The classifier's route of a statement sent through a pool-level *method*
    (``"query"`` or ``"stream"``); one that changes session state, or that *method*
    cannot run (see `check_method()`), raises."""
    route = classify(query, policy)
    check_not_session(route)
    if route.statement is not _QUERY:
        check_method(route, method)
    return route


def decide(
    query: Query,
    policy: Policy | None,
    target: Target | None,
    pinned: bool,
    method: str = "query",
) -> Route:
    """The route of one pool-level statement run by *method* (``"query"`` or ``"stream"``).

    *target* is the caller's ``target=``; *pinned* is true inside `use_primary()`.
    A statement that must run on the primary (a write, a lock, ...) cannot be
    sent to a replica: ``target="replica"`` on it raises. A statement that
    changes session state, or that *method* cannot run (see `check_method()`),
    raises too.
    """
    route = pool_route(query, policy, method)
    if target is Target.PRIMARY:
        return ASKED_PRIMARY
    if pinned:
        return PINNED
    if target is Target.REPLICA and route.target is Target.PRIMARY:
        # The classifier's own answer, the rule of its replica hint: an unknown
        # function or a node probe may move, nothing that writes, locks or
        # touches session state.
        if not route.movable:
            raise ConfigurationError(
                f"target='replica' refused: this statement must run on the primary ({route.reason})"
            )
        return Route(Target.REPLICA, f"target='replica' was asked ({route.reason})", movable=True)
    return route
