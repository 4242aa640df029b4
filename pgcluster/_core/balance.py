"""Choosing a replica for the next read: round-robin, random or weighted. Pure, no I/O.

A balancer sees only names: which replicas exist and which are usable right
now is the caller's business. It never picks a replica outside *usable*.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeAlias

from ..errors import ConfigurationError

BalancerSpec: TypeAlias = "str | Mapping[str, float]"
"""``"round_robin"`` (default), ``"random"``, or a weight per replica (by name or DSN)."""


class Balancer(Protocol):
    """Orders the usable replicas for one read: first choice first, then the fallbacks."""

    def order(self, usable: Sequence[str]) -> list[str]:
        """*usable* in the order to try them (a read falls back to the next on failure)."""
        ...


class RoundRobin:
    """Each read starts one replica further along: an even spread over the usable ones."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def order(self, usable: Sequence[str]) -> list[str]:
        if not usable:
            return []
        # next() on itertools.count is atomic under the GIL: threads share it safely.
        start = next(self._counter) % len(usable)
        return [*usable[start:], *usable[:start]]


class Random:
    """A uniformly random first choice for each read."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def order(self, usable: Sequence[str]) -> list[str]:
        shuffled = list(usable)
        self._rng.shuffle(shuffled)
        return shuffled


class Weighted:
    """A random first choice in proportion to each replica's weight (0: fallback only)."""

    def __init__(self, weights: Mapping[str, float], rng: random.Random | None = None) -> None:
        for name, weight in weights.items():
            if (
                isinstance(weight, bool)
                or not isinstance(weight, (int, float))
                or not math.isfinite(weight)
                or weight < 0
            ):
                raise ConfigurationError(
                    f"the weight of replica {name!r} must be a finite number >= 0, not {weight!r}"
                )
        self._weights = dict(weights)
        self._rng = rng or random.Random()

    def order(self, usable: Sequence[str]) -> list[str]:
        # Efraimidis-Spirakis: key u ** (1 / w) orders a weighted sample without replacement.
        keyed = []
        for name in usable:
            weight = self._weights.get(name, 0.0)
            key = self._rng.random() ** (1.0 / weight) if weight > 0 else -1.0
            keyed.append((key, name))
        keyed.sort(reverse=True)
        return [name for _, name in keyed]


def make_balancer(
    spec: BalancerSpec, replicas: Sequence[str], rng: random.Random | None = None
) -> Balancer:
    """Build the balancer *spec* names; weights must name known nodes. *rng*: the
    randomness of ``"random"`` and weights (the shell's; a seeded one in tests)."""
    if isinstance(spec, Mapping):
        unknown = set(spec) - set(replicas)
        if unknown:
            raise ConfigurationError(
                f"weights name unknown replicas: {', '.join(sorted(unknown))}"
                f" (replicas: {', '.join(replicas) or 'none'})"
            )
        return Weighted(spec, rng)
    if spec == "round_robin":
        return RoundRobin()
    if spec == "random":
        return Random(rng)
    raise ConfigurationError(
        f"unknown balancer {spec!r}: use 'round_robin', 'random', or a dict of weights per replica"
    )
