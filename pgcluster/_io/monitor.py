"""The health monitor: probes every node and reports what it saw to `ClusterHealth`.

One asyncio implementation serves both shells: `AsyncCluster` runs it as a
task on its own loop (`TaskRunner`), `Cluster` on a loop in a daemon thread
(`ThreadRunner`). asyncio is what lets every probe have a deadline: a
blocking psycopg call to a paused (SIGSTOPped) server would hang for ever.

Each node has its own probe loop, and each probe is reported as it completes:
a hung node costs its own loop ``probe_timeout``, never the others' news (a
promotion elsewhere is seen within one interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg

from .._core.health import (
    Change,
    ChangeKind,
    ClusterHealth,
)
from .._core.positions import parse_lsn

logger = logging.getLogger("pgcluster")

T = TypeVar("T")

# One round trip: role, WAL position, *current* timeline (NULL: unknown, a replica
# whose WAL receiver is down; see _core/health.py's notes) and the cluster's identity.
PROBE_SQL = """\
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
            ELSE pg_current_wal_lsn() END::text,
       CASE WHEN pg_is_in_recovery()
            THEN (SELECT received_tli FROM pg_stat_wal_receiver)
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
       END,
       (pg_control_system()).system_identifier::text
"""

# Changes after which every node is probed at once: the roles moved.
_ROLE_CHANGES = frozenset({ChangeKind.PROMOTED, ChangeKind.DEMOTED, ChangeKind.FENCED})


@dataclass(frozen=True)
class Probe:
    """What one probe saw."""

    in_recovery: bool
    lsn: int
    timeline: int | None
    system_identifier: int


async def probe(conninfo: str, timeout: float, connect_kwargs: Mapping[str, Any]) -> Probe:
    """Connect to one node and read its role, WAL position and timeline, within *timeout*."""

    async def ask() -> Probe:
        async with await psycopg.AsyncConnection.connect(
            conninfo, autocommit=True, **connect_kwargs
        ) as conn:
            cur = await conn.execute(PROBE_SQL)
            row = await cur.fetchone()
        assert row is not None
        in_recovery, lsn, timeline, identity = row
        # A standby that has replayed nothing yet reports no position.
        return Probe(
            bool(in_recovery),
            parse_lsn(lsn) if lsn else 0,
            None if timeline is None else int(timeline),
            int(identity),
        )

    return await asyncio.wait_for(ask(), timeout)


class Monitor:
    """Probes each node every *interval* seconds and feeds `ClusterHealth`.

    *on_changes* receives the role changes and ejections each report caused
    (the cluster logs them and calls the user's hook). The health object is
    shared with the statement path, under *lock*.
    """

    def __init__(
        self,
        nodes: Mapping[str, str],
        *,
        interval: float,
        timeout: float,
        connect_kwargs: Mapping[str, Any],
        lock: threading.Lock,
        on_changes: Callable[[list[Change]], None],
    ) -> None:
        self._nodes = dict(nodes)
        self._interval = interval
        self._timeout = timeout
        self._connect_kwargs = {"connect_timeout": max(2, round(timeout)), **connect_kwargs}
        self._lock = lock
        self._on_changes = on_changes
        self.health: ClusterHealth | None = None  # set once the roles are known
        self._wake: dict[str, asyncio.Event] = {}  # per node loop: probe now
        self._stopping = False

    async def probe_all(self) -> dict[str, Probe | Exception]:
        """Probe every node at once (at open); a failure is returned, not raised."""
        names = list(self._nodes)
        results = await asyncio.gather(
            *(probe(self._nodes[name], self._timeout, self._connect_kwargs) for name in names),
            return_exceptions=True,
        )
        out: dict[str, Probe | Exception] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancellation: the monitor is stopping
            out[name] = result
        return out

    def report(self, results: Mapping[str, Probe | Exception], now: float) -> None:
        """Tell the health object what probes saw (the primary first: lag is measured
        against its position)."""
        assert self.health is not None
        changes: list[Change] = []
        with self._lock:
            primary = self.health.primary()
            for name in sorted(results, key=lambda n: n != primary):
                result = results[name]
                if isinstance(result, Probe):
                    changes += self.health.probe_succeeded(
                        name,
                        now,
                        in_recovery=result.in_recovery,
                        lsn=result.lsn,
                        timeline=result.timeline,
                        system_identifier=result.system_identifier,
                    )
                else:
                    changes += self.health.probe_failed(name, now, describe_error(result))
        if any(change.kind in _ROLE_CHANGES for change in changes):
            for event in self._wake.values():
                event.set()
        if changes:
            self._on_changes(changes)

    async def run(self) -> None:
        """Probe each node in its own loop, every interval, until `stop()` (or cancelled)."""
        self._wake = {name: asyncio.Event() for name in self._nodes}
        await asyncio.gather(*(self._watch(name) for name in self._nodes))

    async def stop(self) -> None:
        """End every loop after its current probe. Called before the task is cancelled:
        asyncio.wait_for() before Python 3.12 may swallow a cancellation that arrives as
        its awaitable completes, and a loop that missed it would never end."""
        self._stopping = True
        for event in self._wake.values():
            event.set()

    async def _watch(self, name: str) -> None:
        """One node's loop: wait an interval (or a wake-up), probe if due, report."""
        assert self.health is not None
        wake = self._wake[name]
        loop = asyncio.get_running_loop()
        while not self._stopping:
            # An interval, or a wake-up: not wait_for() (see stop()).
            timer = loop.call_later(self._interval, wake.set)
            try:
                await wake.wait()
            finally:
                timer.cancel()
            wake.clear()
            if self._stopping:
                return
            with self._lock:
                due = self.health.probe_due(name, time.monotonic())
            if not due:
                continue
            try:
                result: Probe | Exception = await probe(
                    self._nodes[name], self._timeout, self._connect_kwargs
                )
            except Exception as ex:  # a failure is news about the node
                result = ex
            try:
                self.report({name: result}, time.monotonic())
            except Exception:  # never let one bad report kill the monitor
                logger.exception("health monitor: reporting %s failed", name)


def describe_error(error: BaseException) -> str:
    """A one-line description of a probe failure (libpq's messages name no password)."""
    if isinstance(error, asyncio.TimeoutError):
        return "probe timed out"
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"


def log_change(change: Change) -> None:
    """Fencing means two primaries, a rejected node another cluster's: an ERROR. Other role
    changes: a WARNING; re-admission: INFO."""
    if change.kind in (ChangeKind.FENCED, ChangeKind.REJECTED):
        logger.error("%s", change)
    elif change.kind is ChangeKind.ADMITTED:
        logger.info("%s", change)
    else:
        logger.warning("%s", change)


class TaskRunner:
    """Runs the monitor as a task on the caller's event loop (for `AsyncCluster`)."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await coro

    def start(self, coro: Coroutine[Any, Any, None]) -> None:
        self._task = asyncio.get_running_loop().create_task(coro, name="pgcluster-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class ThreadRunner:
    """Runs the monitor on an event loop in a daemon thread (for the sync `Cluster`)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="pgcluster-monitor", daemon=True
        )
        self._thread.start()
        self._task: asyncio.Task[None] | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run *coro* on the monitor's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def start(self, coro: Coroutine[Any, Any, None]) -> None:
        async def create() -> asyncio.Task[None]:
            return asyncio.get_running_loop().create_task(coro, name="pgcluster-monitor")

        self._task = self.run(create())

    def stop(self) -> None:
        async def cancel(task: asyncio.Task[None] | None) -> None:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        if self._loop.is_closed():
            return
        self.run(cancel(self._task))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
