"""Where one call goes next, given what happened so far. Pure, no I/O.

The shells (`AsyncCluster`, `Cluster`) run one small loop per call: ask for
the next action, do the I/O it names, report the outcome, ask again. Every
routing, retry, re-run and deadline rule of a statement lives here, so each
fault scenario of the server tests is also a sequence of outcomes fed to
these functions (tests/core/test_dispatch.py), with no server and no clock.

A call is one of:

- a read (`ReadCall`): the balancer's first choice, then one fallback; an
  outage before the first row moves it to the next node, a hot standby's
  refusal (25006, or another `standby_refusal`) re-runs it on the primary;
- a write (`WriteCall`): the primary only, waiting up to one deadline for
  one; never re-sent once sent (`RaiseUnknown`), since it may have been
  applied; a connection whose node stopped being the primary while the
  caller waited is given back unused. Streams on the primary and the
  connections lent to `task()`, `tx()`, `connection()` and `getconn()` are
  write calls too (nothing is sent by the lending itself).

Outcomes are `Failed` values: the error, whether the statement was sent,
and whether the connection is broken. `fault_of` says what a failure means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from .balance import Balancer
from .faults import is_unavailable, outcome_unknown, standby_refusal
from .health import Change, ChangeKind, ReadPlan, Status

# -- what happened -----------------------------------------------------------------


class Fault(Enum):
    """What a failure says."""

    OUTAGE = "outage"  # about the node: lost connection, 57P01, no connection to be had
    STANDBY = "standby"  # a hot standby refused it (25006, 0A000...): it needs the primary
    CALLER = "caller"  # about the statement (a constraint, a syntax error, 65535 parameters)


@dataclass(frozen=True, slots=True)
class Failed:
    """A failed attempt: the error; whether it may have had an effect (for a write: the
    statement left the client; for a read: a row reached the caller); whether the
    connection is broken (True when none was had)."""

    error: BaseException
    sent: bool
    broken: bool

    @property
    def fault(self) -> Fault:
        return fault_of(self.error, broken=self.broken)


def fault_of(error: BaseException, *, broken: bool) -> Fault:
    """What *error* means: a standby's refusal, an outage of the node, or the caller's."""
    if standby_refusal(error) is not None:
        return Fault.STANDBY
    if is_unavailable(error, broken=broken):
        return Fault.OUTAGE
    return Fault.CALLER


# -- what to do next -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """Take a connection of *node* and run the statement there."""

    node: str


@dataclass(frozen=True, slots=True)
class WaitForPrimary:
    """No usable primary: wait for a health change, until *deadline*, then ask again."""

    deadline: float


@dataclass(frozen=True, slots=True)
class Rerun:
    """A replica refused the statement (with *sqlstate*): run it again on the primary."""

    refused_by: str
    sqlstate: str


@dataclass(frozen=True, slots=True)
class Raise:
    """Raise *error* to the caller, unchanged."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class RaiseUnknown:
    """The primary failed after the write was sent: raise `WriteOutcomeUnknown`."""

    node: str
    error: BaseException


@dataclass(frozen=True, slots=True)
class RaiseNoPrimary:
    """No usable primary appeared before the deadline: raise `NoPrimaryError`."""


# -- reads -----------------------------------------------------------------------------


def read_order(plan: ReadPlan, balancer: Balancer) -> list[str]:
    """Where a read goes, in order: the balancer's first choice among *plan*'s replicas,
    then one fallback (another replica, else the primary when reads may go there)."""
    nodes = balancer.order(plan.replicas)[:2]
    if plan.primary is not None and len(nodes) < 2:
        nodes.append(plan.primary)
    return nodes


class ReadCall:
    """One read over *nodes* (from `read_order`): which node to try after a failure."""

    __slots__ = ("_nodes", "_primary", "_tried")

    def __init__(self, nodes: Sequence[str], primary: str | None) -> None:
        self._nodes = nodes
        self._primary = primary  # the plan's primary: its refusal is not a misroute
        self._tried = 0

    def first(self) -> Run:
        """The first node (there is always one: an empty plan raises before)."""
        self._tried = 1
        return Run(self._nodes[0])

    def failed(self, node: str, outcome: Failed) -> Run | Rerun | Raise:
        """*node* failed with *outcome*: the next node, a re-run on the primary, or raise."""
        refusal = standby_refusal(outcome.error)
        if refusal is not None:
            # A statement classified as a read wrote, or needed the primary: re-run it
            # there, unless the primary itself refused (then the error is real).
            return Raise(outcome.error) if node == self._primary else Rerun(node, refusal)
        fault = outcome.fault
        if fault is Fault.OUTAGE and not outcome.sent and self._tried < len(self._nodes):
            self._tried += 1
            return Run(self._nodes[self._tried - 1])
        return Raise(outcome.error)


