"""`Route.movable`, the one query check, and the classifier's import graph.

`Route.movable` is the classifier's answer to "may a replica run this if
asked?" (a ``/* pgcluster:replica */`` hint, ``target="replica"``), decided
once with the route: the router no longer re-classifies a hinted copy of the
text. The classifier's modules import one another one way only, with no
function-level imports hiding a cycle.
"""

from __future__ import annotations

import ast
import csv
import functools
from pathlib import Path

import pytest
from psycopg import sql

import pgcluster.classifier
from pgcluster._core import query as core_query
from pgcluster._core import routing
from pgcluster.classifier import Policy, Route, Statement, Target, classify
from pgcluster.classifier import _query as classifier_query
from pgcluster.errors import ConfigurationError, InvalidQueryError

P, R = Target.PRIMARY, Target.REPLICA
HINT = "/* pgcluster:replica */ "
PACKAGE = Path(pgcluster.classifier.__file__).parent
CORPUS = Path(__file__).parent / "data" / "routing_corpus.tsv"


def corpus() -> list[str]:
    with CORPUS.open(newline="") as f:
        return [row["sql"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


# -- Route.movable -------------------------------------------------------------

READS = ["SELECT 1", "SELECT * FROM t WHERE id = %s", "VALUES (1)", "SHOW work_mem"]
# On the primary only because of an unknown function or a node probe.
SOFT = [
    "SELECT my_func(1)",
    "SELECT pg_is_in_recovery()",
    "SELECT * FROM pg_stat_replication",
    "SHOW transaction_read_only",
    "EXPLAIN ANALYZE SELECT my_func(1)",
]
# Writes, locks, or reads or changes session state.
HARD = [
    "INSERT INTO t VALUES (1)",
    "DELETE FROM t",
    "SELECT nextval('s')",
    "SELECT * FROM t FOR UPDATE",
    "LOCK TABLE t",
    "CREATE TABLE t (a int)",
    "SELECT 1; DELETE FROM t",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
    "SET search_path TO app",
    "BEGIN",
    "SELECT currval('s')",
    "SELECT * FROM pg_temp.t",
    "SELECT set_config('a.b', '1', false)",
]


@pytest.mark.parametrize("statement", READS)
def test_a_read_is_movable(statement: str) -> None:
    route = classify(statement)
    assert route.target is R
    assert route.movable


@pytest.mark.parametrize("statement", SOFT)
def test_a_soft_primary_is_movable(statement: str) -> None:
    route = classify(statement)
    assert route.target is P
    assert route.movable, route.reason


@pytest.mark.parametrize("statement", HARD)
def test_what_writes_locks_or_touches_the_session_is_not(statement: str) -> None:
    route = classify(statement)
    assert route.target is P
    assert not route.movable, route.reason


def test_a_hint_does_not_change_whether_a_route_may_move() -> None:
    assert classify("/* pgcluster:primary */ SELECT 1") == Route(
        P, "hint pgcluster:primary (a read-only query)", False, Statement.QUERY, True
    )
    assert classify(HINT + "SELECT my_func(1)").movable
    ignored = classify(HINT + "DELETE FROM t")
    assert ignored.target is P
    assert not ignored.movable


def test_a_hand_made_route_is_not_movable_unless_it_says_so() -> None:
    assert not Route(P, "x").movable
    assert Route(R, "x", movable=True).movable
    # Positional construction and equality stay as they were.
    assert classify("SELECT nextval('s')") == Route(
        P, "calls nextval(), which advances a sequence", False, Statement.QUERY
    )


POLICIES = {
    "default": Policy(cache_size=0),
    "scan": Policy(cache_size=0, max_parse_size=0),  # every statement by the token scan
    "unknown to replicas": Policy(cache_size=0, unknown_functions=R),
    "declared": Policy(cache_size=0, write_functions={"audit"}, read_functions={"report"}),
}


@pytest.mark.parametrize("name", POLICIES)
def test_movable_is_what_the_replica_hint_moves_for_the_whole_corpus(name: str) -> None:
    # The rule the router used to apply by re-classifying HINT + text.
    policy = POLICIES[name]
    extra = ["SELECT audit()", "SELECT report()", "SELECT my_func(1)", "SELECT 1 FROM"]
    wrong = [
        text
        for text in corpus() + READS + SOFT + HARD + extra
        if classify(text, policy).movable != (classify(HINT + text, policy).target is R)
    ]
    assert not wrong


# -- decide(): the classifier's answer, no second classification -----------------


@pytest.fixture
def classify_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def counting(query: object, policy: Policy | None = None) -> Route:
        calls.append(query)
        return classify(query, policy)  # type: ignore[arg-type]

    monkeypatch.setattr(routing, "classify", counting)
    return calls


@pytest.mark.parametrize("statement", SOFT)
def test_target_replica_moves_a_movable_statement_with_one_classification(
    statement: str, classify_calls: list[object]
) -> None:
    route = routing.decide(statement, None, R, pinned=False)
    assert route.target is R
    assert route.reason == f"target='replica' was asked ({classify(statement).reason})"
    assert classify_calls == [statement]


@pytest.mark.parametrize("statement", [s for s in HARD if not classify(s).session])
def test_target_replica_refuses_what_may_not_move_with_one_classification(
    statement: str, classify_calls: list[object]
) -> None:
    with pytest.raises(ConfigurationError, match="target='replica' refused"):
        routing.decide(statement, None, R, pinned=False)
    assert classify_calls == [statement]


def test_target_replica_on_a_composable_uses_the_route_too(classify_calls: list[object]) -> None:
    query = sql.SQL("SELECT my_func({})").format(sql.Literal(1))
    assert routing.decide(query, None, R, pinned=False).target is R
    write = sql.SQL("DELETE FROM {}").format(sql.Identifier("t"))
    with pytest.raises(ConfigurationError):
        routing.decide(write, None, R, pinned=False)
    assert classify_calls == [query, write]


# -- the one check of what callers pass ---------------------------------------


def test_the_query_check_is_one_function() -> None:
    assert core_query.check_query is classifier_query.check_query
    assert core_query.Query is classifier_query.Query


@pytest.mark.parametrize(
    "bad", [None, b"SELECT 1", bytearray(b"x"), memoryview(b"x"), 42, ["SELECT 1"], "", " \n"]
)
def test_classify_and_the_shells_refuse_bad_input_with_the_same_words(bad: object) -> None:
    with pytest.raises(InvalidQueryError) as checked:
        core_query.check_query(bad)
    with pytest.raises(InvalidQueryError) as classified:
        classify(bad)  # type: ignore[arg-type]
    if isinstance(bad, str):  # classify() finds a blank string holds no statement
        assert "no statement" in str(classified.value)
    else:
        assert str(classified.value) == str(checked.value)


# -- the import graph ------------------------------------------------------------


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _imports(path: Path) -> list[tuple[str, bool]]:
    """The sibling modules *path* imports, each with whether the import is at module level."""
    tree = _tree(path)
    top = set(map(id, tree.body))
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.append((node.module, id(node) in top))
            else:  # from . import _scan
                found.extend((alias.name, id(node) in top) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            prefix = "pgcluster.classifier."
            if node.module.startswith(prefix):
                found.append((node.module[len(prefix) :], id(node) in top))
        elif isinstance(node, ast.Import):
            prefix = "pgcluster.classifier."
            found.extend(
                (alias.name[len(prefix) :], id(node) in top)
                for alias in node.names
                if alias.name.startswith(prefix)
            )
    return found


MODULES = {path.stem: path for path in sorted(PACKAGE.glob("*.py"))}


def test_the_classifier_imports_only_at_module_level() -> None:
    hidden = {
        name: [module for module, top in _imports(path) if not top]
        for name, path in MODULES.items()
    }
    assert not {name: modules for name, modules in hidden.items() if modules}


def test_the_classifier_has_no_import_cycle() -> None:
    graph = {
        name: {module.split(".")[0] for module, _ in _imports(path)} & MODULES.keys()
        for name, path in MODULES.items()
    }
    assert "_scan" in graph["_analyze"]  # the parse falls back to the scan...
    assert "_analyze" not in graph["_scan"]  # ...which does not need the parse
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for imported in graph[name]:
            visit(imported, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_read_leads_and_lock_reasons_are_defined_once() -> None:
    defined: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        for node in _tree(path).body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Name):
                    defined.setdefault(target.id, []).append(name)
    assert defined["READ_LEADS"] == ["_rules"]
    assert defined["LOCK_REASONS"] == ["_rules"]
