"""Node health, failover, fencing, lag and read-your-writes: the sans-IO core, driven by
events and a fake clock (the times are just numbers)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pgcluster._core import report
from pgcluster._core.health import (
    Change,
    ChangeKind,
    ClusterHealth,
    Status,
)
from pgcluster._core.lag import (
    Lag,
    LagLimit,
    WalHistory,
)
from pgcluster._core.node_health import (
    DOWN,
    PROBE_FAILED,
    PROBE_OK,
    STATEMENT_FAILED,
    SUSPECT,
    TRANSITIONS,
    UP,
    Backoff,
    Health,
    NodeHealth,
    Signal,
    advance,
)
from pgcluster._core.positions import (
    Position,
    decode_token,
    encode_token,
    format_lsn,
    parse_lsn,
)
from pgcluster.errors import ConfigurationError

P, R1, R2 = "p:5432/db", "r1:5432/db", "r2:5432/db"
MB = 1 << 20
POLICY = Backoff(base=1.0, cap=30.0, reset_after=30.0)


def cluster(**options: Any) -> ClusterHealth:
    return ClusterHealth([P, R1, R2], P, **options)


def as_primary(h: ClusterHealth, name: str, now: float, lsn: int, tl: int = 1) -> list[Change]:
    return h.probe_succeeded(name, now, in_recovery=False, lsn=lsn, timeline=tl)


def as_replica(h: ClusterHealth, name: str, now: float, lsn: int, tl: int = 1) -> list[Change]:
    return h.probe_succeeded(name, now, in_recovery=True, lsn=lsn, timeline=tl)


def healthy(now: float = 0.0, lsn: int = 1000, **options: Any) -> ClusterHealth:
    """A cluster whose primary and two caught-up replicas all answered at *now*."""
    h = cluster(**options)
    as_primary(h, P, now, lsn)
    as_replica(h, R1, now, lsn)
    as_replica(h, R2, now, lsn)
    return h


def kinds(changes: list[Change]) -> list[tuple[str, ChangeKind]]:
    return [(c.node, c.kind) for c in changes]


# -- the per-node state machine -------------------------------------------------


def test_the_table_has_a_next_state_for_every_state_and_signal() -> None:
    assert set(TRANSITIONS) == {(state, signal) for state in Health for signal in Signal}


def test_a_failed_statement_makes_a_node_suspect_and_one_good_probe_clears_it() -> None:
    h = advance(NodeHealth(), STATEMENT_FAILED, 10.0, POLICY)
    assert (h.state, h.failures, h.backoff) == (SUSPECT, 1, 0.0)
    h = advance(h, STATEMENT_FAILED, 10.1, POLICY)
    assert (h.state, h.failures) == (SUSPECT, 2)
    h = advance(h, PROBE_OK, 10.2, POLICY)  # no backoff after a blip
    assert (h.state, h.failures) == (UP, 0)


@pytest.mark.parametrize("first", [PROBE_FAILED, STATEMENT_FAILED])
def test_a_failed_probe_makes_a_node_down_with_the_base_backoff(first: Signal) -> None:
    h = advance(NodeHealth(), first, 10.0, POLICY)
    h = advance(h, PROBE_FAILED, 10.0, POLICY)
    assert (h.state, h.backoff, h.retry_at) == (DOWN, 1.0, 11.0)


def test_a_down_node_comes_back_only_on_a_good_probe_after_its_backoff() -> None:
    h = advance(NodeHealth(), PROBE_FAILED, 10.0, POLICY)
    assert advance(h, PROBE_OK, 10.99, POLICY) == h  # too early: ignored
    back = advance(h, PROBE_OK, 11.0, POLICY)
    assert (back.state, back.failures, back.up_since) == (UP, 0, 11.0)


def test_the_backoff_doubles_on_each_failed_retry_up_to_its_cap() -> None:
    h = advance(NodeHealth(), PROBE_FAILED, 0.0, POLICY)
    waits = [h.backoff]
    for _ in range(6):
        h = advance(h, PROBE_FAILED, h.retry_at, POLICY)
        waits.append(h.backoff)
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert h.failures == 7


def test_failures_during_the_backoff_do_not_lengthen_it() -> None:
    h = advance(NodeHealth(), PROBE_FAILED, 0.0, POLICY)
    h = advance(h, PROBE_FAILED, 0.5, POLICY)
    h = advance(h, STATEMENT_FAILED, 0.6, POLICY)
    assert (h.backoff, h.retry_at, h.failures) == (1.0, 1.0, 3)


def test_a_node_that_flaps_waits_longer_and_one_that_stays_up_starts_over() -> None:
    h = advance(NodeHealth(), PROBE_FAILED, 0.0, POLICY)
    h = advance(h, PROBE_OK, 1.0, POLICY)  # back
    h = advance(h, PROBE_FAILED, 5.0, POLICY)  # down again 4 s later: it flaps
    assert (h.backoff, h.retry_at) == (2.0, 7.0)
    h = advance(h, PROBE_OK, 7.0, POLICY)
    h = advance(h, PROBE_OK, 36.9, POLICY)  # up 29.9 s: not yet stable
    assert h.backoff == 2.0
    h = advance(h, PROBE_OK, 37.0, POLICY)  # up 30 s: forgiven
    assert h == NodeHealth(UP)
    h = advance(h, PROBE_FAILED, 100.0, POLICY)
    assert h.backoff == 1.0


def test_skip_backoff_readmits_at_once() -> None:
    h = advance(NodeHealth(), PROBE_FAILED, 0.0, POLICY)
    assert advance(h, PROBE_OK, 0.1, POLICY, skip_backoff=True).state is UP


@pytest.mark.parametrize(
    "options",
    [
        {"base": 0},
        {"cap": -1},
        {"reset_after": float("inf")},
        {"base": 5, "cap": 2},
        {"base": True},
    ],
)
def test_a_bad_backoff_is_a_configuration_error(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Backoff(**options)


# -- replicas leaving and rejoining the rotation ----------------------------------


def test_a_replica_that_fails_a_probe_leaves_the_rotation_at_once() -> None:
    h = healthy()
    changes = h.probe_failed(R1, 1.0, "connection refused")
    assert kinds(changes) == [(R1, ChangeKind.EJECTED)]
    assert changes[0].reason == "connection refused"
    assert h.readable_replicas() == [R2]
    assert h.status(R1) is Status.UNAVAILABLE


def test_a_replica_whose_statement_failed_leaves_at_once_and_a_good_probe_brings_it_back() -> None:
    h = healthy()
    assert kinds(h.statement_failed(R2, 1.0, "server closed the connection")) == [
        (R2, ChangeKind.EJECTED)
    ]
    assert h.readable_replicas() == [R1]
    assert kinds(as_replica(h, R2, 1.1, 1000)) == [(R2, ChangeKind.ADMITTED)]
    assert h.readable_replicas() == [R1, R2]


def test_a_down_replica_returns_only_after_its_backoff_and_a_good_probe() -> None:
    h = healthy()
    h.probe_failed(R1, 1.0, "timeout")
    assert as_replica(h, R1, 1.5, 1000) == []  # answers, but its backoff runs to 2.0
    assert h.readable_replicas() == [R2]
    h.probe_failed(R1, 2.0, "timeout")  # the retry fails: 2 s more
    assert as_replica(h, R1, 3.9, 1000) == []
    assert kinds(as_replica(h, R1, 4.0, 1000)) == [(R1, ChangeKind.ADMITTED)]
    assert h.readable_replicas() == [R1, R2]


def test_probes_of_a_down_node_wait_for_its_backoff_unless_there_is_no_primary() -> None:
    h = healthy()
    h.probe_failed(R1, 1.0, "timeout")
    assert not h.probe_due(R1, 1.5)
    assert h.probe_due(R1, 2.0)
    assert h.probe_due(R2, 1.5)
    h.probe_failed(P, 1.5, "timeout")
    assert h.probe_due(P, 1.6)  # the primary is always probed
    assert h.probe_due(R1, 1.6)  # no primary: any node may be the successor


def test_unprobed_replicas_are_not_read_from_but_the_primary_takes_writes() -> None:
    h = cluster()
    assert h.primary() == P
    assert h.readable_replicas() == []
    assert kinds(as_replica(h, R1, 0.0, 0)) == [(R1, ChangeKind.ADMITTED)]
    assert h.status(R2) is Status.UNPROBED
    assert kinds(h.probe_failed(R2, 0.0, "refused")) == [(R2, ChangeKind.EJECTED)]


# -- failover and fencing ----------------------------------------------------------


def fail_over(h: ClusterHealth) -> list[Change]:
    """The primary stops answering (from 5 s; its backoff runs to 8 s); at 6 s R1
    reports it was promoted to timeline 2."""
    h.probe_failed(P, 5.0, "connection refused")
    h.probe_failed(P, 6.0, "connection refused")
    return as_primary(h, R1, 6.0, 2000, tl=2)


def test_a_dead_primary_leaves_no_primary_until_a_replica_is_promoted() -> None:
    h = healthy()
    assert kinds(h.probe_failed(P, 5.0, "connection refused")) == [(P, ChangeKind.EJECTED)]
    assert h.primary() is None
    assert h.readable_replicas() == [R1, R2]  # reads keep flowing meanwhile
    changes = as_primary(h, R1, 6.0, 2000, tl=2)
    assert (R1, ChangeKind.PROMOTED) in kinds(changes)
    assert h.primary() == R1
    assert h.timeline == 2
    assert R1 not in h.readable_replicas()


def test_replicas_on_the_old_timeline_wait_until_they_follow_the_new_primary() -> None:
    h = healthy()
    changes = fail_over(h)
    assert (R2, ChangeKind.EJECTED) in kinds(changes)
    assert h.status(R2) is Status.OFF_TIMELINE
    assert h.readable_replicas() == []
    assert kinds(as_replica(h, R2, 7.0, 2000, tl=2)) == [(R2, ChangeKind.ADMITTED)]
    assert h.readable_replicas() == [R2]


def test_the_old_primary_coming_back_as_a_primary_is_fenced() -> None:
    h = healthy()
    fail_over(h)
    as_replica(h, R2, 7.0, 2000, tl=2)
    changes = as_primary(h, P, 40.0, 1500, tl=1)  # after its backoff: it would be admitted
    assert kinds(changes) == [(P, ChangeKind.FENCED)]
    assert "timeline 1" in changes[0].reason
    assert h.fenced() == [P]
    assert h.primary() == R1
    assert h.readable_replicas() == [R2]
    assert as_primary(h, P, 41.0, 1500, tl=1) == []  # reported once
    # Even with the new primary gone, it never takes writes again.
    h.probe_failed(R1, 42.0, "timeout")
    as_primary(h, P, 43.0, 1500, tl=1)
    assert h.primary() is None
    assert h.status(P) is Status.FENCED


def test_the_old_primary_is_fenced_as_soon_as_it_answers() -> None:
    h = healthy()
    fail_over(h)
    # The promotion ended its backoff (a role change re-probes every DOWN node at once).
    assert h.probe_due(P, 6.5)
    assert kinds(as_primary(h, P, 6.5, 1500, tl=1)) == [(P, ChangeKind.FENCED)]
    assert h.primary() == R1


def test_a_fenced_node_rebuilt_as_a_replica_of_the_new_primary_is_read_from_again() -> None:
    h = healthy()
    fail_over(h)
    as_primary(h, P, 40.0, 1500, tl=1)
    assert kinds(as_replica(h, P, 41.0, 2000, tl=2)) == [(P, ChangeKind.ADMITTED)]
    assert h.readable_replicas() == [P]


def test_a_promotion_while_the_old_primary_still_answers_moves_writes_and_fences_it() -> None:
    h = healthy()
    changes = as_primary(h, R2, 5.0, 2000, tl=2)
    assert sorted(kinds(changes)) == [
        (P, ChangeKind.FENCED),
        (R1, ChangeKind.EJECTED),  # still on timeline 1
        (R2, ChangeKind.PROMOTED),
    ]
    assert h.primary() == R2


def test_the_highest_timeline_wins_when_two_nodes_claim_the_primary() -> None:
    h = healthy()
    h.probe_failed(P, 5.0, "refused")
    h.probe_failed(R1, 5.0, "refused")
    h.probe_failed(R2, 5.0, "refused")
    as_primary(h, R1, 20.0, 2000, tl=2)  # probes while DOWN: a successor skips the backoff
    as_primary(h, R2, 20.0, 2000, tl=3)
    assert h.primary() == R2
    assert h.fenced() == [R1]


def test_of_two_promoted_nodes_waiting_for_the_seat_the_highest_timeline_wins() -> None:
    h = cluster()  # the primary has not answered yet: nothing can take its seat
    as_primary(h, R1, 1.0, 2000, tl=3)
    as_primary(h, R2, 1.0, 2000, tl=2)
    assert h.fenced() == [R1, R2]
    h.probe_failed(P, 2.0, "refused")
    assert h.primary() == R1
    assert h.fenced() == [R2]


def test_a_second_primary_on_the_same_timeline_is_fenced_until_the_primary_is_gone() -> None:
    h = healthy()
    # R1 says it is a primary, still on timeline 1 (a promotion reported before its
    # new timeline shows): the primary still answers, so it is not the successor.
    assert kinds(as_primary(h, R1, 5.0, 1100, tl=1)) == [(R1, ChangeKind.FENCED)]
    assert h.primary() == P
    changes = h.probe_failed(P, 6.0, "refused")
    assert sorted(kinds(changes)) == [(P, ChangeKind.EJECTED), (R1, ChangeKind.PROMOTED)]
    assert h.primary() == R1


def test_an_older_timeline_never_takes_over() -> None:
    h = healthy()
    fail_over(h)
    h.probe_failed(R1, 7.0, "refused")
    as_primary(h, R2, 8.0, 1900, tl=1)
    assert h.primary() is None
    assert h.status(R2) is Status.FENCED


def test_the_primary_coming_back_skips_its_backoff() -> None:
    h = healthy()
    h.probe_failed(P, 5.0, "refused")
    h.probe_failed(P, 6.0, "refused")  # backoff 2 s: retry at 8
    assert kinds(as_primary(h, P, 6.5, 1000)) == [(P, ChangeKind.ADMITTED)]
    assert h.primary() == P


def test_a_suspect_primary_still_takes_writes() -> None:
    h = healthy()
    assert h.statement_failed(P, 5.0, "connection lost") == []
    assert h.primary() == P


def test_a_primary_seen_in_recovery_is_demoted() -> None:
    h = healthy()
    changes = as_replica(h, P, 5.0, 1000)
    assert kinds(changes) == [(P, ChangeKind.DEMOTED)]
    assert h.primary() is None
    changes = as_primary(h, R1, 6.0, 1000, tl=2)
    assert kinds(changes) == [
        (P, ChangeKind.EJECTED),
        (R1, ChangeKind.PROMOTED),
        (R2, ChangeKind.EJECTED),
    ]
    assert h.status(P) is Status.OFF_TIMELINE  # until it follows timeline 2
    assert kinds(as_replica(h, P, 7.0, 1000, tl=2)) == [(P, ChangeKind.ADMITTED)]


# -- lag --------------------------------------------------------------------------


def test_a_replica_too_many_bytes_behind_leaves_and_returns_when_it_catches_up() -> None:
    h = healthy(max_replica_lag=LagLimit(bytes=MB))
    as_primary(h, P, 1.0, 1000 + 5 * MB)
    as_replica(h, R2, 1.0, 1000 + 5 * MB)
    changes = as_replica(h, R1, 1.0, 1000)
    assert kinds(changes) == [(R1, ChangeKind.EJECTED)]
    assert h.lag(R1) == Lag(5 * MB, 0.0)
    assert h.readable_replicas() == [R2]
    assert kinds(as_replica(h, R1, 2.0, 1000 + 4 * MB)) == [(R1, ChangeKind.ADMITTED)]


def test_a_replica_behind_for_too_long_leaves_and_returns_when_it_catches_up() -> None:
    h = healthy(max_replica_lag=LagLimit(seconds=5))
    as_primary(h, P, 10.0, 2000)  # one write at 10 s, then the primary is idle
    for now in (11.0, 12.0, 15.0):
        as_primary(h, P, now, 2000)
        assert as_replica(h, R1, now, 1000) == []  # behind since 10 s: 5 s is still fine
    assert h.lag(R1) == Lag(1000, 5.0)
    assert kinds(as_replica(h, R1, 15.5, 1000)) == [(R1, ChangeKind.EJECTED)]
    assert h.lag(R1) == Lag(1000, 5.5)
    assert h.readable_replicas() == [R2]
    assert kinds(as_replica(h, R1, 16.0, 2000)) == [(R1, ChangeKind.ADMITTED)]


def test_an_idle_primary_never_makes_a_caught_up_replica_look_behind() -> None:
    h = healthy(max_replica_lag=LagLimit(seconds=1, bytes=0))
    for now in range(1, 600):
        as_primary(h, P, now, 1000)
        as_replica(h, R1, now + 0.5, 1000)
    assert h.lag(R1) == Lag(0, 0.0)
    assert h.readable_replicas() == [R1, R2]


def test_a_caught_up_replica_probed_before_the_primary_does_not_look_behind() -> None:
    # Writes all the time: each round the replica (probed first) has everything the
    # primary had so far, and the primary, probed next, is already further on.
    h = healthy(max_replica_lag=LagLimit(seconds=0.5, bytes=10))
    lsn = 1000
    for now in range(1, 100):
        as_replica(h, R1, now, lsn)
        lsn += MB
        as_primary(h, P, now + 0.01, lsn)
    assert h.lag(R1) == Lag(0, 0.0)
    assert R1 in h.readable_replicas()


def test_lag_is_unknown_until_the_primary_was_seen_before_the_replica() -> None:
    h = cluster(max_replica_lag=LagLimit(bytes=MB))
    as_replica(h, R1, 0.0, 1000)
    assert h.lag(R1) is None
    assert h.status(R1) is Status.LAGGING
    as_primary(h, P, 0.1, 1000)
    assert kinds(as_replica(h, R1, 1.0, 1000)) == [(R1, ChangeKind.ADMITTED)]


def test_without_a_limit_lag_is_ignored() -> None:
    h = healthy()
    as_primary(h, P, 1.0, 1000 + 100 * MB)
    as_replica(h, R1, 100.0, 1000)
    assert h.lag(R1) == Lag(100 * MB, 99.0)
    assert R1 in h.readable_replicas()


def test_a_failover_starts_lag_over_from_the_new_primary() -> None:
    h = healthy(max_replica_lag=LagLimit(bytes=MB))
    as_primary(h, P, 4.0, 1000 + 50 * MB)  # WAL the promoted replica never got
    fail_over(h)  # R1 on timeline 2 at 2000
    assert kinds(as_replica(h, R2, 7.0, 2000, tl=2)) == [(R2, ChangeKind.ADMITTED)]
    assert h.lag(R2) == Lag(0, 0.0)


def test_a_failover_does_not_date_lag_from_the_old_primary_positions() -> None:
    h = healthy(max_replica_lag=LagLimit(seconds=2))
    as_primary(h, P, 4.0, 1500)
    fail_over(h)  # R1 on timeline 2 at 2000, first seen at 6 s
    as_replica(h, R2, 7.0, 1200, tl=2)
    assert h.lag(R2) == Lag(800, 1.0)  # not behind since 4 s, when the old primary had 1500
    assert h.readable_replicas() == [R2]


def test_the_history_forgets_its_oldest_positions_past_its_limit() -> None:
    wal = WalHistory(limit=3)
    for at in range(5):
        wal.note(100 * (at + 1), float(at))  # 100 at 0 s ... 500 at 4 s
    assert wal.lag(500, 0.5) is None  # the positions seen by 0.5 s are forgotten
    assert wal.lag(50, 4.0) == Lag(450, 2.0)  # behind since at least the oldest kept (2 s)
    wal.note(10, 5.0)  # went back: another history
    assert wal.lag(10, 4.0) is None
    assert wal.lag(0, 5.0) == Lag(10, 0.0)


def test_lag_limits_from_user_options() -> None:
    assert LagLimit.of(None) is None
    assert LagLimit.of(2.5) == LagLimit(seconds=2.5)
    assert LagLimit.of(timedelta(minutes=1)) == LagLimit(seconds=60)
    assert LagLimit.of({"bytes": MB}) == LagLimit(bytes=MB)
    assert LagLimit.of({"seconds": 1, "bytes": MB}) == LagLimit(1, MB)
    limit = LagLimit(bytes=10)
    assert LagLimit.of(limit) is limit
    assert str(LagLimit(1.5, 100)) == "1.5 s / 100 bytes"


@pytest.mark.parametrize(
    "value",
    [-1, float("nan"), float("inf"), True, "5", {}, {"second": 1}, {"bytes": 1.5}, {"bytes": -1}],
)
def test_a_bad_lag_limit_is_a_configuration_error(value: Any) -> None:
    with pytest.raises(ConfigurationError):
        LagLimit.of(value)


# -- read-your-writes and where reads go -----------------------------------------------


def test_read_your_writes_picks_the_replicas_that_replayed_the_position() -> None:
    h = healthy()
    as_primary(h, P, 1.0, 3000)
    as_replica(h, R1, 1.0, 2999)
    as_replica(h, R2, 1.0, 3000)
    assert h.readable_replicas(3000) == [R2]
    assert h.readable_replicas(2999) == [R1, R2]
    assert h.readable_replicas(3000, timeline=1) == [R2]
    assert h.readable_replicas(3000, timeline=2) == []  # a position on another history
    assert h.read_plan(3000) == h.read_plan(3000, timeline=1)
    assert h.read_plan(3000).replicas == (R2,)


def test_read_your_writes_goes_to_the_primary_when_no_replica_caught_up() -> None:
    for fallback in (True, False):
        h = healthy(fallback_to_primary=fallback)
        plan = h.read_plan(5000, timeline=1)
        assert (plan.replicas, plan.primary, plan.on_primary) == ((), P, True)
        assert "0/1388 on timeline 1" in plan.reason


def test_a_down_replica_is_never_chosen_for_read_your_writes() -> None:
    h = healthy()
    h.probe_failed(R1, 1.0, "refused")
    assert h.readable_replicas(1000) == [R2]


def test_reads_fall_back_to_the_primary_when_no_replica_is_usable() -> None:
    h = healthy()
    assert h.read_plan() == h.read_plan(None) == type(h.read_plan())((R1, R2), P)
    assert not report.stats(h, 0.0)["reads_on_primary"]
    h.probe_failed(R1, 1.0, "refused")
    h.probe_failed(R2, 1.0, "refused")
    plan = h.read_plan()
    assert (plan.replicas, plan.primary, plan.on_primary) == ((), P, True)
    assert report.stats(h, 1.0)["reads_on_primary"] is True


def test_without_fallback_reads_have_nowhere_to_go_when_no_replica_is_usable() -> None:
    h = healthy(fallback_to_primary=False)
    assert h.read_plan().primary is None  # not even as a retry's last resort
    h.probe_failed(R1, 1.0, "refused")
    h.probe_failed(R2, 1.0, "refused")
    plan = h.read_plan()
    assert (plan.replicas, plan.primary, plan.on_primary) == ((), None, False)
    assert "fallback_to_primary is off" in plan.reason
    assert report.stats(h, 1.0)["reads_on_primary"] is False


# -- what the shell shows -------------------------------------------------------------


def test_no_primary_is_described_with_what_was_last_seen_of_each_node() -> None:
    h = healthy()
    h.probe_failed(P, 5.0, "connection refused")
    h.probe_failed(R2, 5.0, "timeout")
    text = report.describe(h, 7.5)
    assert h.primary() is None
    assert text.startswith("primary: none usable (timeline 1)")
    assert f"{P}: unavailable (connection refused), 1 failures in a row" in text
    assert "last seen 7.5 s ago as a primary on timeline 1 at 0/3E8" in text
    assert f"{R1}: replica (in the read rotation), last seen 7.5 s ago as a replica" in text
    assert f"{R2}: unavailable (timeout)" in text
    assert "never answered" in report.describe(cluster(), 0.0)


def test_stats_count_the_changes_and_show_each_node() -> None:
    h = healthy()
    fail_over(h)
    as_primary(h, P, 6.5, 1500)
    stats = report.stats(h, 7.0)
    assert stats["primary"] == R1
    assert stats["timeline"] == 2
    assert stats["changes"] == {
        "promoted": 1,
        "demoted": 0,
        "fenced": 1,
        "rejected": 0,
        "ejected": 2,  # the old primary, then R2 (off the new timeline)
        "admitted": 2,  # the replicas' first probes
    }
    assert stats["nodes"][P]["status"] == "fenced"
    assert stats["nodes"][R2]["timeline"] == 1


def test_stats_show_a_down_node_and_its_backoff() -> None:
    h = healthy()
    h.probe_failed(R1, 5.0, "connection refused")
    h.probe_failed(R1, 5.2, "connection refused")  # during its backoff: not longer
    stats = report.stats(h, 5.5)
    assert stats["nodes"][R1]["health"] == "down"
    assert stats["nodes"][R1]["retry_in"] == pytest.approx(0.5)  # its backoff runs to 6 s
    assert stats["nodes"][R1]["failures"] == 2
    assert stats["nodes"][R1]["last_error"] == "connection refused"
    stats = report.stats(h, 7.0)
    assert stats["nodes"][R1]["retry_in"] == 0.0
    fail_over(h)
    stats = report.stats(h, 7.0)
    assert stats["nodes"][P]["failures"] == 2
    assert stats["nodes"][P]["last_error"] == "connection refused"
    assert stats["nodes"][R2]["status"] == "off timeline"
    assert stats["nodes"][R1]["lsn"] == "0/7D0"


def test_a_change_reads_well_in_a_log_line() -> None:
    h = healthy()
    [change] = h.probe_failed(R1, 1.0, "connection refused")
    assert str(change) == f"{R1} ejected (replica -> unavailable): connection refused"


def test_the_cluster_rejects_bad_node_lists() -> None:
    with pytest.raises(ConfigurationError, match="unique"):
        ClusterHealth([P, P], P)
    with pytest.raises(ConfigurationError, match="not one of the nodes"):
        ClusterHealth([R1], P)


@pytest.mark.parametrize(("lsn", "tl"), [(-1, 1), (2**64, 1), (0, 0), (0, 2**32)])
def test_a_probe_with_impossible_values_is_refused(lsn: int, tl: int) -> None:
    h = healthy()
    with pytest.raises(ValueError, match=r"WAL position|timeline"):
        as_replica(h, R1, 1.0, lsn, tl)
    assert h.readable_replicas() == [R1, R2]


# -- LSNs and tokens --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("0/0", 0), ("16/B374D848", 0x16_B374D848), ("FFFFFFFF/FFFFFFFF", 2**64 - 1)],
)
def test_lsn_text_round_trips(text: str, value: int) -> None:
    assert parse_lsn(text) == value
    assert format_lsn(value) == text


def test_lsn_text_accepts_what_the_server_accepts() -> None:
    assert parse_lsn("16/b374d848") == parse_lsn("00000016/B374D848")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "16",
        "/1",
        "1/",
        "1/2/3",
        "-1/0",
        "+1/0",
        " 1/0",
        "1/0\n",
        "123456789/0",
        "g/0",
        "1_0/0",
        None,
    ],
)
def test_bad_lsn_text_is_a_value_error(text: Any) -> None:
    with pytest.raises(ValueError, match="not a WAL position"):
        parse_lsn(text)


@pytest.mark.parametrize("value", [-1, 2**64, True, 1.0])
def test_format_lsn_refuses_what_is_not_a_position(value: Any) -> None:
    with pytest.raises(ValueError, match="WAL position"):
        format_lsn(value)


@pytest.mark.parametrize(
    ("lsn", "tl"), [(0, None), (0x16_B374D848, None), (2**64 - 1, 2**32 - 1), (1, 1), (255, 16)]
)
def test_tokens_round_trip(lsn: int, tl: int | None) -> None:
    token = encode_token(lsn, tl)
    assert decode_token(token) == Position(lsn, tl)
    assert all(c in "0123456789abcdef." for c in token)  # safe in a cookie or a URL


def test_a_token_is_short_and_versioned() -> None:
    assert encode_token(0x16_B374D848, 3) == "1.16b374d848.3"
    assert encode_token(0) == "1.0"
    assert str(Position(0x16_B374D848, 3)) == "16/B374D848 on timeline 3"


@pytest.mark.parametrize(
    ("lsn", "tl"), [(-1, None), (2**64, None), (0, 0), (0, 2**32), (True, None), (0, False)]
)
def test_encoding_an_impossible_position_is_a_value_error(lsn: Any, tl: Any) -> None:
    with pytest.raises(ValueError, match=r"WAL position|timeline"):
        encode_token(lsn, tl)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "1",
        "1.",
        "1..3",
        "1.-5",  # negative
        "1.5.-1",
        "1.5.0",  # timeline 0 does not exist
        "1.10000000000000000",  # 2**64: one digit too many
        "1.5.100000000",  # 2**32
        "1." + "f" * 1000,  # huge
        "1.00ff",  # not the one spelling: leading zeros
        "1.FF",  # upper case
        "1.ff.2.3",
        "1. ff",
        "1.ff ",
        "1.f_f",  # int() would take these three
        "1.\u0661",  # a non-ASCII digit
        "1.ff;path=/",
        "v1.ff",
    ],
)
def test_a_malformed_token_is_a_configuration_error(token: str) -> None:
    with pytest.raises(ConfigurationError, match="consistency token"):
        decode_token(token)


@pytest.mark.parametrize("token", ["2.ff", "0.ff", "17.ff.1"])
def test_a_token_of_another_version_says_so(token: str) -> None:
    with pytest.raises(ConfigurationError, match=r"version \d+ is not supported"):
        decode_token(token)


@pytest.mark.parametrize("token", [None, b"1.ff", 255])
def test_a_token_that_is_not_a_string_is_a_configuration_error(token: Any) -> None:
    with pytest.raises(ConfigurationError, match="non-empty string"):
        decode_token(token)


def test_a_bad_token_message_does_not_echo_a_huge_input() -> None:
    with pytest.raises(ConfigurationError) as info:
        decode_token("1." + "a" * 10_000)
    assert len(str(info.value)) < 200


# -- timelines never go back; an unknown one is not evidence (issue 12: 5, 7) --------


def test_a_replica_whose_wal_receiver_dropped_keeps_its_timeline_and_serves_reads() -> None:
    h = healthy()
    fail_over(h)  # R1 promoted: timeline 2
    as_replica(h, R2, 6.5, 2000, tl=2)
    assert h.readable_replicas() == [R2]
    # R1 dies: R2's WAL receiver drops, its probe cannot tell the timeline.
    h.probe_failed(R1, 7.0, "connection refused")
    h.probe_succeeded(R2, 7.2, in_recovery=True, lsn=2000, timeline=None)
    assert h.status(R2) is Status.REPLICA
    assert h.readable_replicas() == [R2]
    assert report.stats(h, 7.2)["nodes"][R2]["timeline"] == 2
    # An older timeline reported later does not take it back either.
    as_replica(h, R2, 7.4, 2000, tl=1)
    assert report.stats(h, 7.4)["nodes"][R2]["timeline"] == 2


def test_a_replica_never_seen_with_a_timeline_is_read_from() -> None:
    h = cluster()
    as_primary(h, P, 0.0, 1000)
    h.probe_succeeded(R1, 0.0, in_recovery=True, lsn=1000, timeline=None)
    assert h.status(R1) is Status.REPLICA


def test_a_primary_must_report_its_timeline() -> None:
    with pytest.raises(ValueError, match="always knows its timeline"):
        cluster().probe_succeeded(P, 0.0, in_recovery=False, lsn=1, timeline=None)


def test_a_replica_ahead_of_a_hung_primary_is_not_ejected_and_the_seat_is_superseded() -> None:
    h = healthy()
    # P hangs (no news yet); R1 is promoted, R2 follows it: R2's probe comes first.
    changes = as_replica(h, R2, 1.0, 1000, tl=2)
    assert (R2, ChangeKind.EJECTED) not in kinds(changes)  # in-flight reads go on
    assert h.status(R2) is Status.REPLICA
    # Someone is on a newer timeline: P no longer takes writes, though no probe failed.
    assert h.primary() is None
    assert (P, ChangeKind.FENCED) in kinds(changes)  # what waits on it is aborted
    changes = as_primary(h, R1, 1.1, 1100, tl=2)
    assert (R1, ChangeKind.PROMOTED) in kinds(changes)
    assert h.primary() == R1


def test_an_old_primary_answering_again_is_never_readmitted_once_a_newer_timeline_was_seen() -> (
    None
):
    h = healthy()
    h.probe_failed(P, 1.0, "probe timed out")  # SIGSTOPped
    as_replica(h, R2, 1.2, 1000, tl=2)  # follows a promoted R1 that no probe reached yet
    # P thaws within the same round, still a primary on timeline 1.
    changes = as_primary(h, P, 1.3, 1200, tl=1)
    assert h.primary() is None
    assert h.status(P) is Status.FENCED
    assert (P, ChangeKind.FENCED) in kinds(changes)
    as_primary(h, R1, 1.4, 1300, tl=2)
    assert h.primary() == R1


# -- another cluster's node (issue 12: 2) ------------------------------------------------


def test_a_node_of_another_cluster_is_rejected_and_never_used() -> None:
    h = cluster(system_identifier=7)
    as_primary_of = h.probe_succeeded
    as_primary_of(P, 0.0, in_recovery=False, lsn=1000, timeline=1, system_identifier=7)
    changes = h.probe_succeeded(
        R1, 0.0, in_recovery=True, lsn=1000, timeline=1, system_identifier=9
    )
    assert kinds(changes) == [(R1, ChangeKind.REJECTED)]
    assert h.status(R1) is Status.FOREIGN
    assert "system_identifier 9, not this cluster's 7" in changes[0].reason
    assert h.readable_replicas() == []
    # Even answering as a primary on a newer timeline, it never takes the seat.
    h.probe_failed(P, 1.0, "connection refused")
    h.probe_succeeded(R1, 1.1, in_recovery=False, lsn=9000, timeline=5, system_identifier=9)
    assert h.primary() is None
    assert report.stats(h, 1.1)["nodes"][R1]["system_identifier"] == 9


def test_the_first_identifier_seen_is_the_clusters_when_none_was_given() -> None:
    h = cluster()
    h.probe_succeeded(P, 0.0, in_recovery=False, lsn=1, timeline=1, system_identifier=7)
    assert h.system_identifier == 7


# -- backoff: capped at a few seconds, ended by a role change (issue 12: 8) -------------


def test_the_default_backoff_never_exceeds_four_seconds() -> None:
    h = healthy()
    waits = []
    now = 1.0
    for _ in range(10):
        h.probe_failed(R1, now, "connection refused")
        waits.append(report.stats(h, now)["nodes"][R1]["retry_in"])
        now += waits[-1]
    assert max(waits) == 4.0
    assert waits[:4] == [1.0, 2.0, 4.0, 4.0]


def test_a_role_change_ends_every_backoff() -> None:
    h = healthy()
    for now in (1.0, 2.0, 4.0):
        h.probe_failed(R2, now, "connection refused")  # backoff now 4 s: until 8 s
    assert not h.probe_due(R2, 4.5)
    fail_over(h)  # at 5-6 s
    assert h.probe_due(R2, 6.0)
    changes = as_replica(h, R2, 6.0, 2000, tl=2)
    assert (R2, ChangeKind.ADMITTED) in kinds(changes)


def test_with_no_primary_at_open_the_seat_holder_serves_reads_until_it_is_promoted() -> None:
    h = cluster()  # P holds the seat, but every node answers as a replica
    for name in (P, R1, R2):
        as_replica(h, name, 0.0, 1000)
    assert h.primary() is None
    assert h.readable_replicas() == [P, R1, R2]
    assert (P, ChangeKind.PROMOTED) in kinds(as_primary(h, P, 1.0, 1100, tl=2))
    assert h.primary() == P
    h2 = cluster()
    for name in (P, R1, R2):
        as_replica(h2, name, 0.0, 1000)
    assert (R2, ChangeKind.PROMOTED) in kinds(as_primary(h2, R2, 1.0, 1100, tl=2))
    assert h2.primary() == R2
