"""One node's health: a state machine (`TRANSITIONS`) with a backoff. Pure, no I/O.

Whether a node answers is all it decides; what the node is used for (its
role, its lag) is `health.ClusterHealth`'s business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

from ..errors import ConfigurationError

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
