"""The per-call decisions, with no server: outcomes in, actions out.

Each fault scenario of the server suites (tests/failover/, tests/shells/) is
here as the sequence of outcomes the shell would report, so the rule is
checked in microseconds; the server tests check that the shell reports them.
"""

from __future__ import annotations

import itertools

import psycopg
import psycopg.errors
import psycopg_pool
import pytest

from pgcluster._core.balance import RoundRobin
from pgcluster._core.dispatch import (
    AbortInFlight,
    ClosePool,
    Failed,
    Fault,
    OpenPool,
    Raise,
    RaiseNoPrimary,
    RaiseUnknown,
    ReadCall,
    Rerun,
    Run,
    WaitForPrimary,
    WriteCall,
    after_change,
    commit_failed,
    fault_of,
    read_order,
)
from pgcluster._core.health import Change, ChangeKind, ReadPlan, Status
from pgcluster.errors import PoolClosedError

P, R1, R2 = "p", "r1", "r2"


def lost() -> psycopg.OperationalError:
    """What libpq raises when the connection breaks: no SQLSTATE."""
    return psycopg.OperationalError("server closed the connection unexpectedly")


def shutdown() -> psycopg.Error:
    return psycopg.errors.AdminShutdown("terminating connection due to administrator command")


def refused() -> psycopg.Error:
    return psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction")


def duplicate() -> psycopg.Error:
    return psycopg.errors.UniqueViolation("duplicate key value violates unique constraint")


def too_many_parameters() -> psycopg.OperationalError:
    """psycopg's own refusal, before sending: no SQLSTATE, but the connection is fine."""
    return psycopg.OperationalError("number of parameters must be between 0 and 65535")


# -- what a failure means ----------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "broken", "fault"),
    [
        (lost(), True, Fault.OUTAGE),
        (shutdown(), False, Fault.OUTAGE),  # the server said so: 57P01
        (psycopg_pool.PoolTimeout("no connection"), True, Fault.OUTAGE),
        (PoolClosedError("closed"), True, Fault.OUTAGE),
        (refused(), False, Fault.STANDBY),
        (duplicate(), False, Fault.CALLER),
        (too_many_parameters(), False, Fault.CALLER),  # the connection is fine
        (ValueError("not psycopg's"), False, Fault.CALLER),
    ],
)
def test_what_a_failure_means(error: BaseException, broken: bool, fault: Fault) -> None:
    assert fault_of(error, broken=broken) is fault
    assert Failed(error, sent=True, broken=broken).fault is fault


# -- reads ---------------------------------------------------------------------------


def test_the_read_order_is_the_balancers_choice_then_one_fallback() -> None:
    balancer = RoundRobin()
    plan = ReadPlan((R1, R2), P)
    assert read_order(plan, balancer) == [R1, R2]
    assert read_order(plan, balancer) == [R2, R1]
    assert read_order(ReadPlan((R1,), P), balancer) == [R1, P]
    assert read_order(ReadPlan((R1,), None), balancer) == [R1]  # fallback_to_primary off
    assert read_order(ReadPlan((), P, "no usable replica"), balancer) == [P]


def test_a_read_whose_replica_fails_is_retried_once_on_the_next_node() -> None:
    call = ReadCall([R1, R2], P)
    assert call.first() == Run(R1)
    assert call.failed(R1, Failed(lost(), sent=False, broken=True)) == Run(R2)
    error = lost()
    assert call.failed(R2, Failed(error, sent=False, broken=True)) == Raise(error)


def test_a_read_falls_back_to_the_primary_when_the_last_replica_fails() -> None:
    call = ReadCall([R1, P], P)
    call.first()
    assert call.failed(R1, Failed(shutdown(), sent=False, broken=False)) == Run(P)


def test_a_read_that_failed_for_its_own_reason_is_not_retried() -> None:
    for error in (duplicate(), too_many_parameters()):
        call = ReadCall([R1, R2], P)
        call.first()
        assert call.failed(R1, Failed(error, sent=False, broken=False)) == Raise(error)


def test_a_stream_that_yielded_rows_is_not_retried() -> None:
    call = ReadCall([R1, R2], P)
    call.first()
    error = lost()
    assert call.failed(R1, Failed(error, sent=True, broken=True)) == Raise(error)


def test_a_replica_refusing_a_read_that_writes_reruns_it_on_the_primary() -> None:
    call = ReadCall([R1, R2], P)
    call.first()
    assert call.failed(R1, Failed(refused(), sent=False, broken=False)) == Rerun(R1, "25006")


