"""Classification speed: cached hit, uncached corpus vs sqlglot.parse_one, a 10 MB statement.

    .venv/bin/python bench/classify.py

Prints microseconds per statement. The uncached classification of the
routing corpus and ``sqlglot.parse_one`` of the same statements are measured
interleaved, round after round, in one run, and reported side by side with
their ratio.
"""

from __future__ import annotations

import csv
import logging
import statistics
import sys
import time
from pathlib import Path

import sqlglot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pgcluster.classifier import Policy, classify  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "routing_corpus.tsv"


def corpus() -> list[str]:
    with CORPUS.open(newline="") as f:
        return [r["sql"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def cached_hit(n: int = 1_000_000) -> float:
    statement = "SELECT * FROM product WHERE product_id = %s"
    classify(statement)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n // 5):
            classify(statement)
        best = min(best, (time.perf_counter() - start) / (n // 5))
    return best * 1e6


def uncached_vs_parse(statements: list[str], rounds: int = 7) -> tuple[float, float]:
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


def huge() -> tuple[int, float, str, int, float, str]:
    values = ",".join(f"({i}, 'name {i}', {i}.5)" for i in range(420_000))
    insert = f"INSERT INTO t (a, b, c) VALUES {values}"
    start = time.perf_counter()
    r1 = classify(insert)
    t1 = time.perf_counter() - start
    ids = ", ".join(str(i) for i in range(1_400_000))
    select = f"SELECT * FROM t WHERE id IN ({ids})"
    start = time.perf_counter()
    r2 = classify(select)
    t2 = time.perf_counter() - start
    return len(insert), t1 * 1e6, r1.target.value, len(select), t2 * 1e6, r2.target.value


def main() -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # parse_one's own warnings
    statements = corpus()
    print(f"cached hit:              {cached_hit():8.3f} us/statement")
    ours, theirs = uncached_vs_parse(statements)
    print(
        f"uncached, {len(statements)} corpus statements: classify {ours:8.1f} us, "
        f"sqlglot.parse_one {theirs:8.1f} us, ratio {ours / theirs:.2f}"
    )
    n1, t1, r1, n2, t2, r2 = huge()
    print(f"huge INSERT ({n1 / 1e6:.1f} MB):    {t1:12.0f} us -> {r1}")
    print(f"huge IN-list SELECT ({n2 / 1e6:.1f} MB): {t2:12.0f} us -> {r2}")


if __name__ == "__main__":
    main()
