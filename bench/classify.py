"""Workload 2: classification speed, with no database.

- a cached hit;
- the uncached routing corpus (tests/classifier/data/routing_corpus.tsv)
  against ``sqlglot.parse_one`` of the same statements, in pure-Python sqlglot
  and with sqlglotc (its mypyc-compiled modules) where installed, round after
  round: each round runs the pure figures in a subprocess started through
  tools/sqlglot_pure.py (which loads sqlglot from its ``.py`` files although
  sqlglotc's ``.so`` files lie beside them), then this process's own figures;
- a workload of plain SELECTs with inlined literals (``WHERE id = 42``,
  ``id = 43``, ...): the cache's hit rate with its shape keys, the rate an
  exact-text cache of the same size would have, and the cost per statement;
- two statements of over 10 MB (an INSERT and an IN list), which are scanned
  rather than parsed.

``python -m bench.classify --pure-round`` prints one pure round as JSON.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import statistics
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import sqlglot

from pgcluster.classifier import Policy, classify
from pgcluster.classifier._classify import shape_key

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "classifier" / "data" / "routing_corpus.tsv"
PURE = ROOT / "tools" / "sqlglot_pure.py"
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


def compiled() -> bool:
    """Whether this process runs sqlglotc's compiled modules."""
    from sqlglot import tokenizer_core

    return not str(getattr(tokenizer_core, "__file__", "")).endswith(".py")


def one_round(statements: list[str]) -> dict[str, float]:
    """Mean microseconds per statement: our uncached classification, then sqlglot's parse."""
    nocache = Policy(cache_size=0)
    start = time.perf_counter()
    for s in statements:
        classify(s, nocache)
    ours = (time.perf_counter() - start) / len(statements)
    start = time.perf_counter()
    for s in statements:
        try:  # noqa: SIM105 (the same loop shape as ours: no context manager overhead)
            sqlglot.parse_one(s, read="postgres")
        except sqlglot.errors.SqlglotError:
            pass
    theirs = (time.perf_counter() - start) / len(statements)
    return {"uncached_us": ours * 1e6, "parse_us": theirs * 1e6}


def pure_round() -> dict[str, Any]:
    """One round in a pure-Python sqlglot, in a subprocess (tools/sqlglot_pure.py)."""
    out = subprocess.run(
        [sys.executable, str(PURE), "-m", "bench.classify", "--pure-round"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def uncached_vs_parse(statements: list[str], rounds: int) -> dict[str, Any]:
    """Medians over the rounds, pure (subprocess) and this process's, interleaved."""
    pure: list[dict[str, Any]] = []
    here: list[dict[str, float]] = []
    for _ in range(rounds):
        pure.append(pure_round())
        here.append(one_round(statements))
    assert not any(p["compiled"] for p in pure)

    def median(rows: list[Any], key: str) -> float:
        return float(statistics.median(r[key] for r in rows))

    return {
        "sqlglotc": compiled(),
        "uncached_us": median(here, "uncached_us"),
        "parse_us": median(here, "parse_us"),
        "pure_uncached_us": median(pure, "uncached_us"),
        "pure_parse_us": median(pure, "parse_us"),
    }


# Plain SELECTs as an ORM with inlined literals sends them.
_SHAPES = (
    "SELECT id, name, qty FROM bench_item WHERE id = {i}",
    "SELECT * FROM users WHERE email = 'user{i}@example.com' LIMIT 1",
    "SELECT id, total FROM orders WHERE user_id = {i} AND status = 'paid' ORDER BY id DESC LIMIT 20",
    "SELECT u.id, u.name FROM users u WHERE u.id IN ({i}, {j}, {k})",
    "SELECT id FROM products WHERE price > {i}.5 AND stock >= {j} ORDER BY price",
)


def inlined(n: int, seed: int = 1) -> dict[str, Any]:
    """Hit rate (shape keys, and an exact-text LRU of the same size) and µs per statement."""
    rng = random.Random(seed)
    texts = [
        rng.choice(_SHAPES).format(
            i=rng.randrange(10**6), j=rng.randrange(10**6), k=rng.randrange(10**6)
        )
        for _ in range(n)
    ]
    policy = Policy()
    size = policy.cache_size
    exact: OrderedDict[str, None] = OrderedDict()
    exact_hits = 0
    for t in texts:  # what a cache keyed by the exact text alone would do
        if t in exact:
            exact_hits += 1
            exact.move_to_end(t)
        else:
            exact[t] = None
            if len(exact) > size:
                exact.popitem(last=False)
    hits = 0
    start = time.perf_counter()
    for t in texts:
        key = shape_key(t)
        hits += t in policy._cache or (key is not None and key in policy._cache)
        classify(t, policy)
    elapsed = time.perf_counter() - start
    # The same statements again, timed alone (no counting), on the warm cache.
    start = time.perf_counter()
    for t in texts:
        classify(t, policy)
    warm = time.perf_counter() - start
    return {
        "statements": n,
        "shapes": len(_SHAPES),
        "hit_rate": hits / n,
        "exact_hit_rate": exact_hits / n,
        "us_per_statement": elapsed / n * 1e6,
        "warm_us_per_statement": warm / n * 1e6,
        "cache_entries": len(policy._cache),
    }


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
    one_round(statements)  # warm-up, as the pure subprocess does
    speed = uncached_vs_parse(statements, rounds=1 if quick else 7)
    return {
        "cached_us": cached_hit(100_000 if quick else 1_000_000),
        "corpus_statements": len(statements),
        **speed,
        # Kept: the ratio every earlier report gave, in this process.
        "sqlglot_parse_us": speed["parse_us"],
        "uncached_over_parse": speed["uncached_us"] / speed["parse_us"],
        "uncached_over_pure_parse": speed["uncached_us"] / speed["pure_parse_us"],
        "inlined": inlined(5_000 if quick else 50_000),
        "huge": huge(),
    }


if __name__ == "__main__":
    if sys.argv[1:] != ["--pure-round"]:
        sys.exit("usage: python -m bench.classify --pure-round (python -m bench runs the rest)")
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    one_round(corpus())  # warm-up: first calls, lazy imports
    figures: dict[str, Any] = {"compiled": compiled(), **one_round(corpus())}
    print(json.dumps(figures))
