"""RoutingStats: the counters behind `Cluster.get_stats()`, exact even under threads."""

from __future__ import annotations

import threading
from collections import Counter

from pgcluster._core.stats import RoutingStats


def test_counts_per_node_and_totals() -> None:
    stats = RoutingStats()
    stats.routed("primary", "INSERT writes rows")
    stats.routed("replica1", "a read-only query")
    stats.routed("replica1", "a read-only query")
    stats.error("replica1")
    stats.misroute("replica1", "0A000")
    stats.error("primary")

    assert stats.node("primary") == {"routed": 1, "errors": 1, "misroutes": 0}
    assert stats.node("replica1") == {"routed": 2, "errors": 1, "misroutes": 1}
    assert stats.node("never-used") == {"routed": 0, "errors": 0, "misroutes": 0}
    assert stats.totals() == {
        "routed": 3,
        "errors": 2,
        "misroutes": 1,
        "misroutes_by_sqlstate": {"0A000": 1},
    }


def test_a_fresh_stats_is_all_zeros() -> None:
    stats = RoutingStats()
    assert stats.totals() == {
        "routed": 0,
        "errors": 0,
        "misroutes": 0,
        "misroutes_by_sqlstate": {},
    }
    assert stats.reasons() == {}


def test_reasons_are_counted_across_nodes_most_common_first() -> None:
    stats = RoutingStats()
    for node, reason in [
        ("p", "rare"),
        ("r1", "common"),
        ("r2", "common"),
        ("p", "middle"),
        ("r1", "common"),
        ("r2", "middle"),
    ]:
        stats.routed(node, reason)
    assert list(stats.reasons().items()) == [("common", 3), ("middle", 2), ("rare", 1)]


class _ReadYieldsCounter(Counter[str]):
    """A Counter whose read runs Python code, so a thread switch can fall between the
    read and the write of ``c[k] += 1``: without the stats' lock, updates get lost."""

    def __getitem__(self, key: str) -> int:
        value = super().__getitem__(key)
        return value


def test_counts_stay_exact_across_threads_with_the_lock_a_sync_cluster_passes() -> None:
    stats = RoutingStats(threading.Lock())
    for attr in ("_routed", "_errors", "_misroutes", "_refusals", "_reasons"):
        setattr(stats, attr, _ReadYieldsCounter())
    threads, per_thread = 8, 10_000

    def work() -> None:
        for i in range(per_thread):
            stats.routed(f"n{i % 2}", "a read-only query")
            stats.error("n0")
            stats.misroute("n1", "25006")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    total = threads * per_thread
    assert stats.totals() == {
        "routed": total,
        "errors": total,
        "misroutes": total,
        "misroutes_by_sqlstate": {"25006": total},
    }
    assert stats.reasons() == {"a read-only query": total}
    assert stats.node("n0") == {"routed": total // 2, "errors": total, "misroutes": 0}
    assert stats.node("n1") == {"routed": total // 2, "errors": 0, "misroutes": total}
