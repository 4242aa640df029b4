"""Node health, failover, fencing, replica lag and read-your-writes tokens. Pure, no I/O.

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

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum
from typing import Any

from .errors import ConfigurationError

# -- WAL positions ------------------------------------------------------------

MAX_LSN = 2**64 - 1
MAX_TIMELINE = 2**32 - 1  # PostgreSQL's TimeLineID is a uint32; timelines start at 1

# What the server's pg_lsn input accepts: 1 to 8 hex digits, a slash, 1 to 8 hex digits.
_LSN_TEXT = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


def parse_lsn(text: str) -> int:
    """PostgreSQL's text form of a WAL position (``16/B374D848``) as a byte offset."""
    match = _LSN_TEXT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a WAL position such as '16/B374D848': {_preview(text)}")
    return int(match[1], 16) << 32 | int(match[2], 16)


def format_lsn(lsn: int) -> str:
    """A byte offset in PostgreSQL's text form, as the server prints it (``16/B374D848``)."""
    _check_lsn(lsn)
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def _check_lsn(lsn: int) -> None:
    if isinstance(lsn, bool) or not isinstance(lsn, int) or not 0 <= lsn <= MAX_LSN:
        raise ValueError(f"a WAL position is an int from 0 to 2**64 - 1, not {lsn!r}")


def _check_timeline(timeline: int) -> None:
    if isinstance(timeline, bool) or not isinstance(timeline, int):
        raise ValueError(f"a timeline is an int, not {timeline!r}")
    if not 1 <= timeline <= MAX_TIMELINE:
        raise ValueError(f"a timeline is from 1 to 2**32 - 1, not {timeline!r}")


# -- read-your-writes tokens ----------------------------------------------------
#
# "1.<lsn hex>[.<timeline hex>]": short, cookie- and URL-safe, one spelling per
# value (lowercase, no leading zeros). Tokens come back from browsers, so
# decoding trusts nothing: a forged token can only send its bearer's reads to
# the primary or to a replica older than it asked for.

TOKEN_VERSION = 1
_TOKEN = re.compile(r"1\.(0|[1-9a-f][0-9a-f]{0,15})(?:\.([1-9a-f][0-9a-f]{0,7}))?")
_TOKEN_MAX_LENGTH = 2 + 16 + 1 + 8


@dataclass(frozen=True)
class Position:
    """A WAL position a read must see: the LSN, and the timeline it belongs to if known."""

    lsn: int
    timeline: int | None = None

    def __str__(self) -> str:
        where = "" if self.timeline is None else f" on timeline {self.timeline}"
        return f"{format_lsn(self.lsn)}{where}"


def encode_token(lsn: int, timeline: int | None = None) -> str:
    """A read-your-writes token for *lsn* (on *timeline*), to restore with `decode_token`."""
    _check_lsn(lsn)
    if timeline is None:
        return f"{TOKEN_VERSION}.{lsn:x}"
    _check_timeline(timeline)
    return f"{TOKEN_VERSION}.{lsn:x}.{timeline:x}"


def decode_token(token: str) -> Position:
    """The position a token from `encode_token` holds; `ConfigurationError` if malformed."""
    if not isinstance(token, str) or not token:
        raise ConfigurationError(
            f"a consistency token is a non-empty string, not {_preview(token)}"
        )
    if len(token) > _TOKEN_MAX_LENGTH:  # before any parsing: untrusted input may be huge
        raise ConfigurationError(
            f"malformed consistency token ({len(token)} characters, at most"
            f" {_TOKEN_MAX_LENGTH}): {_preview(token)}"
        )
    version = token.partition(".")[0]
    if version != str(TOKEN_VERSION) and re.fullmatch("[0-9]+", version):
        raise ConfigurationError(
            f"consistency token version {version} is not supported (this pgcluster reads"
            f" version {TOKEN_VERSION}): {_preview(token)}"
        )
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise ConfigurationError(
            f"malformed consistency token (expected '1.<lsn>[.<timeline>]' in lowercase"
            f" hex, as consistency_token() makes): {_preview(token)}"
        )
    timeline = int(match[2], 16) if match[2] else None
    return Position(int(match[1], 16), timeline)


