"""The relation catalog: reads of what a standby cannot read go to the primary.

`Policy.relation_catalog` as the classifier uses it (parse and scan), and
`replica_unreadable`, which builds it from the rows of the catalog query (the
server half is tests/shells/test_relation_catalog*.py).
"""

from __future__ import annotations

import pytest

from pgcluster._io.catalog import RelationRow, replica_unreadable
from pgcluster.classifier import Policy, Target, classify
from pgcluster.errors import ConfigurationError

P, R = Target.PRIMARY, Target.REPLICA
UNLOGGED = "is UNLOGGED: a standby cannot read it"
POLICY = Policy(relation_catalog={"app.scratch": UNLOGGED, "scratch": UNLOGGED})


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM scratch",
        "SELECT * FROM app.scratch WHERE v = %s",
        'SELECT * FROM "app"."scratch"',
        "SELECT s.v FROM orders o JOIN scratch s ON s.id = o.id",
        "SELECT * FROM orders WHERE id IN (SELECT id FROM app.scratch)",
        "WITH s AS (SELECT * FROM scratch) SELECT count(*) FROM s",
        "SELECT * FROM SCRATCH",  # case-folded, as PostgreSQL does
        "EXPLAIN ANALYZE SELECT * FROM scratch",
        "COPY (SELECT * FROM scratch) TO STDOUT",
    ],
)
def test_a_read_naming_an_unreadable_relation_goes_to_the_primary(sql: str) -> None:
    route = classify(sql, POLICY)
    assert route.target is P, route
    assert "scratch, which is UNLOGGED" in route.reason
    assert not route.movable  # a replica would refuse it: no hint moves it there


def test_a_replica_hint_cannot_send_it_to_a_replica() -> None:
    route = classify("/* pgcluster:replica */ SELECT * FROM scratch", POLICY)
    assert route.target is P
    assert "ignored" in route.reason


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM other.scratch",  # another schema's table of that name
        "SELECT * FROM scratches",
        "SELECT 'scratch' AS word",  # a string, not a name
        "SELECT * FROM orders",
    ],
)
def test_other_relations_stay_on_replicas(sql: str) -> None:
    assert classify(sql, POLICY).target is R


def test_the_token_scan_of_a_large_statement_knows_them_too() -> None:
    policy = Policy(relation_catalog={"scratch": UNLOGGED}, max_parse_size=100)
    in_list = ", ".join(str(i) for i in range(100))
    route = classify(f"SELECT * FROM scratch WHERE id IN ({in_list})", policy)
    assert route.target is P
    assert "scratch, which is UNLOGGED" in route.reason
    assert classify(f"SELECT * FROM orders WHERE id IN ({in_list})", policy).target is R


def test_the_relation_catalog_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="relation_catalog"):
        Policy(relation_catalog={"": UNLOGGED})
    with pytest.raises(ConfigurationError, match="relation_catalog"):
        Policy(relation_catalog={"t": 1})  # type: ignore[dict-item]
    assert Policy(relation_catalog={"App.T": "x"}).relation_catalog == {"app.t": "x"}


# -- building it from the catalog query's rows --------------------------------------


def view(oid: int, name: str, refs: list[int], definition: str | None = None) -> RelationRow:
    return (oid, "app", name, "v", refs, definition)


def test_unlogged_relations_and_the_views_over_them_however_deep() -> None:
    rows: list[RelationRow] = [
        (1, "app", "scratch", "u", None, None),
        view(2, "over_scratch", [1]),
        view(3, "over_over", [2, 9]),
        view(4, "plain", [9]),  # reads a table that is not in the rows: a logged one
        (5, "app", "counter", "u", None, None),  # an unlogged sequence
    ]
    catalog = replica_unreadable(rows, Policy())
    assert catalog["app.scratch"] == UNLOGGED
    assert catalog["over_scratch"].startswith("is a view over app.scratch, which is UNLOGGED")
    assert catalog["app.over_over"].startswith("is a view over app.over_scratch")
    assert "app.plain" not in catalog
    assert "plain" not in catalog
    assert "app.counter" in catalog
    # In the rows' order: a view listed before what it reads is found as well.
    assert replica_unreadable(list(reversed(rows)), Policy()).keys() == catalog.keys()


def test_a_view_whose_definition_must_run_on_the_primary() -> None:
    rows: list[RelationRow] = [
        view(1, "xact", [], " SELECT pg_current_xact_id() AS x;"),
        view(2, "bumped", [], " SELECT bump(1) AS b;"),
        view(3, "sampled", [], " SELECT random() AS r;"),  # VOLATILE, yet read-safe
        view(4, "over_xact", [1]),
    ]
    catalog = replica_unreadable(rows, Policy(function_catalog={"bump": "v"}))
    assert "pg_current_xact_id()" in catalog["app.xact"]
    assert "bump()" in catalog["app.bumped"]
    assert "app.sampled" not in catalog
    assert catalog["app.over_xact"].startswith("is a view over app.xact")


def test_no_relation_no_catalog() -> None:
    assert replica_unreadable([], Policy()) == {}
    assert replica_unreadable([view(1, "plain", [7])], Policy()) == {}


def test_the_second_reader_of_what_sqlglot_cannot_parse_knows_them_too() -> None:
    geometric = "SELECT box '(0,0),(1,1)' @> point '(0.5,0.5)' FROM {}"
    route = classify(geometric.format("scratch"), POLICY)
    assert route.target is P
    assert "scratch, which is UNLOGGED" in route.reason
    assert classify(geometric.format("orders"), POLICY).target is R
