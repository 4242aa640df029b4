"""Count the reads the classifier cannot read: reasons saying sqlglot could not parse them.

Usage::

    .venv/bin/python tools/count_unreadable.py [-v]

For each corpus: the replica-labelled rows of tests/classifier/data/routing_corpus.tsv
and /work/shared/routing-corpus-public.tsv (if present), and every read of
tests/classifier/data/regress_reads.tsv, how many get a reason with "could not be
parsed" or "could not be tokenized", how many go to the primary, and how many the
token scan read. To count with an older classifier, put its package first on the
path: ``git archive <commit> pgcluster | tar -x -C /tmp/old`` then
``PYTHONPATH=/tmp/old .venv/bin/python tools/count_unreadable.py``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from pgcluster.classifier import Target, classify

DATA = Path(__file__).resolve().parent.parent / "tests" / "classifier" / "data"
CORPORA = [DATA / "routing_corpus.tsv", Path("/work/shared/routing-corpus-public.tsv")]
REGRESS = DATA / "regress_reads.tsv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _unreadable(reason: str) -> bool:
    return "could not be parsed" in reason or "could not be tokenized" in reason


def report(name: str, statements: list[str], verbose: bool) -> None:
    routes = [classify(sql) for sql in statements]
    lost = sum(_unreadable(r.reason) for r in routes)
    primary = sum(r.target is Target.PRIMARY for r in routes)
    scanned = sum("read by the token scan" in r.reason for r in routes)
    print(
        f"{name}: {lost} of {len(routes)} reads unreadable, {primary} on the primary, "
        f"{scanned} read by the token scan"
    )
    if verbose:
        for sql, route in zip(statements, routes, strict=True):
            if route.target is Target.PRIMARY:
                print(f"    {route.reason} | {sql}")


def main() -> None:
    verbose = "-v" in sys.argv[1:]
    for path in CORPORA:
        if path.exists():
            reads = [r["sql"] for r in _rows(path) if r["expected"] == "replica"]
            report(path.name, reads, verbose)
    report(REGRESS.name, [r["sql"] for r in _rows(REGRESS)], verbose)


if __name__ == "__main__":
    main()
