"""Replica lag: how far behind a replica was, and the limit it may not pass. Pure, no I/O."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..errors import ConfigurationError

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
