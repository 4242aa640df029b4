"""The routing decision for one statement: the classifier's route, then the caller's overrides.

Pure functions, no I/O: the cluster shells call them, the tests call them
with no database.
"""

from __future__ import annotations

from psycopg import sql as psycopg_sql

from ._query import Query
from .classifier import Policy, Route, Target, classify
from .errors import ConfigurationError, SessionStatementError

_REPLICA_HINT = "/* pgcluster:replica */ "

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


def decide(query: Query, policy: Policy | None, target: Target | None, pinned: bool) -> Route:
    """The route of one pool-level statement.

    *target* is the caller's ``target=``; *pinned* is true inside `use_primary()`.
    A statement that must run on the primary (a write, a lock, ...) cannot be
    sent to a replica: ``target="replica"`` on it raises.
    """
    route = classify(query, policy)
    check_not_session(route)
    if target is Target.PRIMARY:
        return ASKED_PRIMARY
    if pinned:
        return PINNED
    if target is Target.REPLICA and route.target is Target.PRIMARY:
        # The classifier's replica hint moves exactly what may move (an unknown
        # function, a node probe) and nothing that writes: reuse that rule.
        text = query.as_string(None) if isinstance(query, psycopg_sql.Composable) else query
        forced = classify(_REPLICA_HINT + text, policy)
        if forced.target is Target.PRIMARY:
            raise ConfigurationError(
                f"target='replica' refused: this statement must run on the primary ({route.reason})"
            )
        return Route(Target.REPLICA, f"target='replica' was asked ({route.reason})")
    return route
