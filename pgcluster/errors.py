"""The errors pgcluster raises.

Every class derives from `psycopg.Error`, so code that already does
``except psycopg.Error`` (or ``except psycopg.OperationalError`` around
availability problems) keeps working when a `Pool` replaces a psycopg_pool
pool or a `Cluster` replaces a `Pool`.

- misuse of the API or bad input: `ProgrammingError` subclasses;
- a server or a connection that cannot be had: `OperationalError`
  subclasses (the ones a retry or a failover may cure).

No message built here contains a password: connection strings are always
shown through `pgcluster._core.conninfo.redact`.
"""

from __future__ import annotations

import psycopg
import psycopg.errors
import psycopg_pool

__all__ = [
    "ConfigurationError",
    "Error",
    "InvalidQueryError",
    "LoopMismatchError",
    "NoPrimaryError",
    "PoolClosedError",
    "PoolTimeoutError",
    "ReplicaWriteError",
    "RoleMismatchError",
    "SessionClosedError",
    "SessionStatementError",
    "UnavailableError",
    "WriteOutcomeUnknown",
]


class Error(psycopg.Error):
    """Base class of every error raised by pgcluster itself."""


class ConfigurationError(Error, psycopg.ProgrammingError):
    """The pool or cluster was configured wrongly (missing or malformed DSN, bad option)."""


class InvalidQueryError(Error, psycopg.ProgrammingError, TypeError):
    """The statement given is not something that can be sent (None, bytes, empty, ...).

    Also a `TypeError`, because most of these are values of the wrong type.
    """


class UnavailableError(Error, psycopg.OperationalError):
    """A server or a connection could not be had: the errors a retry may cure."""


class PoolClosedError(UnavailableError, psycopg_pool.PoolClosed):
    """The pool was used after `close()`."""


class PoolTimeoutError(UnavailableError, psycopg_pool.PoolTimeout):
    """No connection could be had within the pool's timeout."""


class SessionStatementError(Error, psycopg.ProgrammingError):
    """A statement was sent where its effect on the connection's session would do harm.

    - Through the pool-level `query()` or `stream()`, a statement that changes
      session state: on a pooled connection its effect (a SET, a LISTEN, a
      temporary table, an open transaction) would leak to whoever gets the
      connection next. Run it inside ``task()`` or ``tx()``, or in the pool's
      ``configure=`` callback.
    - Inside ``task()`` or ``tx()``, transaction control (BEGIN, COMMIT,
      ROLLBACK, SAVEPOINT, ...): it would end or start a transaction behind the
      block's back, so that a block that then raises leaves committed writes.
      Use ``tx()`` (nested inside a ``tx()``, it is a savepoint) and let the
      block commit or roll back.
    """


class SessionClosedError(Error, psycopg.InterfaceError):
    """A `Session` was used after its ``task()`` or ``tx()`` block ended.

    Its connection went back to the pool and may be running someone else's
    statements or transaction by now: the session refuses every call instead.
    """


class RoleMismatchError(ConfigurationError):
    """A node belongs to another database cluster: its ``system_identifier`` differs.

    Raised at open (the message names both identifiers). Configured roles are
    only hints: a ``primary=`` that is a replica now (after a failover) is not
    an error.
    """


class ReplicaWriteError(Error, psycopg.errors.ReadOnlySqlTransaction):
    """A statement inside ``task(target="replica")`` or a replica tx tried to write.

    Also a `psycopg.errors.ReadOnlySqlTransaction` (SQLSTATE 25006), which is
    what the replica answered.
    """


class WriteOutcomeUnknown(UnavailableError):
    """The connection broke after a write was sent: it may or may not have been applied.

    Never retried automatically (it could be applied twice). Check the data,
    or make the write idempotent, before running it again.
    """


class NoPrimaryError(UnavailableError):
    """No usable primary appeared within ``failover_timeout``; the message says what was seen."""


class LoopMismatchError(Error, psycopg.InterfaceError):
    """An `AsyncCluster` was used in another event loop than the one it was opened in.

    Its pools and health monitor are tasks of that first loop. Open one cluster
    per event loop (per ``asyncio.run()``), and close it before its loop ends.
    """