@pytest.mark.parametrize(
    ("sqlstate", "message"),
    [
        ("0A000", "cannot access temporary or unlogged relations during recovery"),
        ("55000", "recovery is in progress"),
        ("XX000", "cannot assign TransactionIds during recovery"),
    ],
)
def test_every_standby_refusal_reruns_on_the_primary_with_its_sqlstate(
    sqlstate: str, message: str
) -> None:
    error = psycopg.errors.lookup(sqlstate)(message)
    call = ReadCall([R1, R2], P)
    call.first()
    # Not the next replica: every standby would refuse it the same way.
    assert call.failed(R1, Failed(error, sent=False, broken=False)) == Rerun(R1, sqlstate)


def test_an_error_of_the_same_sqlstate_that_is_not_a_refusal_is_the_callers() -> None:
    error = psycopg.errors.FeatureNotSupported("cannot use an aggregate in a WHERE clause")
    call = ReadCall([R1, R2], P)
    call.first()
    assert call.failed(R1, Failed(error, sent=False, broken=False)) == Raise(error)


def test_the_primary_refusing_a_read_raises() -> None:
    # A read that fell back to the primary, which is read-only (a demoted one):
    # the error is real, there is nowhere to re-run it.
    call = ReadCall([P], P)
    call.first()
    error = refused()
    assert call.failed(P, Failed(error, sent=False, broken=False)) == Raise(error)


def test_every_read_outcome_has_an_action() -> None:
    errors = [
        lost(),
        shutdown(),
        refused(),
        psycopg.errors.InternalError_("cannot assign OIDs during recovery"),
        duplicate(),
        too_many_parameters(),
    ]
    for error, sent, broken, position in itertools.product(
        errors, (False, True), (False, True), range(3)
    ):
        nodes = [R1, R2, P][: position + 1]
        call = ReadCall(nodes, P)
        call.first()
        action = call.failed(nodes[0], Failed(error, sent=sent, broken=broken))
        assert isinstance(action, Run | Rerun | Raise)
        if isinstance(action, Run):
            assert action.node in nodes[1:]


# -- writes --------------------------------------------------------------------------


def test_a_write_goes_to_the_primary_or_waits_for_one_until_its_deadline() -> None:
    call = WriteCall(deadline=30.0)
    assert call.next(P, 0.0) == Run(P)
    assert call.next(None, 1.0) == WaitForPrimary(30.0)
    assert call.next(None, 30.0) == RaiseNoPrimary()
    assert call.next(R1, 29.9) == Run(R1)


def test_one_deadline_for_the_whole_call() -> None:
    # Each failed attempt asks again; the deadline set at the start holds.
    call = WriteCall(deadline=3.0)
    for now in (0.5, 1.5, 2.5):
        assert call.failed(P, Failed(lost(), sent=False, broken=True), now) is None
        assert call.next(None, now) == WaitForPrimary(3.0)
    assert call.next(None, 3.0) == RaiseNoPrimary()
    # Still no connection of the (hung) primary at the deadline: no usable primary.
    assert call.failed(P, Failed(lost(), sent=False, broken=True), 3.1) == RaiseNoPrimary()
    # But a healthy primary whose pool was busy: the pool's error.
    busy = psycopg_pool.PoolTimeout("no connection within 30 s")
    assert call.failed(P, Failed(busy, sent=False, broken=True), 3.1, P) == Raise(busy)


def test_a_wait_for_a_connection_of_the_primary_ends_at_the_deadline() -> None:
    call = WriteCall(deadline=3.0)
    assert call.wait_for_connection(30.0, 0.0) == 3.0
    assert call.wait_for_connection(2.0, 0.0) == 2.0
    assert call.wait_for_connection(30.0, 3.5) == 30.0  # past it: the primary is back


def test_a_write_lost_after_it_was_sent_is_never_resent() -> None:
    call = WriteCall(deadline=30.0)
    error: psycopg.Error = lost()
    assert call.failed(P, Failed(error, sent=True, broken=True), 1.0) == RaiseUnknown(P, error)
    error = shutdown()  # 57P01 after sending: maybe after the commit
    assert call.failed(P, Failed(error, sent=True, broken=False), 1.0) == RaiseUnknown(P, error)


def test_a_write_that_failed_for_its_own_reason_raises_unchanged() -> None:
    for error in (duplicate(), too_many_parameters(), refused()):
        call = WriteCall(deadline=30.0)
        assert call.failed(P, Failed(error, sent=True, broken=False), 1.0) == Raise(error)


def test_a_connection_of_a_node_that_stopped_being_the_primary_is_not_used() -> None:
    # The issue-12 repro: the caller waited for a connection of the old primary;
    # meanwhile the seat moved (or the old primary came back, fenced).
    assert WriteCall.taken(P, P)
    assert not WriteCall.taken(P, R1)
    assert not WriteCall.taken(P, None)


def test_a_failover_seen_by_one_write_call() -> None:
    call = WriteCall(deadline=20.0)
    assert call.next(P, 0.0) == Run(P)  # the primary dies under it
    assert call.failed(P, Failed(PoolClosedError("closed"), sent=False, broken=True), 0.5) is None
    assert call.next(None, 0.6) == WaitForPrimary(20.0)
    assert call.next(R1, 4.0) == Run(R1)  # R1 promoted
    assert call.taken(R1, R1)


