"""Which failures mean "this node is unavailable", and what that allows. Pure, no I/O.

A server that answers with an error has decided (a constraint, a syntax
error): another node would answer the same. A connection that cannot be had
or is lost says nothing about the statement, only about the node: a read
may go elsewhere, and a write's fate depends on whether it was sent.
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
