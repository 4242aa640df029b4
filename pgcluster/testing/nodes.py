"""What a test may do with a cluster's nodes, whoever started them.

`Node` and `ClusterNodes` are the interface that both backends implement: the
process-based `LocalCluster` (servers started from this machine's binaries)
and `ComposeCluster` (containers started by docker compose). A test typed
against them runs unchanged on either; the ``fresh_cluster`` fixture picks the
backend from ``PGCLUSTER_TEST_TARGET`` (``local``, the default, or ``compose``).

`SqlNode` holds the part of a node that only talks SQL to the server (roles,
replication progress, following another primary): a backend adds the
controls (start, stop, kill, pause, promote...).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import psycopg
from psycopg import sql
from psycopg.abc import Params

from ._binaries import HarnessError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ClusterNodes", "Node", "NodeGroup", "SqlNode", "StopMode", "wait_replicated"]

StopMode = Literal["smart", "fast", "immediate"]

SUPERUSER = "postgres"
_POLL = 0.05  # seconds between two checks of a condition
LOG_TAIL = 20  # lines of a server's log that an error message quotes


def tail(text: str, lines: int = LOG_TAIL) -> str:
    """The last *lines* lines of *text*."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


class Node(Protocol):
    """One PostgreSQL server of a test cluster: a primary or a streaming standby.

    Its name is also its ``cluster_name`` setting, and the name it streams under.
    """

    @property
    def name(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def dsn(self) -> str:
        """Keyword connection string for this server, as the superuser."""
        ...

    @property
    def is_running(self) -> bool:
        """Whether the server is up (a paused server is running)."""
        ...

    @property
    def is_paused(self) -> bool: ...

    def start(self, timeout: float = 60.0) -> None:
        """Start the server again and wait until it accepts connections."""
        ...

    def stop(self, mode: StopMode = "fast", timeout: float = 30.0) -> None:
        """Shut the server down in PostgreSQL's *mode* and wait for it."""
        ...

    def kill(self) -> None:
        """SIGKILL every process of the server at once: a crashed machine."""
        ...

    def pause(self) -> None:
        """Freeze the server: a hung machine (connections hang, none fail)."""
        ...

    def resume(self) -> None:
        """Thaw a paused server."""
        ...

    def promote(self, timeout: float = 30.0) -> None:
        """Promote this standby to a primary; return once it accepts writes."""
        ...

    def in_recovery(self) -> bool:
        """Whether the server is a standby (``pg_is_in_recovery()``)."""
        ...

    def follow(self, primary: Self, timeout: float = 30.0) -> None:
        """Make this node stream from *primary* and wait until it receives its timeline."""
        ...

    def wait_streaming(self, standbys: list[str], timeout: float = 30.0) -> None:
        """Wait until ``pg_stat_replication`` shows each named standby streaming."""
        ...

    def current_lsn(self) -> str:
        """The primary's current WAL write position."""
        ...

    def wait_replayed(self, lsn: str, timeout: float = 30.0) -> None:
        """Wait until this standby has replayed WAL up to *lsn*."""
        ...

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """An autocommit connection to this server; *kwargs* go to `psycopg.connect`."""
        ...

    def log_tail(self, lines: int = LOG_TAIL) -> str:
        """The last *lines* lines of the server's log."""
        ...

    def execute(
        self, query: str | sql.SQL | sql.Composed, params: Params | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one statement on a new connection; return its rows ([] if none)."""
        ...


class ClusterNodes(Protocol):
    """A started primary and its replicas, as a test sees them."""

    @property
    def nodes(self) -> Sequence[Node]:
        """The primary, then the replicas."""
        ...

    @property
    def primary(self) -> Node:
        """The node started as primary (after a promotion, not necessarily the primary now)."""
        ...

    @property
    def replicas(self) -> Sequence[Node]:
        """The nodes started as standbys, in order: replica1, replica2, ..."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None:
        """Stop every node and remove everything the cluster created."""
        ...

    def wait_replicated(self, timeout: float = 30.0) -> None:
        """Wait until every running, unpaused standby has replayed the primary's WAL."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def deadline_loop(timeout: float) -> Iterator[None]:
    """Yield until *timeout* seconds have passed, pausing between iterations."""
    deadline = time.monotonic() + timeout
    while True:
        yield
        if time.monotonic() >= deadline:
            return
        time.sleep(_POLL)


class SqlNode:
    """The SQL side of a `Node`: what needs only a connection to the server.

    A backend sets ``name``, ``host`` and ``port``, and defines `_fail` (an error
    that says where the server's log is) and `_restart_as_standby` (how a stopped
    node, or a primary, becomes a standby of another).
    """

    name: str
    host: str
    port: int

    @property
    def dsn(self) -> str:
        """Keyword connection string for this server, as the superuser."""
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname=postgres"

    @property
    def url(self) -> str:
        """The same as `dsn`, as a ``postgresql://`` URL (for ``DATABASE_URL`` and the like)."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/postgres"

    def _fail(self, what: str) -> HarnessError:
        return HarnessError(f"{self.name}: {what}")

    @property
    def is_running(self) -> bool:
        raise NotImplementedError

    @property
    def is_paused(self) -> bool:
        raise NotImplementedError

    def _conninfo_from(self, other: SqlNode) -> str:
        """How this node reaches *other* for streaming replication."""
        return f"host={other.host} port={other.port} user={SUPERUSER}"

    def _restart_as_standby(self, conninfo: str, timeout: float) -> None:
        raise NotImplementedError

    def _exit_reason(self) -> str:
        """What to say when the server stopped running while being waited for."""
        return "the server exited while starting"

    # -- replication -----------------------------------------------------------

    def in_recovery(self) -> bool:
        """Whether the server is a standby (``pg_is_in_recovery()``)."""
        return bool(self.execute("SELECT pg_is_in_recovery()")[0][0])

    def follow(self, primary: Self, timeout: float = 30.0) -> None:
        """Make this node stream from *primary* (after a failover, say) and wait until it does.

        A running standby is re-pointed and reloaded. A stopped node, or a running
        primary (which is stopped first), is started again as a standby of
        *primary*; that only works if its WAL has not diverged (no pg_rewind here).
        """
        conninfo = self._conninfo_from(primary)
        if self.is_running and self.in_recovery():
            query = sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(conninfo))
            self.execute(query)
            self.execute("SELECT pg_reload_conf()")
        else:
            self._restart_as_standby(conninfo, timeout)
        primary.wait_streaming([self.name], timeout)
        # A standby whose WAL forked off before the new timeline connects, streams
        # for a moment, then gives up ("forked off ... before current recovery
        # point"): only receiving the new timeline proves it follows.
        wanted = primary.execute(
            "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"
        )[0][0]
        received = "SELECT received_tli FROM pg_stat_wal_receiver WHERE status = 'streaming'"
        for _ in deadline_loop(timeout):
            rows = self.execute(received)
            if rows and rows[0][0] == wanted:
                return
        raise self._fail(
            f"did not follow {primary.name} onto timeline {wanted}"
            f" (its WAL may have forked off earlier: that needs pg_rewind)"
        )

    def wait_streaming(self, standbys: list[str], timeout: float = 30.0) -> None:
        """Wait until this server's ``pg_stat_replication`` shows each named standby streaming."""
        query = "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'"
        missing = set(standbys)
        for _ in deadline_loop(timeout):
            with contextlib.suppress(psycopg.OperationalError):
                missing = set(standbys) - {row[0] for row in self.execute(query)}
            if not missing:
                return
        raise self._fail(
            f"standby {', '.join(sorted(missing))} not streaming from it after {timeout:g}s"
        )

    def current_lsn(self) -> str:
        """The primary's current WAL write position (``pg_current_wal_lsn()``)."""
        return str(self.execute("SELECT pg_current_wal_lsn()::text")[0][0])

    def wait_replayed(self, lsn: str, timeout: float = 30.0) -> None:
        """Wait until this standby has replayed WAL up to *lsn*."""
        query = "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)"
        for _ in deadline_loop(timeout):
            with contextlib.suppress(psycopg.OperationalError):
                if self.execute(query, (lsn,))[0][0]:
                    return
        raise self._fail(f"has not replayed up to {lsn} after {timeout:g}s")

    def wait_accepting(self, timeout: float, *, alive: bool = True) -> None:
        """Wait until the server accepts connections; fail at once if it stops running."""
        last_error = ""
        for _ in deadline_loop(timeout):
            if alive and not self.is_running:
                raise self._fail(self._exit_reason())
            try:
                with psycopg.connect(self.dsn, connect_timeout=2):
                    return
            except psycopg.OperationalError as ex:
                last_error = str(ex).strip()
        raise self._fail(f"not accepting connections after {timeout:g}s (last error: {last_error})")

    # -- conveniences for tests -----------------------------------------------

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """Open an autocommit connection to this server; *kwargs* go to `psycopg.connect`."""
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("connect_timeout", 10)
        return psycopg.connect(self.dsn, **kwargs)

    def execute(
        self, query: str | sql.SQL | sql.Composed, params: Params | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one statement on a new connection; return its rows ([] if none)."""
        with self.connect() as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description is not None else []


def wait_replicated(nodes: Sequence[SqlNode], primary: SqlNode, timeout: float) -> None:
    """Wait until every running standby of *nodes* has replayed *primary*'s current WAL position.

    Paused nodes and nodes that are not standbys are skipped.
    """
    lsn = primary.current_lsn()
    deadline = time.monotonic() + timeout
    for node in nodes:
        if node is primary or not node.is_running or node.is_paused:
            continue
        if node.in_recovery():
            node.wait_replayed(lsn, max(0.0, deadline - time.monotonic()))


NodeT = TypeVar("NodeT", bound=SqlNode)


class NodeGroup(Generic[NodeT]):
    """What every backend's cluster shares: its nodes (primary first), ``with``, and
    waiting for replication. A backend creates the nodes in `start` and ends them in `stop`."""

    _nodes: list[NodeT]  # primary first; kept after stop for inspection

    @property
    def nodes(self) -> list[NodeT]:
        """The primary, then the replicas."""
        return list(self._nodes)

    @property
    def primary(self) -> NodeT:
        """The node started as primary (after a promotion, not necessarily the primary now)."""
        if not self._nodes:
            raise HarnessError(f"the {type(self).__name__} is not started")
        return self._nodes[0]

    @property
    def replicas(self) -> list[NodeT]:
        """The nodes started as standbys, in order: replica1, replica2, ..."""
        return self._nodes[1:]

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_replicated(self, timeout: float = 30.0, *, primary: NodeT | None = None) -> None:
        """Wait until every running standby has replayed the primary's current WAL position.

        *primary* defaults to the node started as primary; pass the promoted one
        after a failover. Paused nodes and nodes that are not standbys are skipped.
        """
        wait_replicated(self.nodes, primary or self.primary, timeout)
