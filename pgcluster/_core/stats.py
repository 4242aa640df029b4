"""Counters of where statements went and what went wrong: `Cluster.get_stats()`'s data."""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from typing import Any


class RoutingStats:
    """Per node: statements routed, errors, misroutes; per route reason: statements.

    Thread-safe with a *lock* (a sync cluster is shared by threads, and passes a
    `threading.Lock`; one event loop needs none).
    """

    def __init__(self, lock: AbstractContextManager[Any] | None = None) -> None:
        self._lock = lock if lock is not None else nullcontext()
        self._routed: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._misroutes: Counter[str] = Counter()
        self._refusals: Counter[str] = Counter()  # misroutes by the standby's SQLSTATE
        self._reasons: Counter[str] = Counter()

    def routed(self, node: str, reason: str) -> None:
        """A statement was sent to *node* because of *reason*."""
        with self._lock:
            self._routed[node] += 1
            self._reasons[reason] += 1

    def error(self, node: str) -> None:
        """A statement failed on *node* (whatever the cause)."""
        with self._lock:
            self._errors[node] += 1

    def misroute(self, node: str, sqlstate: str) -> None:
        """*node*, a replica, refused a statement classified as a read with *sqlstate*."""
        with self._lock:
            self._misroutes[node] += 1
            self._refusals[sqlstate] += 1

    def node(self, name: str) -> dict[str, int]:
        with self._lock:
            return {
                "routed": self._routed[name],
                "errors": self._errors[name],
                "misroutes": self._misroutes[name],
            }

    def reasons(self) -> dict[str, int]:
        with self._lock:
            return dict(self._reasons.most_common())

    def totals(self) -> dict[str, Any]:
        with self._lock:
            return {
                "routed": sum(self._routed.values()),
                "errors": sum(self._errors.values()),
                "misroutes": sum(self._misroutes.values()),
                "misroutes_by_sqlstate": dict(sorted(self._refusals.items())),
            }
