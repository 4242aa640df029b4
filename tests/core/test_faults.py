"""Which failures are about the node, and when a write's outcome is unknown."""

from __future__ import annotations

import psycopg
import psycopg_pool
import pytest

from pgcluster._core.faults import (
    is_unavailable,
    outcome_unknown,
    standby_refusal,
)


def server_error(sqlstate: str) -> psycopg.Error:
    """The psycopg error class the server's *sqlstate* maps to."""
    cls = psycopg.errors.lookup(sqlstate)
    return cls("from the server")


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("connection refused"),  # libpq's own: no SQLSTATE
        psycopg_pool.PoolTimeout("no connection in 1 s"),
        psycopg_pool.PoolClosed("closed"),
        server_error("57P01"),
        server_error("57P03"),
        server_error("08006"),
    ],
)
def test_node_failures_are_unavailability(error: Exception) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        server_error("23505"),  # unique violation: the statement's fault
        server_error("42601"),  # syntax error
        server_error("40001"),  # serialization failure: retry the transaction, not the node
        server_error("25006"),  # read-only transaction: the misroute safety net's business
        server_error("57014"),  # query_canceled (statement_timeout): the statement was slow
        ValueError("not a database error"),
    ],
)
def test_statement_failures_are_not(error: Exception) -> None:
    assert not is_unavailable(error)


def test_a_write_outcome_is_unknown_only_when_lost_after_sending() -> None:
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    assert outcome_unknown(lost, sent=True)
    assert not outcome_unknown(lost, sent=False)  # never left the client
    # Terminated by a shutdown: the commit may have happened just before.
    assert outcome_unknown(server_error("57P01"), sent=True)
    assert not outcome_unknown(server_error("23505"), sent=True)
    assert not outcome_unknown(psycopg_pool.PoolTimeout("x"), sent=True)


def error_saying(sqlstate: str, message: str) -> psycopg.Error:
    """The error a server sends with *sqlstate* and *message* (no source: only the text)."""
    return psycopg.errors.lookup(sqlstate)(message)


@pytest.mark.parametrize(
    ("sqlstate", "message"),
    [
        ("25006", "cannot execute INSERT in a read-only transaction"),
        ("25006", "cannot execute pg_current_xact_id() during recovery"),
        ("0A000", "cannot access temporary or unlogged relations during recovery"),
        ("0A000", "cannot set transaction read-write mode during recovery"),
        ("0A000", "cannot use serializable mode in a hot standby"),
        ("55000", "recovery is in progress"),
        ("55000", "cannot acquire lock mode ShareRowExclusiveLock on database objects"
         " while recovery is in progress"),
        ("XX000", "cannot assign TransactionIds during recovery"),
        ("XX000", "cannot assign OIDs during recovery"),
    ],
)  # fmt: skip
def test_a_standby_refusal_is_known_by_its_sqlstate_and_words(sqlstate: str, message: str) -> None:
    assert standby_refusal(error_saying(sqlstate, message)) == sqlstate
    # A refusal is about the node's role, not an outage of the node.
    assert not is_unavailable(error_saying(sqlstate, message), broken=False)


@pytest.mark.parametrize(
    "error",
    [
        error_saying("0A000", "cannot use an aggregate in a WHERE clause"),  # not recovery
        error_saying("55000", "lock tuple is not available"),
        error_saying("XX000", "cache lookup failed for type 0"),
        error_saying("42P01", "relation u does not exist during recovery"),  # other SQLSTATE
        psycopg.OperationalError("connection lost during recovery"),  # no SQLSTATE
        ValueError("during recovery"),
    ],
)
def test_other_errors_are_not_refusals(error: BaseException) -> None:
    assert standby_refusal(error) is None