def _preview(value: object) -> str:
    """A short repr of untrusted input for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- one node's health: a state machine with backoff ------------------------------


class Health(Enum):
    """Whether a node answers: the only thing the state machine decides."""

    UP = "up"  # answering; usable in whatever role it has
    SUSPECT = (
        "suspect"  # a statement failed on it: out of the read rotation, the next probe decides
    )
    DOWN = "down"  # a probe failed: out until a probe passes after its backoff


class Signal(Enum):
    """What happened to a node."""

    PROBE_OK = "probe ok"
    PROBE_FAILED = "probe failed"
    STATEMENT_FAILED = "statement failed"  # for an availability reason


UP, SUSPECT, DOWN = Health.UP, Health.SUSPECT, Health.DOWN
PROBE_OK, PROBE_FAILED, STATEMENT_FAILED = Signal

# The whole state machine. DOWN + PROBE_OK is UP only once the backoff has expired.
TRANSITIONS: Mapping[tuple[Health, Signal], Health] = {
    (UP, PROBE_OK): UP,
    (UP, STATEMENT_FAILED): SUSPECT,  # maybe just one broken connection: let a probe tell
    (UP, PROBE_FAILED): DOWN,
    (SUSPECT, PROBE_OK): UP,  # a blip: back at once, no backoff
    (SUSPECT, STATEMENT_FAILED): SUSPECT,  # the other in-flight statements on it fail too
    (SUSPECT, PROBE_FAILED): DOWN,
    (DOWN, PROBE_OK): UP,
    (DOWN, STATEMENT_FAILED): DOWN,
    (DOWN, PROBE_FAILED): DOWN,
}


@dataclass(frozen=True)
class Backoff:
    """How long a DOWN node waits before a good probe may re-admit it.

    *base* seconds the first time, doubling on each failed retry and each time
    it goes DOWN again soon after coming back (it flaps), up to *cap*; forgotten
    once it has stayed up for *reset_after* seconds.
    """

    base: float = 1.0
    # A few seconds at most: a healed replica is back soon after it answers, and
    # a role change elsewhere ends every backoff at once (see ClusterHealth).
    cap: float = 4.0
    reset_after: float = 30.0

    def __post_init__(self) -> None:
        for name in ("base", "cap", "reset_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigurationError(f"backoff {name} must be a number, not {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ConfigurationError(f"backoff {name} must be > 0 and finite, not {value!r}")
        if self.base > self.cap:
            raise ConfigurationError(f"backoff base {self.base} is above its cap {self.cap}")

    def after(self, previous: float) -> float:
        """The wait that follows a wait of *previous* seconds (0: none yet)."""
        return self.base if previous <= 0 else min(previous * 2, self.cap)


@dataclass(frozen=True)
class NodeHealth:
    """One node's health; `advance` makes the next one."""

    state: Health = UP
    failures: int = 0  # in a row
    backoff: float = 0.0  # the current wait; 0: none (never DOWN, or stable since)
    retry_at: float = 0.0  # DOWN: no re-admission before this
    up_since: float = 0.0  # when it last came back from DOWN


def advance(
    health: NodeHealth,
    signal: Signal,
    now: float,
    policy: Backoff,
    *,
    skip_backoff: bool = False,
) -> NodeHealth:
    """The node's health after *signal* at *now* (`TRANSITIONS`, plus the backoff's clock).

    *skip_backoff* re-admits a DOWN node on a good probe at once: for a node
    that answers as the primary, since writes have nowhere else to go.
    """
    state = TRANSITIONS[health.state, signal]
    if signal is PROBE_OK:
        if health.state is DOWN:
            if now < health.retry_at and not skip_backoff:
                return health  # still serving its backoff
            return NodeHealth(UP, backoff=health.backoff, up_since=now)
        if health.backoff and now - health.up_since >= policy.reset_after:
            return NodeHealth(UP)  # stable long enough: the next failure starts from base
        return replace(health, state=state, failures=0)
    failed = replace(health, state=state, failures=health.failures + 1)
    entering_down = state is DOWN and health.state is not DOWN
    retry_failed = health.state is DOWN and signal is PROBE_FAILED and now >= health.retry_at
    if entering_down or retry_failed:
        wait = policy.after(health.backoff)
        return replace(failed, backoff=wait, retry_at=now + wait)
    return failed  # a failure during the backoff does not lengthen it


# -- replica lag ----------------------------------------------------------------


@dataclass(frozen=True)
class Lag:
    """How far a replica was behind the primary when it was last probed."""

    bytes: int
    seconds: float


