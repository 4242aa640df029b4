"""The routing decision for one pool-level statement: classifier, target= and use_primary()."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from pgcluster import classify
from pgcluster._core.query import Query
from pgcluster._core.routing import (
    ASKED_PRIMARY,
    PINNED,
    check_not_session,
    decide,
    parse_target,
)
from pgcluster.classifier import Policy, Route, Target
from pgcluster.errors import ConfigurationError, SessionStatementError

PRIMARY, REPLICA = Target.PRIMARY, Target.REPLICA

READ = "SELECT * FROM t"
WRITES = ["INSERT INTO t VALUES (1)", "SELECT * FROM t FOR UPDATE", "SELECT nextval('s')"]
# Sent to the primary by default, but may move: nothing in them writes.
MAY_MOVE = ["SELECT my_unknown_function()", "SELECT pg_backend_pid()"]
SESSION = ["SET search_path = x", "LISTEN ch", "BEGIN", "SELECT set_config('a', 'b', false)"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (PRIMARY, PRIMARY),
        (REPLICA, REPLICA),
        ("primary", PRIMARY),
        ("REPLICA", REPLICA),
        ("  Primary\n", PRIMARY),
    ],
)
def test_parse_target_accepts(value: object, expected: Target | None) -> None:
    assert parse_target(value) is expected


@pytest.mark.parametrize("value", ["master", "", "prim", "primary,replica", b"primary", 1, True])
def test_parse_target_refuses_anything_else(value: object) -> None:
    with pytest.raises(ConfigurationError, match="use 'primary' or 'replica'") as info:
        parse_target(value)
    assert repr(value) in str(info.value)


def test_check_not_session_refuses_session_routes_only() -> None:
    check_not_session(Route(PRIMARY, "INSERT writes rows"))
    with pytest.raises(SessionStatementError, match=r"task\(\)") as info:
        check_not_session(Route(PRIMARY, "SET changes session state", session=True))
    assert isinstance(info.value, psycopg.ProgrammingError)
    assert "SET changes session state" in str(info.value)


@pytest.mark.parametrize(
    ("query", "expected"),
    [(READ, REPLICA), ("SHOW search_path", REPLICA), *((q, PRIMARY) for q in WRITES + MAY_MOVE)],
)
def test_with_no_override_the_classifier_decides(query: str, expected: Target) -> None:
    route = decide(query, None, None, pinned=False)
    assert route == classify(query)
    assert route.target is expected


@pytest.mark.parametrize("query", [READ, WRITES[0]])
def test_pinned_goes_to_the_primary(query: str) -> None:
    assert decide(query, None, None, pinned=True) == PINNED
    assert "use_primary()" in PINNED.reason


@pytest.mark.parametrize("pinned", [False, True])
@pytest.mark.parametrize("query", [READ, WRITES[0], MAY_MOVE[0]])
def test_target_primary_wins(query: str, pinned: bool) -> None:
    route = decide(query, None, PRIMARY, pinned)
    assert route == ASKED_PRIMARY
    assert route.target is PRIMARY


def test_target_replica_on_a_read_stays_on_the_replica() -> None:
    assert decide(READ, None, REPLICA, pinned=False) == classify(READ)


@pytest.mark.parametrize("query", MAY_MOVE)
def test_target_replica_moves_what_may_move(query: str) -> None:
    route = decide(query, None, REPLICA, pinned=False)
    assert route.target is REPLICA
    assert route.reason == f"target='replica' was asked ({classify(query).reason})"


@pytest.mark.parametrize("query", WRITES)
def test_target_replica_on_a_write_is_refused(query: str) -> None:
    with pytest.raises(ConfigurationError, match="target='replica' refused") as info:
        decide(query, None, REPLICA, pinned=False)
    assert classify(query).reason in str(info.value)


def test_the_policy_is_used_for_the_override_too() -> None:
    policy = Policy(write_functions=["audit"], read_functions=["report"])
    with pytest.raises(ConfigurationError, match="write function of the policy"):
        decide("SELECT audit()", policy, REPLICA, pinned=False)
    assert decide("SELECT report()", policy, None, pinned=False).target is REPLICA


@pytest.mark.parametrize("pinned", [False, True])
@pytest.mark.parametrize("target", [None, PRIMARY, REPLICA])
@pytest.mark.parametrize("query", SESSION)
def test_session_statements_raise_whatever_the_target(
    query: str, target: Target | None, pinned: bool
) -> None:
    with pytest.raises(SessionStatementError):
        decide(query, None, target, pinned)


@pytest.mark.parametrize(
    ("query", "target", "expected"),
    [
        (sql.SQL("SELECT * FROM {}").format(sql.Identifier("t")), None, REPLICA),
        (sql.SQL("INSERT INTO {} VALUES (1)").format(sql.Identifier("t")), None, PRIMARY),
        (
            sql.SQL("SELECT {}({})").format(sql.Identifier("my_fn"), sql.Literal(1)),
            REPLICA,
            REPLICA,
        ),
    ],
)
def test_a_composable_query_is_routed_like_its_text(
    query: Query, target: Target | None, expected: Target
) -> None:
    assert decide(query, None, target, pinned=False).target is expected


def test_a_composable_write_cannot_be_forced_to_a_replica() -> None:
    query = sql.SQL("SELECT nextval({})").format(sql.Literal("s"))
    with pytest.raises(ConfigurationError, match="target='replica' refused"):
        decide(query, None, REPLICA, pinned=False)
