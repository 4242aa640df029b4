"""classify() scored against tests/classifier/data/world_corpus.tsv: real-world SQL, labelled on servers.

The labels come from running each statement on a real primary and hot standby
(tools/label_corpus.py; the file's header says what a label means). A
``primary`` row of class ``write`` (the standby refused it) classified
``replica`` fails the suite; the rest is a report: which ``replica`` rows the
classifier sends to the primary, and why, the "unreadable reads" (reasons
saying the statement "could not be parsed" or "could not be tokenized") first.

    python tests/classifier/test_world_corpus.py   # the report, for every corpus
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

from pgcluster.classifier import Target, classify
from tests.classifier import test_classifier_corpus as routing

WORLD = Path(__file__).parent / "data" / "world_corpus.tsv"
COLUMNS = ["expected", "category", "source", "sql"]
UNREADABLE = ("could not be parsed", "could not be tokenized")


class Row(NamedTuple):
    line: int
    expected: Target
    category: str
    source: str
    sql: str

    @property
    def kind(self) -> str:
        """The label's class: read, write, session, transaction, lock, node_probe, ..."""
        return self.category.partition(":")[0]


def load(path: Path = WORLD) -> list[Row]:
    rows: list[Row] = []
    header: list[str] | None = None
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if header is None:
            header = fields
            assert header == COLUMNS, header
            continue
        assert len(fields) == 4, f"line {number}: {len(fields)} fields"
        expected, category, source, sql = fields
        rows.append(Row(number, Target(expected), category, source, sql))
    return rows


class Labelled(Protocol):
    @property
    def expected(self) -> Target: ...
    @property
    def sql(self) -> str: ...


R = TypeVar("R", bound=Labelled)


def unreadable_reads(rows: Iterable[R]) -> list[R]:
    """The replica-labelled rows the classifier sends to the primary because it cannot read them."""
    out = []
    for row in rows:
        if row.expected is Target.REPLICA:
            route = classify(row.sql)
            if route.target is Target.PRIMARY and any(u in route.reason for u in UNREADABLE):
                out.append(row)
    return out


def reason_class(reason: str) -> str:
    """A reason with its particulars (names, literals, numbers) taken out, to count by."""
    reason = re.sub(r"\(line \d+, col(umn)? \d+\)|line \d+.*$", "", reason)
    reason = re.sub(r"\([^()]*\)$", "", reason.strip())
    reason = re.sub(r"[\w.\"]+\(\)", "f()", reason)
    reason = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    return re.sub(r"\d+", "N", reason).strip()


def misrouted_writes(rows: Iterable[Row]) -> list[tuple[Row, str]]:
    return [
        (r, route.reason)
        for r in rows
        if r.kind == "write" and (route := classify(r.sql)).target is Target.REPLICA
    ]


def report(rows: Sequence[Labelled], name: str) -> str:
    replica = [r for r in rows if r.expected is Target.REPLICA]
    to_primary = Counter[str]()
    for r in replica:
        route = classify(r.sql)
        if route.target is Target.PRIMARY:
            to_primary[reason_class(route.reason)] += 1
    unreadable = unreadable_reads(rows)
    share = len(unreadable) / len(replica) if replica else 0.0
    lines = [
        f"{name}: {len(rows)} rows, {len(replica)} replica-labelled; "
        f"{sum(to_primary.values())} of those sent to the primary; "
        f"unreadable reads: {len(unreadable)} ({share:.1%} of the replica rows)"
    ]
    lines += [f"  {n:5d}  {why}" for why, n in to_primary.most_common(25)]
    return "\n".join(lines)


ROWS = load()


def test_world_corpus_is_well_formed() -> None:
    assert len(ROWS) >= 1500
    assert len({r.sql for r in ROWS}) == len(ROWS), "duplicate statements"
    for r in ROWS:
        assert r.sql.strip()
        assert r.source
        assert r.category
        assert r.kind in {
            "read", "write", "session", "transaction", "lock", "advisory_lock", "node_probe",
            "admin",
        }, r  # fmt: skip
        assert (r.kind == "read") == (r.expected is Target.REPLICA), r


def test_world_corpus_shares_no_row_with_the_routing_corpora() -> None:
    ours = {r.sql for r in routing.load()}
    if routing.PUBLIC.exists():
        ours |= {r.sql for r in routing.load(routing.PUBLIC)}
    assert not [r for r in ROWS if r.sql in ours]


def test_no_write_is_sent_to_a_replica() -> None:
    wrong = misrouted_writes(ROWS)
    assert not wrong, "WRITES SENT TO A REPLICA:\n" + "\n".join(
        f"line {r.line} [{r.source}] {r.sql!r}: {why}" for r, why in wrong
    )


def test_report() -> None:
    """Not an assertion: the counts, shown with pytest -s."""
    print("\n" + report(ROWS, "world corpus"))
    assert unreadable_reads([]) == []


def main() -> None:
    print(report(ROWS, "world corpus (tests/classifier/data/world_corpus.tsv)"))
    print(report(routing.load(), "routing corpus (tests/classifier/data/routing_corpus.tsv)"))
    if routing.PUBLIC.exists():
        print(report(routing.load(routing.PUBLIC), f"public corpus ({routing.PUBLIC})"))
    print("\nunreadable reads of the world corpus:")
    for r in unreadable_reads(ROWS):
        print(f"  line {r.line} [{r.source}] {r.sql[:160]!r}: {classify(r.sql).reason[:160]}")
    wrong = misrouted_writes(ROWS)
    print(f"\nwrites sent to a replica: {len(wrong)}")
    for r, why in wrong:
        print(f"  line {r.line} [{r.source}] {r.sql!r}: {why}")


if __name__ == "__main__":
    main()