@dataclass(frozen=True)
class LagLimit:
    """``max_replica_lag``: a replica further behind than either bound is not read from."""

    seconds: float | None = None
    bytes: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.bytes is None:
            raise ConfigurationError(
                "max_replica_lag needs seconds and/or bytes (or None for no limit)"
            )
        for name, value in (("seconds", self.seconds), ("bytes", self.bytes)):
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
                or (name == "bytes" and not isinstance(value, int))
            ):
                kind = "an int" if name == "bytes" else "a number"
                raise ConfigurationError(
                    f"max_replica_lag {name} must be {kind} >= 0, not {value!r}"
                )

    @classmethod
    def of(cls, value: LagLimit | float | timedelta | Mapping[str, Any] | None) -> LagLimit | None:
        """The limit a user option gives: seconds (a number or a timedelta), a dict
        with ``"seconds"`` and/or ``"bytes"``, a `LagLimit`, or None (no limit)."""
        if value is None or isinstance(value, LagLimit):
            return value
        if isinstance(value, timedelta):
            return cls(seconds=value.total_seconds())
        if isinstance(value, Mapping):
            unknown = set(value) - {"seconds", "bytes"}
            if unknown:
                raise ConfigurationError(
                    f"max_replica_lag takes 'seconds' and 'bytes', not {sorted(map(str, unknown))}"
                )
            return cls(seconds=value.get("seconds"), bytes=value.get("bytes"))
        return cls(seconds=value)

    def exceeded_by(self, lag: Lag) -> bool:
        return (self.seconds is not None and lag.seconds > self.seconds) or (
            self.bytes is not None and lag.bytes > self.bytes
        )

    def __str__(self) -> str:
        parts = [f"{self.seconds:g} s"] if self.seconds is not None else []
        parts += [f"{self.bytes} bytes"] if self.bytes is not None else []
        return " / ".join(parts)


class WalHistory:
    """The primary's WAL positions, each with the time a probe first saw it.

    A replica's lag is taken at the moment of its own probe, not at "now":
    the bytes the primary had then and the replica had not replayed, and how
    long the oldest of those had existed. So an idle primary never makes a
    caught-up replica look behind, and the answer moves only on new evidence
    (between probes a replica would otherwise seem to fall behind by up to one
    interval, and flicker in and out under a tight limit). Resolution: one
    probe interval.
    """

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._lsns: list[int] = []  # strictly increasing
        self._seen: list[float] = []  # when each was first seen

    def note(self, lsn: int, at: float) -> None:
        """The primary reported *lsn* at *at*."""
        if self._lsns and lsn < self._lsns[-1]:
            self.reset()  # WAL does not go back: this is another history
        if not self._lsns or lsn > self._lsns[-1]:
            self._lsns.append(lsn)
            self._seen.append(at)
            if len(self._lsns) > self._limit:  # a replica behind all of it is lagging anyway
                del self._lsns[0], self._seen[0]

    def reset(self) -> None:
        self._lsns.clear()
        self._seen.clear()

    def lag(self, replayed: int, at: float) -> Lag | None:
        """The lag of a replica that had replayed up to *replayed* at *at*; None if unknown
        (no position of the primary seen by then)."""
        known = bisect_right(self._seen, at)  # the positions seen by *at*
        if known == 0:
            return None
        behind = max(0, self._lsns[known - 1] - replayed)
        if behind == 0:
            return Lag(0, 0.0)
        # Behind since the oldest position it lacks was seen: by *at*, as behind > 0.
        first_missing = bisect_right(self._lsns, replayed)
        return Lag(behind, at - self._seen[first_missing])


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

    def describe(self, now: float) -> str:
        """What was last seen of every node, for logs and ``NoPrimaryError``."""
        head = f"primary: {self.primary() or 'none usable'}"
        if self._timeline is not None:
            head += f" (timeline {self._timeline})"
        return "; ".join([head, *(self._describe(node, now) for node in self._nodes.values())])

    def stats(self, now: float) -> dict[str, Any]:
        """For ``get_stats()``: the primary, the changes so far by kind, and each node."""
        plan = self.read_plan()
        nodes = {}
        for name, node in self._nodes.items():
            status, reason = self._status[name]
            lag = self.lag(name)
            seen = node.seen
            nodes[name] = {
                "status": status.value,
                "reason": reason,
                "health": node.health.state.value,
                "failures": node.health.failures,
                "retry_in": max(0.0, node.health.retry_at - now)
                if node.health.state is DOWN
                else 0.0,
                "last_error": node.error or None,
                "timeline": seen.timeline if seen else None,
                "system_identifier": node.identity,
                "lsn": format_lsn(seen.lsn) if seen else None,
                "lag_bytes": lag.bytes if lag else None,
                "lag_seconds": lag.seconds if lag else None,
            }
        return {
            "primary": self.primary(),
            "timeline": self._timeline,
            "reads_on_primary": plan.on_primary,
            "changes": {kind.value: self._counts[kind] for kind in ChangeKind},
            "nodes": nodes,
        }

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

    def _describe(self, node: _Node, now: float) -> str:
        status, reason = self._status[node.name]
        text = f"{node.name}: {status.value} ({reason})"
        if node.health.state is not UP:
            text += f", {node.health.failures} failures in a row"
        seen = node.seen
        if seen is None:
            return text + ", never answered a probe"
        role = "a replica" if seen.in_recovery else "a primary"
        return (
            f"{text}, last seen {now - seen.at:.1f} s ago as {role} on timeline"
            f" {seen.timeline} at {format_lsn(seen.lsn)}"
        )


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
