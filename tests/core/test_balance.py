"""Replica balancers: which usable replica a read tries first, and the fallbacks after it."""

from __future__ import annotations

import random
from collections import Counter

import psycopg
import pytest

from pgcluster._core.balance import (
    Balancer,
    BalancerSpec,
    Random,
    RoundRobin,
    Weighted,
    make_balancer,
)
from pgcluster.errors import ConfigurationError

USABLE = ["r1", "r2", "r3"]


def firsts(balancer: Balancer, usable: list[str], picks: int) -> Counter[str]:
    """How often each replica came first over *picks* reads, checking every order is complete."""
    counts: Counter[str] = Counter()
    for _ in range(picks):
        order = balancer.order(usable)
        assert sorted(order) == sorted(usable)
        counts[order[0]] += 1
    return counts


def test_round_robin_rotates_on_each_call() -> None:
    rr = RoundRobin()
    assert [rr.order(USABLE) for _ in range(4)] == [
        ["r1", "r2", "r3"],
        ["r2", "r3", "r1"],
        ["r3", "r1", "r2"],
        ["r1", "r2", "r3"],
    ]


def test_round_robin_spreads_evenly() -> None:
    assert firsts(RoundRobin(), USABLE, 300) == {"r1": 100, "r2": 100, "r3": 100}


def test_round_robin_follows_a_shrinking_usable_list() -> None:
    rr = RoundRobin()
    rr.order(USABLE)
    assert firsts(rr, ["r1", "r3"], 10) == {"r1": 5, "r3": 5}


@pytest.mark.parametrize(
    "balancer",
    [RoundRobin(), Random(random.Random(1)), Weighted({"r1": 1.0}, random.Random(1))],
    ids=["round_robin", "random", "weighted"],
)
def test_no_usable_replica_gives_an_empty_order(balancer: Balancer) -> None:
    assert balancer.order([]) == []


@pytest.mark.parametrize(
    "balancer",
    [
        Random(random.Random(7)),
        Weighted({"r1": 1.0, "r2": 2.0, "r3": 3.0, "gone": 5.0}, random.Random(7)),
    ],
    ids=["random", "weighted"],
)
def test_random_choices_stay_within_usable_and_vary(balancer: Balancer) -> None:
    counts = firsts(balancer, USABLE, 600)
    assert set(counts) == set(USABLE)  # "gone", weighted but not usable, never comes up


def test_random_first_choice_is_uniform() -> None:
    counts = firsts(Random(random.Random(3)), USABLE, 3000)
    assert all(900 <= n <= 1100 for n in counts.values()), counts


def test_weighted_respects_proportions() -> None:
    counts = firsts(Weighted({"a": 3.0, "b": 1.0}, random.Random(42)), ["a", "b"], 4000)
    # Expected 3000 / 1000; the standard deviation is about 27.
    assert 2850 <= counts["a"] <= 3150, counts


@pytest.mark.parametrize(
    "weights",
    [{"a": 1.0, "b": 0.0, "c": 0.0}, {"a": 0.001}],
    ids=["zero", "absent_from_weights"],
)
def test_weight_zero_is_only_a_fallback(weights: dict[str, float]) -> None:
    balancer = Weighted(weights, random.Random(5))
    for _ in range(200):
        order = balancer.order(["b", "a", "c"])
        assert order[0] == "a"
        assert sorted(order) == ["a", "b", "c"]


def test_weight_zero_replicas_still_serve_when_alone() -> None:
    balancer = Weighted({"a": 1.0, "b": 0.0, "c": 0.0}, random.Random(5))
    assert sorted(balancer.order(["b", "c"])) == ["b", "c"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("round_robin", RoundRobin), ("random", Random), ({"r1": 2, "r2": 0.5}, Weighted)],
)
def test_make_balancer_builds_what_the_spec_names(
    spec: BalancerSpec, expected: type[object]
) -> None:
    assert isinstance(make_balancer(spec, USABLE), expected)


@pytest.mark.parametrize(
    ("spec", "replicas", "message"),
    [
        ("fastest", USABLE, "unknown balancer 'fastest'"),
        ("Round_Robin", USABLE, "unknown balancer"),
        (None, USABLE, "unknown balancer None"),
        ({"r1": 1, "r9": 1, "r8": 2}, USABLE, r"unknown replicas: r8, r9 \(replicas: r1, r2, r3\)"),
        ({"r1": 1}, [], r"unknown replicas: r1 \(replicas: none\)"),
        ({"r1": -1}, USABLE, "'r1' must be a finite number >= 0, not -1"),
        ({"r1": -0.5}, USABLE, "must be a finite number >= 0"),
        ({"r1": "3"}, USABLE, "must be a finite number >= 0, not '3'"),
        ({"r1": None}, USABLE, "must be a finite number >= 0, not None"),
    ],
)
def test_make_balancer_refuses_bad_specs(
    spec: BalancerSpec, replicas: list[str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        make_balancer(spec, replicas)
    assert isinstance(info.value, psycopg.ProgrammingError)


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), True])
def test_nan_infinite_and_boolean_weights_are_refused(weight: float) -> None:
    with pytest.raises(ConfigurationError, match="must be a finite number >= 0"):
        make_balancer({"r1": weight, "r2": 1.0}, USABLE)
