"""The cluster's health: which node takes writes, which serve reads. Pure, no I/O.

The shells report what happened, with the time it happened (``now``:
monotonic seconds), and ask what to do. Nothing here connects, sleeps or
reads a clock, so every rule is tested by feeding it events and numbers.

How a shell uses `ClusterHealth`:

- build one at open, after `assign_roles`, with the node names and the primary;
- every ``health_interval``, probe each node whose `probe_due` is true, the
  primary first (lag is measured against the primary's position as of each
  replica's probe), and report `probe_succeeded` or `probe_failed`;
- report `statement_failed` when a statement fails for an availability reason
  (connection refused or lost, 57P01, 57P03, pool timeout);
- every report returns the `Change` list it caused: log them (a `FENCED` one at
  ERROR), pass them to the user's hook; `stats()` counts them;
- send writes to `primary()`: None means there is no usable primary (wait up to
  ``failover_timeout`` for one, then raise ``NoPrimaryError(describe(now))``);
- send reads where `read_plan()` says.

What a probe must report: ``pg_is_in_recovery()``; the WAL position
(``pg_current_wal_lsn()`` on a primary, ``pg_last_wal_replay_lsn()`` on a
replica, parsed by `parse_lsn`); the node's *current* timeline; and its
``system_identifier`` (``pg_control_system()``), which every node of one
cluster shares. On a primary the timeline is the first 8 hex digits of
``pg_walfile_name(pg_current_wal_lsn())`` (``pg_control_checkpoint()`` still
shows the old timeline until the first checkpoint after a promotion); on a
replica ``received_tli`` from ``pg_stat_wal_receiver``, or None (unknown) when
its WAL receiver is down: the checkpoint's timeline is then one or more
failovers behind, and would make every replica look off timeline exactly
while the primary is gone. A node's timeline never goes back: an unknown one
keeps the last known.

The class is not thread-safe: the shell holds a lock around it (the sync
shell) or uses it from one event loop (the async shell).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

from ..errors import ConfigurationError
from .lag import (
    Lag,
    LagLimit,
    WalHistory,
)
from .node_health import (
    DOWN,
    PROBE_FAILED,
    PROBE_OK,
    STATEMENT_FAILED,
    UP,
    Backoff,
    NodeHealth,
    Signal,
    advance,
)
from .positions import (
    Position,
    _check_lsn,
    _check_timeline,
)

# -- the cluster: who takes writes, who serves reads ----------------------------


@dataclass(frozen=True)
class Observation:
    """What a successful probe saw."""

    in_recovery: bool
    lsn: int  # pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a replica
    timeline: int | None  # None: never known (a replica whose WAL receiver was down)
    at: float


class Status(Enum):
    """What the cluster does with a node now: derived from its health and what it reports."""

    PRIMARY = "primary"  # takes writes
    REPLICA = "replica"  # in the read rotation
    LAGGING = "lagging"  # a healthy replica further behind than max_replica_lag
    OFF_TIMELINE = "off timeline"  # a replica not (yet) following the primary's timeline
    UNAVAILABLE = "unavailable"  # failing (SUSPECT or DOWN)
    FENCED = "fenced"  # claims to be a primary but is not the one: never written to or read from
    FOREIGN = "foreign"  # a node of another cluster (system_identifier): never used
    UNPROBED = "unprobed"  # a replica no probe has answered yet


class ChangeKind(Enum):
    """What a `Change` means to the application (the hook's and the stats' words)."""

    PROMOTED = "promoted"  # became the primary: writes go there now
    DEMOTED = "demoted"  # the primary was seen in recovery: a replica now
    FENCED = "fenced"
    REJECTED = "rejected"  # belongs to another cluster: never used
    EJECTED = "ejected"  # left the rotation (or the primary failed)
    ADMITTED = "admitted"  # (re-)entered the rotation (or the primary came back)


@dataclass(frozen=True)
class Change:
    """A node whose status changed, returned by the report that changed it."""

    kind: ChangeKind
    node: str
    before: Status
    after: Status
    reason: str

    def __str__(self) -> str:
        return f"{self.node} {self.kind.value} ({self.before.value} -> {self.after.value}): {self.reason}"


@dataclass(frozen=True)
class ReadPlan:
    """Where a read may go.

    *replicas*: the usable ones, for the balancer (empty: none). *primary*: the
    primary when reads may go there, the first choice when *replicas* is empty,
    else the last resort of a retry; None when reads may not go there (or there
    is no primary). *reason*: why the primary, when *replicas* is empty.
    """

    replicas: tuple[str, ...]
    primary: str | None
    reason: str = ""

    @property
    def on_primary(self) -> bool:
        """The read falls back to the primary (the shell counts these)."""
        return not self.replicas and self.primary is not None


@dataclass(frozen=True)
class NodeView:
    """What `ClusterHealth.view` shows of one node."""

    health: NodeHealth
    seen: Observation | None  # the last successful probe
    identity: int | None  # its system_identifier, once a probe said
    error: str  # the latest failure ("" if none)


@dataclass
class _Node:
    name: str
    health: NodeHealth = field(default_factory=NodeHealth)
    seen: Observation | None = None  # the last successful probe
    answering: bool = False  # the latest news of it is a successful probe
    error: str = ""  # the latest failure
    error_at: float = 0.0
    identity: int | None = None  # its system_identifier, once a probe said


class ClusterHealth:
    """Every node's health and role: which node takes writes, which serve reads.

    The write target (the *seat*) starts at the configured *primary*. It moves
    when another node reports it is no longer in recovery on a newer timeline
    (it was promoted), or on the same timeline while the seat is DOWN or in
    recovery; the highest timeline wins. Any other node that claims to be a
    primary is fenced: writing there would fork the data. Nor does the seat
    take writes while any node has been seen on a newer timeline than its own:
    someone else was promoted, even if no probe of the new primary answered yet.

    *system_identifier* is the cluster's (None: the first one a probe reports);
    a node reporting another is of another cluster, and never used.
    """

    def __init__(
        self,
        nodes: Sequence[str],
        primary: str,
        *,
        max_replica_lag: LagLimit | None = None,
        fallback_to_primary: bool = True,
        backoff: Backoff | None = None,
        system_identifier: int | None = None,
    ) -> None:
        names = list(nodes)
        if len(set(names)) != len(names):
            raise ConfigurationError(f"node names must be unique: {names}")
        if primary not in names:
            raise ConfigurationError(f"the primary {primary!r} is not one of the nodes {names}")
        self._nodes = {name: _Node(name) for name in names}
        self._seat = primary
        self._timeline: int | None = None  # the seat's, once seen; only grows
        self._newest: int = 0  # the newest timeline any node was seen on
        self._identity = system_identifier
        self._wal = WalHistory()
        self._max_lag = max_replica_lag
        self._fallback = fallback_to_primary
        self._backoff = backoff or Backoff()
        self._counts: Counter[ChangeKind] = Counter()
        self._status = {name: self._classify(node) for name, node in self._nodes.items()}
        self._plan = self._plan_for(None, None)

    # -- what the shells report ---------------------------------------------

    def probe_succeeded(
        self,
        name: str,
        now: float,
        *,
        in_recovery: bool,
        lsn: int,
        timeline: int | None,
        system_identifier: int | None = None,
    ) -> list[Change]:
        """A probe of *name* answered: its role, WAL position, timeline (None:
        unknown) and system identifier (None: not asked)."""
        _check_lsn(lsn)
        if timeline is not None:
            _check_timeline(timeline)
        elif not in_recovery:
            raise ValueError("a primary always knows its timeline")
        node = self._nodes[name]
        if system_identifier is not None:
            if self._identity is None:
                self._identity = system_identifier
            node.identity = system_identifier
        # Never back: an unknown timeline keeps the last known one.
        known = node.seen.timeline if node.seen is not None else None
        if timeline is not None and (known is None or timeline > known):
            known = timeline
        if not self._foreign(node):
            self._newest = max(self._newest, known or 0)
        # A node answering as the primary, or as its successor, skips its backoff:
        # writes have nowhere else to go (an old primary is fenced anyway).
        may_write = not in_recovery and (
            name == self._seat or self._timeline is None or (known or 0) >= self._timeline
        )
        node.health = advance(node.health, PROBE_OK, now, self._backoff, skip_backoff=may_write)
        node.seen = Observation(in_recovery, lsn, known, now)
        node.answering = True
        return self._settle(now)

    def probe_failed(self, name: str, now: float, reason: str) -> list[Change]:
        """A probe of *name* failed (refused, timed out, ...); *reason* shows in stats."""
        return self._failed(name, now, PROBE_FAILED, reason)

    def statement_failed(self, name: str, now: float, reason: str) -> list[Change]:
        """A statement on *name* failed for an availability reason."""
        return self._failed(name, now, STATEMENT_FAILED, reason)

    # -- what the shells ask --------------------------------------------------

    def primary(self) -> str | None:
        """The node that takes writes; None when there is no usable one."""
        return self._seat if self._seat_usable() else None

    @property
    def timeline(self) -> int | None:
        """The primary's timeline, once a probe has seen it (for read-your-writes tokens)."""
        return self._timeline

    def status(self, name: str) -> Status:
        return self._status[name][0]

    def is_down(self, name: str) -> bool:
        """Whether a probe of *name* failed and none has passed since its backoff."""
        return self._nodes[name].health.state is DOWN

    def fenced(self) -> list[str]:
        return self._with_status(Status.FENCED)

    @property
    def system_identifier(self) -> int | None:
        """The cluster's system identifier, once known."""
        return self._identity

    def readable_replicas(
        self, min_lsn: int | None = None, *, timeline: int | None = None
    ) -> list[str]:
        """The replicas a read may use now, in configuration order.

        With *min_lsn* (read-your-writes), only those known to have replayed at
        least that far, on *timeline* if given: a position on another timeline
        says nothing about what a replica holds.
        """
        usable = []
        for name in self._with_status(Status.REPLICA):
            seen = self._nodes[name].seen
            if min_lsn is not None and (
                seen is None
                or seen.lsn < min_lsn
                or (timeline is not None and seen.timeline != timeline)
            ):
                continue
            usable.append(name)
        return usable

    def read_plan(self, min_lsn: int | None = None, *, timeline: int | None = None) -> ReadPlan:
        """Where a read goes: the usable replicas (caught up to *min_lsn* if given), or
        the primary.

        A read that must see *min_lsn* goes to the primary when replicas are
        usable but none has caught up, whatever ``fallback_to_primary`` says.
        """
        if min_lsn is None:
            # Every read asks this: it changes only with a report, so _settle() keeps it.
            return self._plan
        return self._plan_for(min_lsn, timeline)

    def _plan_for(self, min_lsn: int | None, timeline: int | None) -> ReadPlan:
        usable = self.readable_replicas()
        fallback = self.primary() if self._fallback else None
        if min_lsn is None:
            if usable:
                return ReadPlan(tuple(usable), fallback)
        else:
            caught_up = self.readable_replicas(min_lsn, timeline=timeline)
            if caught_up:
                return ReadPlan(tuple(caught_up), fallback)
            if usable:
                where = Position(min_lsn, timeline)
                return ReadPlan((), self.primary(), f"no replica has replayed {where} yet")
        if fallback is None:
            off = "" if self._fallback else " and fallback_to_primary is off"
            return ReadPlan((), None, f"no usable replica{off}")
        return ReadPlan((), fallback, "no usable replica")

    def lag(self, name: str) -> Lag | None:
        """How far *name* was behind the primary at its last probe (None: unknown)."""
        seen = self._nodes[name].seen
        if seen is None or not seen.in_recovery:
            return None
        return self._wal.lag(seen.lsn, seen.at)

    def probe_due(self, name: str, now: float) -> bool:
        """Whether to probe *name* this round: a DOWN node waits out its backoff, except
        the primary, and anyone while there is no primary (the successor may be any)."""
        health = self._nodes[name].health
        return (
            health.state is not DOWN
            or now >= health.retry_at
            or name == self._seat
            or not self._seat_usable()
        )

    @property
    def nodes(self) -> list[str]:
        """Every node's name, in configuration order."""
        return list(self._nodes)

    def status_of(self, name: str) -> tuple[Status, str]:
        """*name*'s status and why (`report` formats them)."""
        return self._status[name]

    def view(self, name: str) -> NodeView:
        """What is known of *name*: its health, its last good probe, its last error."""
        node = self._nodes[name]
        return NodeView(node.health, node.seen, node.identity, node.error)

    def counts(self) -> dict[ChangeKind, int]:
        """The changes so far, by kind (every kind, 0 included)."""
        return {kind: self._counts[kind] for kind in ChangeKind}

    # -- internals --------------------------------------------------------------

    def _failed(self, name: str, now: float, signal: Signal, reason: str) -> list[Change]:
        node = self._nodes[name]
        node.health = advance(node.health, signal, now, self._backoff)
        node.answering = False
        node.error, node.error_at = reason[:200], now
        return self._settle(now)

    def _foreign(self, node: _Node) -> bool:
        return node.identity is not None and node.identity != self._identity

    def _seat_usable(self) -> bool:
        seat = self._nodes[self._seat]
        seen = seat.seen
        if seen is None:
            return seat.health.state is not DOWN
        return (
            seat.health.state is not DOWN
            and not seen.in_recovery
            and not self._foreign(seat)
            # Someone was seen on a newer timeline: the seat was superseded.
            and (seen.timeline or 0) >= self._newest
        )

    def _elect(self) -> None:
        """Move the seat to a promoted node, if one qualifies (highest timeline first)."""
        seat_usable = self._seat_usable()
        candidates: list[tuple[int, str]] = []
        for node in self._nodes.values():
            seen = node.seen
            if (
                node.name == self._seat
                or not node.answering
                or node.health.state is not UP
                or seen is None
                or seen.in_recovery
                or seen.timeline is None
                or seen.timeline < self._newest
                or self._foreign(node)
            ):
                continue
            if self._timeline is None:
                newer = not seat_usable
            else:
                # A promotion starts a new timeline, but a freshly promoted node may
                # still report the old one: a claim on the seat's own timeline counts
                # once the seat is gone.
                newer = seen.timeline > self._timeline or (
                    seen.timeline == self._timeline and not seat_usable
                )
            if newer:
                candidates.append((seen.timeline, node.name))
        if candidates:
            # max() keeps the first of equals: configuration order breaks ties.
            timeline, self._seat = max(candidates, key=lambda c: c[0])
            self._timeline = timeline

    def _settle(self, now: float) -> list[Change]:
        """After any report: elect, follow the primary's WAL, and say what changed."""
        old_seat, had_primary = self._seat, self._status[self._seat][0] is Status.PRIMARY
        self._elect()
        if self._seat != old_seat:
            self._wal.reset()  # positions of the old primary's history mean nothing now
        seat = self._nodes[self._seat]
        if seat.answering and seat.seen is not None and not seat.seen.in_recovery:
            self._timeline = max(self._timeline or 0, seat.seen.timeline or 0)
            self._wal.note(seat.seen.lsn, seat.seen.at)
        if self._seat != old_seat or had_primary != self._seat_usable():
            # The roles moved: a node serving its backoff may be the one that now
            # follows the new primary (or the next to be promoted). Probe it now.
            for node in self._nodes.values():
                if node.health.state is DOWN and node.health.retry_at > now:
                    node.health = replace(node.health, retry_at=now)

        changes = []
        for name, node in self._nodes.items():
            before, after = self._status[name][0], self._classify(node)
            self._status[name] = after
            # Promoted: the seat moved here, or its holder was a replica until now (no
            # primary answered at open, then the seat's own node was promoted).
            promoted = name == self._seat and (name != old_seat or before in _STANDBY)
            kind = _kind(before, after[0], promoted=promoted)
            if kind is not None:
                changes.append(Change(kind, name, before, after[0], after[1]))
                self._counts[kind] += 1
        self._plan = self._plan_for(None, None)
        return changes

    def _classify(self, node: _Node) -> tuple[Status, str]:
        """The node's status, and why."""
        seen = node.seen
        if self._foreign(node):
            return Status.FOREIGN, (
                f"system_identifier {node.identity}, not this cluster's {self._identity}:"
                " a node of another cluster, never used"
            )
        if node.name == self._seat and self._seat_usable():
            return Status.PRIMARY, "takes writes"
        if seen is not None and not seen.in_recovery and node.answering:
            return Status.FENCED, (
                f"claims to be a primary on timeline {seen.timeline}, but {self._seat}"
                f" is the primary (timeline {self._timeline or '?'}): never written to or read from"
            )
        if node.health.state is not UP:
            return Status.UNAVAILABLE, node.error or node.health.state.value
        if seen is None:
            return Status.UNPROBED, "no probe has answered yet"
        # Here the node is a replica: an UP node that claimed to be a primary was fenced above.
        # Behind the primary's timeline, it cannot follow it; ahead of it, it follows a
        # newer primary (the seat is stale): it serves reads.
        if (
            self._timeline is not None
            and seen.timeline is not None
            and seen.timeline < self._timeline
        ):
            return Status.OFF_TIMELINE, (
                f"replays timeline {seen.timeline}, the primary is on {self._timeline}"
            )
        if self._max_lag is not None:
            lag = self._wal.lag(seen.lsn, seen.at)
            if lag is None:
                return Status.LAGGING, "lag unknown: no position of the primary seen yet"
            if self._max_lag.exceeded_by(lag):
                return Status.LAGGING, (
                    f"{lag.seconds:.1f} s / {lag.bytes} bytes behind (limit {self._max_lag})"
                )
        return Status.REPLICA, "in the read rotation"

    def _with_status(self, status: Status) -> list[str]:
        return [name for name, (s, _) in self._status.items() if s is status]


_STANDBY = frozenset({Status.REPLICA, Status.LAGGING, Status.OFF_TIMELINE})


def _kind(before: Status, after: Status, *, promoted: bool) -> ChangeKind | None:
    """What a status change means; None for a move between two out-of-service states."""
    if before is after:
        return None
    if after is Status.FENCED:
        return ChangeKind.FENCED
    if after is Status.FOREIGN:
        return ChangeKind.REJECTED
    if after is Status.PRIMARY:
        return ChangeKind.PROMOTED if promoted else ChangeKind.ADMITTED
    if before is Status.PRIMARY:
        return ChangeKind.EJECTED if after is Status.UNAVAILABLE else ChangeKind.DEMOTED
    if after is Status.REPLICA:
        return ChangeKind.ADMITTED
    if before is Status.REPLICA or before is Status.UNPROBED:
        return ChangeKind.EJECTED  # (never admitted, for UNPROBED)
    return None