# -- writes and lent connections -------------------------------------------------------


class WriteCall:
    """One call on the primary, with one deadline for the whole call.

    A write that failed after it was sent raises `RaiseUnknown`: it may have
    been applied. A *read* on the primary (a stream) is run again after an
    outage until a row reached the caller; after that its error is raised as
    it is (nothing is in doubt, but the rows cannot be taken back).
    """

    __slots__ = ("_deadline", "_read")

    def __init__(self, deadline: float, *, read: bool = False) -> None:
        self._deadline = deadline
        self._read = read

    @property
    def deadline(self) -> float:
        return self._deadline

    def next(self, primary: str | None, now: float) -> Run | WaitForPrimary | RaiseNoPrimary:
        """Where to go now that *primary* (None: none usable) is the health core's answer."""
        if primary is not None:
            return Run(primary)
        if now >= self._deadline:
            return RaiseNoPrimary()
        return WaitForPrimary(self._deadline)

    @staticmethod
    def taken(node: str, primary: str | None) -> bool:
        """A connection of *node* was acquired: may the call use it? Not if *node* stopped
        being the primary while the caller waited (an old primary back, a demoted one)."""
        return node == primary

    def wait_for_connection(self, pool_timeout: float, now: float) -> float:
        """How long to wait for a connection of the primary: the pool's timeout, but
        not past the call's deadline (a hung primary's pool would hold the caller)."""
        left = self._deadline - now
        return pool_timeout if left <= 0 else min(pool_timeout, left)

    def failed(
        self, node: str, outcome: Failed, now: float, primary: str | None = None
    ) -> Raise | RaiseUnknown | RaiseNoPrimary | None:
        """*node* failed with *outcome*; *primary* is the health core's answer now.
        None: ask `next()` again (nothing was applied, the deadline has not passed).
        Else what to raise: an outage that kept the call from being sent until its
        deadline is no usable primary within it, unless *node* still is the primary
        (its pool was busy: the pool's error)."""
        if not self._read and outcome_unknown(outcome.error, outcome.sent, broken=outcome.broken):
            return RaiseUnknown(node, outcome.error)
        if outcome.fault is Fault.OUTAGE:
            if outcome.sent:  # a read whose rows reached the caller: nothing in doubt
                return Raise(outcome.error)
            if now < self._deadline:
                return None
            return Raise(outcome.error) if primary == node else RaiseNoPrimary()
        return Raise(outcome.error)


def commit_failed(outcome: Failed, *, read_only: bool) -> Raise | RaiseUnknown:
    """A `tx()` failed during its COMMIT: the commit record may already be on disk
    when the connection was lost then (lost before it, the server rolled back)."""
    if not read_only and outcome_unknown(outcome.error, outcome.sent, broken=outcome.broken):
        return RaiseUnknown("", outcome.error)
    return Raise(outcome.error)


# -- what a health change does to the shell's pools ----------------------------------


@dataclass(frozen=True, slots=True)
class AbortInFlight:
    """Shut down the sockets of the node's connections in use: a hung node never
    answers, and a fenced one must not see another statement."""

    node: str


@dataclass(frozen=True, slots=True)
class ClosePool:
    """Close the node's pool: down, fenced or foreign, psycopg_pool would keep
    reconnecting (and logging each failure) on its own; waiters on it wake."""

    node: str


@dataclass(frozen=True, slots=True)
class OpenPool:
    """Give the node a new pool: it is admitted again, and connects at once (not
    after psycopg_pool's reconnect backoff)."""

    node: str


PoolAction = AbortInFlight | ClosePool | OpenPool

_ABORTS = frozenset({ChangeKind.EJECTED, ChangeKind.FENCED, ChangeKind.REJECTED})
_IN_SERVICE = frozenset({Status.PRIMARY, Status.REPLICA})
_SHUT_OUT = frozenset({Status.FENCED, Status.FOREIGN})


def after_change(change: Change, *, down: bool, closed: bool) -> list[PoolAction]:
    """What *change* asks of the shell. *down*: the node's probe failed (not a mere
    SUSPECT after one failed statement); *closed*: its pool is closed already.

    A demoted primary's pool is renewed: a write waiting for one of its
    connections wakes (and waits for the next primary) instead of waiting
    for the pool's timeout.
    """
    node = change.node
    actions: list[PoolAction] = []
    if change.kind in _ABORTS:
        actions.append(AbortInFlight(node))
    if closed:
        if change.after in _IN_SERVICE:
            actions.append(OpenPool(node))
    elif change.after in _SHUT_OUT or (change.after is Status.UNAVAILABLE and down):
        actions.append(ClosePool(node))
    elif change.kind is ChangeKind.DEMOTED and change.after is not Status.UNAVAILABLE:
        actions += [ClosePool(node), OpenPool(node)]
    return actions
