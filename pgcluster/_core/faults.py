"""Which failures mean "this node is unavailable", and what that allows. Pure, no I/O.

A server that answers with an error has decided (a constraint, a syntax
error): another node would answer the same. A connection that cannot be had
or is lost says nothing about the statement, only about the node: a read
may go elsewhere, and a write's fate depends on whether it was sent. One
kind of answer is about the node's role, not the statement: a hot standby's
refusal (`standby_refusal`), which the primary would not give.
"""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg_pool

# SQLSTATEs that a server sends when it, not the statement, is the problem.
UNAVAILABLE_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown: the server is stopping
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: starting up, or a standby not yet consistent
        "08000",  # connection_exception
        "08003",  # connection_does_not_exist
        "08006",  # connection_failure
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "08004",  # sqlserver_rejected_establishment_of_sqlconnection
    }
)


def is_unavailable(error: BaseException, *, broken: bool = True) -> bool:
    """True when *error* is about the node (down, unreachable, stopping), not the statement.

    *broken*: whether the connection that raised it is broken (`connection_broken`;
    True when there was no connection). libpq's own failures carry no SQLSTATE,
    and so do psycopg's client-side refusals (more than 65535 parameters, a
    value it cannot adapt): only a broken connection makes one an outage.
    """
    if isinstance(error, (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed)):
        return True
    if not isinstance(error, psycopg.OperationalError):
        return False
    if error.sqlstate is None:
        return broken
    return error.sqlstate in UNAVAILABLE_SQLSTATES


def connection_broken(conn: psycopg.BaseConnection[Any]) -> bool:
    """True when *conn* is unusable: lost (libpq says its link is bad) or closed."""
    return conn.closed


def outcome_unknown(error: BaseException, sent: bool, *, broken: bool = True) -> bool:
    """True when a write may or may not have been applied: the node failed after sending.

    A server error about the statement (a constraint, a syntax error) means
    it was rolled back; a failure before sending applied nothing. But a lost
    connection, or a server shutting down (57P01 "terminating connection"),
    after sending may come after the commit: nobody can tell.
    """
    if not sent or isinstance(error, (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed)):
        return False
    return is_unavailable(error, broken=broken)


# The refusals of a hot standby, found by running each on a real PostgreSQL 15 standby
# (tests/shells/test_standby_refusals.py): SQLSTATE -> the server functions (or
# source files) that raise it for recovery. 25006 is always a standby's (or a
# read-only transaction's) refusal; the other SQLSTATEs are generic, so the
# source must be one of these, or the message must say "recovery" (for servers
# whose function names differ; messages are English unless lc_messages says
# otherwise, which is why the source comes first).
_REFUSING_SOURCES: dict[str, frozenset[str]] = {
    # "cannot access temporary or unlogged relations during recovery" (at plan time);
    # "cannot set transaction read-write mode during recovery", "cannot use
    # serializable mode in a hot standby" (GUC check hooks)
    "0A000": frozenset({"get_relation_info", "call_bool_check_hook", "call_enum_check_hook"}),
    # "recovery is in progress" (WAL control functions: pg_switch_wal(), ...);
    # "cannot acquire lock mode ... on database objects while recovery is in progress"
    "55000": frozenset({"xlogfuncs.c", "LockAcquireExtended"}),
    # "cannot assign TransactionIds / OIDs during recovery" (an xid or an OID needed)
    "XX000": frozenset({"GetNewTransactionId", "GetNewObjectId"}),
}
_RECOVERY_WORDS = ("during recovery", "recovery is in progress", "in a hot standby")


def standby_refusal(error: BaseException) -> str | None:
    """The SQLSTATE of *error* if it is a hot standby's refusal, else None.

    A refusal comes before the statement changed anything (a standby changes
    nothing): outside a transaction the primary may run it again.
    """
    if not isinstance(error, psycopg.Error) or error.sqlstate is None:
        return None
    sqlstate = error.sqlstate
    if sqlstate == "25006":
        return sqlstate
    sources = _REFUSING_SOURCES.get(sqlstate)
    if sources is None:
        return None
    diag = error.diag
    if diag.source_function in sources or diag.source_file in sources:
        return sqlstate
    text = f"{diag.message_primary or error} {diag.message_hint or ''}"
    return sqlstate if any(words in text for words in _RECOVERY_WORDS) else None
