"""classify() against every row of tests/classifier/data/routing_corpus.tsv.

Run ``python tests/classifier/test_classifier_corpus.py`` (or pytest with ``-s``) for the counts.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pytest

from pgcluster.classifier import Target, classify

CORPUS = Path(__file__).parent / "data" / "routing_corpus.tsv"
PUBLIC = Path("/work/shared/routing-corpus-public.tsv")


class Row(NamedTuple):
    line: int
    expected: Target
    category: str
    sql: str


def load(path: Path = CORPUS) -> list[Row]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == ["expected", "category", "sql"]
        return [
            Row(i, Target(r["expected"]), r["category"], r["sql"])
            for i, r in enumerate(reader, start=2)
        ]


def counts(rows: list[Row]) -> str:
    c = Counter(r.expected for r in rows)
    return (
        f"{len(rows)} statements: {c[Target.PRIMARY]} primary, {c[Target.REPLICA]} replica, "
        f"{len({r.category for r in rows})} categories"
    )


def test_corpus_is_well_formed() -> None:
    rows = load()
    print("\nrouting corpus:", counts(rows))
    assert len(rows) >= 300
    assert len({r.sql for r in rows}) == len(rows), "duplicate statements"
    for r in rows:
        assert r.sql.strip()
        assert r.category
        assert "\t" not in r.sql


@pytest.mark.skipif(
    not PUBLIC.exists(), reason=f"the public routing corpus {PUBLIC} is not on this machine"
)
def test_corpus_includes_the_public_rows() -> None:
    ours = {(r.expected, r.category, r.sql) for r in load()}
    public = load(PUBLIC)
    missing = [r for r in public if (r.expected, r.category, r.sql) not in ours]
    assert not missing, missing


def test_every_row_routes_as_labelled() -> None:
    rows = load()
    wrong = []
    for row in rows:
        route = classify(row.sql)
        if route.target is not row.expected:
            wrong.append((row, route))
    if wrong:
        # A write sent to a replica is the worst bug: list those first.
        wrong.sort(key=lambda w: w[0].expected is not Target.PRIMARY)
        lines = [
            f"{'WRITE SENT TO A REPLICA' if row.expected is Target.PRIMARY else 'read sent to primary'}"
            f" line {row.line} [{row.category}] {row.sql!r}: got {route.target.value} "
            f"({route.reason})"
            for row, route in wrong
        ]
        raise AssertionError(
            f"{len(wrong)} of {len(rows)} rows misclassified:\n" + "\n".join(lines)
        )


if __name__ == "__main__":
    print(counts(load()))
