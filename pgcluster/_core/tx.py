"""Transaction options and the retry policy of `run_tx()`: pure decisions, no I/O."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg import IsolationLevel

from ..errors import ConfigurationError

# SQLSTATEs after which re-running the whole transaction is the documented cure.
RETRYABLE_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
    }
)

_ISOLATION_NAMES = {
    "read uncommitted": IsolationLevel.READ_UNCOMMITTED,
    "read committed": IsolationLevel.READ_COMMITTED,
    "repeatable read": IsolationLevel.REPEATABLE_READ,
    "serializable": IsolationLevel.SERIALIZABLE,
}


@dataclass(frozen=True, slots=True)
class TxOptions:
    """The characteristics a transaction starts with (None: the server's default)."""

    isolation_level: IsolationLevel | None = None
    read_only: bool | None = None
    deferrable: bool | None = None

    @classmethod
    def of(
        cls,
        isolation_level: IsolationLevel | str | None = None,
        read_only: bool | None = None,
        deferrable: bool | None = None,
    ) -> TxOptions:
        """Check the user's options; a bad value raises `ConfigurationError`."""
        for name, value in (("read_only", read_only), ("deferrable", deferrable)):
            if value is not None and not isinstance(value, bool):
                raise ConfigurationError(f"{name} must be True, False or None, not {value!r}")
        return cls(parse_isolation_level(isolation_level), read_only, deferrable)

    @property
    def is_default(self) -> bool:
        """True when nothing was asked for (a savepoint can then stand for a transaction)."""
        return self.isolation_level is None and self.read_only is None and self.deferrable is None


def parse_isolation_level(value: IsolationLevel | str | None) -> IsolationLevel | None:
    """Accept an `IsolationLevel`, or its SQL name in any case ("serializable", "REPEATABLE READ")."""
    if value is None or isinstance(value, IsolationLevel):
        return value
    if isinstance(value, str):
        key = " ".join(value.replace("_", " ").lower().split())
        if key in _ISOLATION_NAMES:
            return _ISOLATION_NAMES[key]
    choices = ", ".join(repr(name) for name in _ISOLATION_NAMES)
    raise ConfigurationError(
        f"unknown isolation level {value!r}: use a psycopg.IsolationLevel or one of {choices}"
    )


def is_retryable(error: BaseException) -> bool:
    """True when *error* means "run the whole transaction again" (40001, 40P01)."""
    return isinstance(error, psycopg.Error) and error.sqlstate in RETRYABLE_SQLSTATES


def backoff_delays(
    retries: int,
    *,
    base: float = 0.01,
    cap: float = 1.0,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield *retries* sleep times: exponential backoff with full jitter.

    Jitter keeps two transactions that failed against each other from
    colliding again in lockstep.
    """
    if retries < 0:
        raise ConfigurationError(f"retries must be >= 0, not {retries}")
    uniform = (rng or random).uniform
    for attempt in range(retries):
        yield uniform(0, min(cap, base * 2**attempt))
