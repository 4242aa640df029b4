"""Workload 2: classification speed, with no database.

A cached hit; the uncached routing corpus (tests/classifier/data/routing_corpus.tsv)
against ``sqlglot.parse_one`` of the same statements, interleaved round
after round; and two statements of over 10 MB (an INSERT and an IN list),
which are scanned rather than parsed.
"""

from __future__ import annotations

import csv
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import sqlglot

from pgcluster.classifier import Policy, classify

CORPUS = (
    Path(__file__).resolve().parent.parent / "tests" / "classifier" / "data" / "routing_corpus.tsv"
)
CACHED_STATEMENT = "SELECT id, name, qty FROM bench_item WHERE id = %s"


def corpus() -> list[str]:
    with CORPUS.open(newline="") as f:
        return [r["sql"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def cached_hit(n: int) -> float:
    """Microseconds per classification of a statement already in the cache (best of 5)."""
    classify(CACHED_STATEMENT)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n // 5):
            classify(CACHED_STATEMENT)
        best = min(best, (time.perf_counter() - start) / (n // 5))
    return best * 1e6


def uncached_vs_parse(statements: list[str], rounds: int) -> tuple[float, float]:
    """Median microseconds per statement: our uncached classification, and sqlglot's parse."""
    nocache = Policy(cache_size=0)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        for s in statements:
            classify(s, nocache)
        ours.append((time.perf_counter() - start) / len(statements))
        start = time.perf_counter()
        for s in statements:
            try:  # noqa: SIM105 (the same loop shape as ours: no context manager overhead)
                sqlglot.parse_one(s, read="postgres")
            except sqlglot.errors.SqlglotError:
                pass
        theirs.append((time.perf_counter() - start) / len(statements))
    return statistics.median(ours) * 1e6, statistics.median(theirs) * 1e6


def _timed(statement: str) -> dict[str, Any]:
    start = time.perf_counter()
    route = classify(statement)
    return {
        "megabytes": len(statement) / 1e6,
        "us": (time.perf_counter() - start) * 1e6,
        "target": route.target.value,
    }


def huge() -> dict[str, dict[str, Any]]:
    """One classification each of a 13.9 MB INSERT and an 11.5 MB SELECT ... IN (...)."""
    values = ",".join(f"({i}, 'name {i}', {i}.5)" for i in range(420_000))
    ids = ", ".join(str(i) for i in range(1_400_000))
    return {
        "insert": _timed(f"INSERT INTO t (a, b, c) VALUES {values}"),
        "in_list_select": _timed(f"SELECT * FROM t WHERE id IN ({ids})"),
    }


def run(quick: bool) -> dict[str, Any]:
    """Every classification figure, in microseconds per statement."""
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # parse_one's own warnings
    statements = corpus()
    ours, theirs = uncached_vs_parse(statements, rounds=1 if quick else 7)
    return {
        "cached_us": cached_hit(100_000 if quick else 1_000_000),
        "corpus_statements": len(statements),
        "uncached_us": ours,
        "sqlglot_parse_us": theirs,
        "uncached_over_parse": ours / theirs,
        "huge": huge(),
    }
