"""Transaction options and run_tx()'s backoff: pure logic, no database."""

from __future__ import annotations

import random

import psycopg
import pytest
from psycopg import IsolationLevel

from pgcluster._core.tx import (
    TxOptions,
    backoff_delays,
    is_retryable,
    parse_isolation_level,
)
from pgcluster.errors import ConfigurationError


@pytest.mark.parametrize(
    ("given", "level"),
    [
        ("serializable", IsolationLevel.SERIALIZABLE),
        ("REPEATABLE READ", IsolationLevel.REPEATABLE_READ),
        ("repeatable_read", IsolationLevel.REPEATABLE_READ),
        (" read   committed ", IsolationLevel.READ_COMMITTED),
        (IsolationLevel.READ_UNCOMMITTED, IsolationLevel.READ_UNCOMMITTED),
        (None, None),
    ],
)
def test_isolation_levels_by_name_or_enum(given: object, level: IsolationLevel | None) -> None:
    assert parse_isolation_level(given) == level  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["snapshot", "", 4, 1.5])
def test_unknown_isolation_levels_are_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="serializable"):
        parse_isolation_level(bad)  # type: ignore[arg-type]


def test_flags_must_be_booleans() -> None:
    with pytest.raises(ConfigurationError, match="read_only"):
        TxOptions.of(read_only="yes")  # type: ignore[arg-type]
    assert TxOptions.of().is_default
    assert not TxOptions.of(deferrable=False).is_default


def test_only_serialization_failures_and_deadlocks_are_retryable() -> None:
    assert is_retryable(psycopg.errors.SerializationFailure())
    assert is_retryable(psycopg.errors.DeadlockDetected())
    assert not is_retryable(psycopg.errors.UniqueViolation())
    assert not is_retryable(psycopg.OperationalError("connection lost"))
    assert not is_retryable(ValueError())


def test_backoff_is_bounded_jittered_and_growing() -> None:
    delays = list(backoff_delays(8, base=0.01, cap=0.5, rng=random.Random(1)))
    assert len(delays) == 8
    assert all(0 <= d <= min(0.5, 0.01 * 2**i) for i, d in enumerate(delays))
    assert len(set(delays)) == 8  # jittered: no two attempts in lockstep
    assert list(backoff_delays(0)) == []
    with pytest.raises(ConfigurationError):
        list(backoff_delays(-1))