def test_a_stream_on_the_primary_is_rerun_until_a_row_reached_the_caller() -> None:
    call = WriteCall(deadline=30.0, read=True)
    assert call.failed(P, Failed(lost(), sent=False, broken=True), 1.0) is None
    error = lost()
    assert call.failed(P, Failed(error, sent=True, broken=True), 1.0) == Raise(error)


def test_every_write_outcome_has_an_action() -> None:
    errors = [
        lost(),
        shutdown(),
        refused(),
        psycopg.errors.InternalError_("cannot assign OIDs during recovery"),
        duplicate(),
        too_many_parameters(),
    ]
    for error, sent, broken, now, read in itertools.product(
        errors, (False, True), (False, True), (1.0, 31.0), (False, True)
    ):
        action = WriteCall(30.0, read=read).failed(P, Failed(error, sent=sent, broken=broken), now)
        fault = fault_of(error, broken=broken)
        if fault is not Fault.OUTAGE:
            assert action == Raise(error)
        elif sent:
            assert action == (Raise(error) if read else RaiseUnknown(P, error))
        else:
            assert action == (None if now < 30.0 else RaiseNoPrimary())


# -- a tx()'s COMMIT -----------------------------------------------------------------


def test_a_commit_lost_on_the_way_is_outcome_unknown() -> None:
    error = lost()
    assert commit_failed(Failed(error, sent=True, broken=True), read_only=False) == RaiseUnknown(
        "", error
    )


def test_a_commit_refused_by_the_server_or_of_a_read_only_tx_raises_as_is() -> None:
    error: psycopg.Error = psycopg.errors.SerializationFailure("could not serialize access")
    assert commit_failed(Failed(error, sent=True, broken=False), read_only=False) == Raise(error)
    error = lost()
    assert commit_failed(Failed(error, sent=True, broken=True), read_only=True) == Raise(error)


# -- what a health change does to the pools ----------------------------------------------


def change(kind: ChangeKind, before: Status, after: Status) -> Change:
    return Change(kind, R1, before, after, "why")


@pytest.mark.parametrize(
    ("kind", "before", "after", "down", "closed", "actions"),
    [
        # A replica down (a probe failed): abort what waits on it, close its pool.
        (ChangeKind.EJECTED, Status.REPLICA, Status.UNAVAILABLE, True, False,
         [AbortInFlight(R1), ClosePool(R1)]),
        # One failed statement (SUSPECT): abort, but keep the pool, a probe decides.
        (ChangeKind.EJECTED, Status.REPLICA, Status.UNAVAILABLE, False, False,
         [AbortInFlight(R1)]),
        (ChangeKind.FENCED, Status.PRIMARY, Status.FENCED, False, False,
         [AbortInFlight(R1), ClosePool(R1)]),
        (ChangeKind.REJECTED, Status.REPLICA, Status.FOREIGN, False, False,
         [AbortInFlight(R1), ClosePool(R1)]),
        # Back: a new pool connects at once.
        (ChangeKind.ADMITTED, Status.UNAVAILABLE, Status.REPLICA, False, True, [OpenPool(R1)]),
        (ChangeKind.PROMOTED, Status.UNAVAILABLE, Status.PRIMARY, False, True, [OpenPool(R1)]),
        (ChangeKind.ADMITTED, Status.UNPROBED, Status.REPLICA, False, False, []),
        # A demoted primary: waiters for a write on its pool wake.
        (ChangeKind.DEMOTED, Status.PRIMARY, Status.REPLICA, False, False,
         [ClosePool(R1), OpenPool(R1)]),
        (ChangeKind.EJECTED, Status.REPLICA, Status.LAGGING, False, False, [AbortInFlight(R1)]),
    ],
)  # fmt: skip
def test_what_a_change_does_to_the_pools(
    kind: ChangeKind,
    before: Status,
    after: Status,
    down: bool,
    closed: bool,
    actions: list[object],
) -> None:
    assert after_change(change(kind, before, after), down=down, closed=closed) == actions


def test_every_change_has_pool_actions_that_fit_the_pools_state() -> None:
    for kind, before, after, down, closed in itertools.product(
        ChangeKind, Status, Status, (False, True), (False, True)
    ):
        actions = after_change(change(kind, before, after), down=down, closed=closed)
        opens = [a for a in actions if isinstance(a, OpenPool)]
        closes = [a for a in actions if isinstance(a, ClosePool)]
        if closed:
            assert not closes  # closed already
        if opens and not closes:  # a closed pool reopens only for a node back in service
            assert closed
            assert after in (Status.PRIMARY, Status.REPLICA)
        if after in (Status.UNAVAILABLE, Status.FENCED, Status.FOREIGN):
            assert not opens  # never a new pool for a node that may not be used
