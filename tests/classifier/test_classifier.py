"""Unit tests of pgcluster.classifier: one group per rule, trap and feature."""

from __future__ import annotations

import dataclasses
import doctest
import logging
from typing import Any

import pytest
from psycopg import sql

import pgcluster
from pgcluster.classifier import Policy, Route, Statement, Target, _analyze, _sqlglot, classify
from pgcluster.classifier._builtin_functions import FUNCTIONS
from pgcluster.errors import ConfigurationError, InvalidQueryError
from tests.classifier.test_classifier_corpus import load
from tests.docs.test_docs import ROUTING, table_rows

P, R = Target.PRIMARY, Target.REPLICA


def check(statement: str, target: Target, policy: Policy | None = None) -> Route:
    route = classify(statement, policy)
    assert route.target is target, (statement, route)
    return route


# -- API -------------------------------------------------------------------


def test_public_names() -> None:
    assert pgcluster.classify is classify
    assert pgcluster.Route is Route
    assert pgcluster.Target is Target
    assert pgcluster.Policy is Policy
    assert "Statement" in pgcluster.classifier.__all__


def test_the_package_docstring_shows_a_real_route() -> None:
    assert doctest.testmod(pgcluster.classifier).failed == 0


def test_target_is_a_str_enum() -> None:
    assert Target.PRIMARY.value == "primary"
    assert str(Target.PRIMARY) == "primary"
    assert Target.REPLICA.value == "replica"
    assert isinstance(Target.PRIMARY, str)
    assert Target("replica") is Target.REPLICA


def test_statement_is_a_str_enum() -> None:
    assert [(s.name, s.value) for s in Statement] == [
        ("QUERY", "query"),
        ("TRANSACTION", "transaction"),
        ("COPY", "copy"),
        ("OTHER", "other"),
    ]
    assert str(Statement.QUERY) == "query"
    assert isinstance(Statement.COPY, str)
    assert Statement("transaction") is Statement.TRANSACTION


def test_route_is_frozen_and_slotted() -> None:
    route = classify("SELECT nextval('s')")
    assert route == Route(Target.PRIMARY, route.reason, False, Statement.QUERY)
    assert Route(Target.PRIMARY, "x").statement is Statement.OTHER
    assert "nextval()" in route.reason
    assert not hasattr(route, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.target = Target.REPLICA  # type: ignore[misc]


@pytest.mark.parametrize(
    "bad",
    [None, b"SELECT 1", bytearray(b"x"), 42, ["SELECT 1"], "", "   \n\t", "/* x */", "-- y", ";"],
)
def test_bad_input_raises_invalid_query_error(bad: object) -> None:
    with pytest.raises(InvalidQueryError) as info:
        classify(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert str(info.value)


def test_composable_is_accepted() -> None:
    query = sql.SQL("SELECT * FROM {} WHERE id = {}").format(sql.Identifier("users"), 1)
    assert classify(query).target is R
    write = sql.SQL("DELETE FROM {}").format(sql.Identifier("users"))
    assert classify(write).target is P
    assert classify(sql.Composed([sql.SQL("SELECT "), sql.Literal("x")])).target is R


# -- replica rules -----------------------------------------------------------

READS = [
    "SELECT 1",
    "select * from users where id = %s",
    "SELECT * FROM t WHERE id = %(id)s AND x = %b AND y = %t",
    "SELECT $1::int",
    "VALUES (1, 2)",
    "TABLE users",
    "(SELECT 1) UNION (SELECT 2)",
    "SHOW search_path",
    "SHOW TRANSACTION ISOLATION LEVEL",
    "EXPLAIN SELECT 1",
    "EXPLAIN DELETE FROM t",
    "EXPLAIN (COSTS OFF) INSERT INTO t VALUES (nextval('s'))",
    "EXPLAIN (ANALYZE off) UPDATE t SET x = 1",
    "EXPLAIN ANALYZE SELECT * FROM t",
    "EXPLAIN (ANALYZE true, BUFFERS) SELECT 1",
    "COPY users TO STDOUT",
    "COPY users (id) TO STDOUT WITH (FORMAT csv)",
    "COPY (SELECT 1) TO STDOUT",
    "SELECT * FROM pg_class",
    "SELECT * FROM information_schema.columns",
    "SELECT 1; SELECT 2;",
    "SELECT random(), gen_random_uuid(), clock_timestamp(), timeofday()",
    "SELECT pg_sleep(0), pg_relation_size('t'), pg_total_relation_size('t')",
    "SELECT now(), current_setting('x'), version(), to_regclass('t')",
    "SELECT coalesce(a, b), nullif(a, b), greatest(1, 2) FROM t",
    "SELECT similarity('a', 'b')",
    "SELECT x FROM t WHERE y = ANY(%s)",
    "SELECT x FROM t WHERE y = ALL (ARRAY[1, 2])",  # sqlglot takes ALL for a call
    "SELECT interval '1.5' second(2)",  # and an interval's field for one
    "SELECT nextval FROM t",
]


@pytest.mark.parametrize("statement", READS)
def test_reads_go_to_a_replica(statement: str) -> None:
    route = check(statement, R)
    assert not route.session


# -- primary rules -------------------------------------------------------------

WRITES = [
    "INSERT INTO t VALUES (1) RETURNING id",
    "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET x = 1",
    "UPDATE t SET x = 1 FROM u WHERE t.id = u.id",
    "DELETE FROM t USING u WHERE t.id = u.id",
    "MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE",
    "TRUNCATE t",
    "COPY t FROM STDIN",
    "COPY t FROM PROGRAM 'cat'",
    "COPY t TO PROGRAM 'gzip'",
    "COPY t TO '/tmp/t.csv'",
    "COPY (INSERT INTO t VALUES (1) RETURNING id) TO STDOUT",
    "COPY (DELETE FROM t RETURNING *) TO STDOUT",
    "COPY (SELECT nextval('s')) TO STDOUT",
    "CREATE TABLE t (id int)",
    "ALTER TABLE t ADD COLUMN x int",
    "DROP TABLE t",
    "GRANT SELECT ON t TO r",
    "REVOKE SELECT ON t FROM r",
    "COMMENT ON TABLE t IS 'x'",
    "SECURITY LABEL ON TABLE t IS 'x'",
    "CREATE INDEX CONCURRENTLY i ON t (x)",
    "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO r",
    "CREATE TABLE t2 AS SELECT * FROM t",
    "SELECT * INTO t2 FROM t",
    "CREATE MATERIALIZED VIEW mv AS SELECT 1",
    "REFRESH MATERIALIZED VIEW mv",
    "VACUUM",
    "ANALYZE t",
    "CLUSTER t",
    "REINDEX TABLE t",
    "CHECKPOINT",
    "CALL p()",
    "DO $$ BEGIN END $$",
    "LOCK TABLE t",
    "NOTIFY c, 'x'",
    "PREPARE TRANSACTION 'x'",
    "COMMIT PREPARED 'x'",
    "ROLLBACK PREPARED 'x'",
    "SELECT * FROM t FOR UPDATE",
    "SELECT * FROM t FOR NO KEY UPDATE",
    "SELECT * FROM t FOR SHARE",
    "SELECT * FROM t FOR KEY SHARE",
    "SELECT * FROM (SELECT * FROM t FOR UPDATE) s",
    "WITH s AS (SELECT * FROM t FOR UPDATE) SELECT * FROM s",
    "SELECT * FROM t WHERE id IN (SELECT id FROM t FOR SHARE SKIP LOCKED)",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
    "WITH a AS (SELECT 1), b AS (INSERT INTO t SELECT * FROM a RETURNING *) SELECT 1",
    "WITH x AS (WITH y AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM y) SELECT * FROM x",
    "WITH s AS (SELECT 1) INSERT INTO t SELECT * FROM s",
    "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
    "EXPLAIN (ANALYZE) DELETE FROM t",
    "EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE",
    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT nextval('s')",
]


@pytest.mark.parametrize("statement", WRITES)
def test_writes_go_to_the_primary(statement: str) -> None:
    check(statement, P)


FUNCTION_CALLS = [
    ('SELECT "all"(1)', "all()"),  # quoted, ALL can name a function
    ("SELECT second(2)", "second()"),  # a function outside an interval
    ("SELECT nextval('s')", "nextval()"),
    ("SELECT setval('s', 1)", "setval()"),
    ("SELECT pg_catalog.nextval('s')", "nextval()"),
    ("SELECT \"nextval\"('s')", "nextval()"),
    ("SeLeCt NeXtVaL('s')", "nextval()"),
    ("SELECT x FROM t WHERE y = (SELECT nextval('s'))", "nextval()"),
    ("WITH a AS (SELECT nextval('s')) SELECT * FROM a", "nextval()"),
    ("SELECT 1 FROM t WHERE nextval('s') > 0", "nextval()"),
    ("VALUES (nextval('s'))", "nextval()"),
    ("SELECT pg_advisory_lock(1)", "pg_advisory_lock()"),
    ("SELECT pg_try_advisory_xact_lock(1)", "pg_try_advisory_xact_lock()"),
    ("SELECT pg_advisory_unlock_all()", "pg_advisory_unlock_all()"),
    ("SELECT pg_notify('c', 'x')", "pg_notify()"),
    ("SELECT txid_current()", "txid_current()"),
    ("SELECT pg_current_xact_id()", "pg_current_xact_id()"),
    ("SELECT lo_create(0)", "lo_create()"),
    ("SELECT lo_unlink(1)", "lo_unlink()"),
    ("SELECT setseed(0.5)", "setseed()"),
    ("SELECT pg_terminate_backend(1)", "pg_terminate_backend()"),
    ("SELECT pg_cancel_backend(1)", "pg_cancel_backend()"),
    ("SELECT pg_reload_conf()", "pg_reload_conf()"),
    ("SELECT pg_switch_wal()", "pg_switch_wal()"),
    ("SELECT pg_create_restore_point('x')", "pg_create_restore_point()"),
    ("SELECT pg_stat_reset()", "pg_stat_reset()"),
    ("SELECT pg_stat_reset_shared('wal')", "pg_stat_reset_shared()"),
    ("SELECT pg_create_physical_replication_slot('s')", "pg_create_physical_replication_slot()"),
    ("SELECT pg_drop_replication_slot('s')", "pg_drop_replication_slot()"),
    ("SELECT pg_is_in_recovery()", "pg_is_in_recovery()"),
    ("SELECT pg_backend_pid()", "pg_backend_pid()"),
    ("SELECT pg_current_wal_lsn()", "pg_current_wal_lsn()"),
    ("SELECT pg_current_wal_insert_lsn()", "pg_current_wal_insert_lsn()"),
    ("SELECT pg_last_wal_replay_lsn()", "pg_last_wal_replay_lsn()"),
    ("SELECT my_function(1)", "my_function()"),
    ("SELECT app.current_tenant()", "app.current_tenant()"),
    ("SELECT * FROM search_products('x')", "search_products()"),
    # sqlglot knows a SEARCH function with other arguments and raises: unparsable
    ("SELECT * FROM search('x')", "could not be parsed"),
    ("SELECT match(x) FROM t", "match()"),
    ("SELECT date_add(x, 1) FROM t", "date_add()"),
    ("SELECT query_to_xml('DELETE FROM t', true, true, '')", "query_to_xml()"),
    ("SELECT pg_read_file('x')", "pg_read_file()"),
]


@pytest.mark.parametrize(("statement", "name"), FUNCTION_CALLS)
def test_function_calls_that_need_the_primary(statement: str, name: str) -> None:
    route = check(statement, P)
    assert name in route.reason


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM pg_stat_activity",
        "SELECT * FROM pg_catalog.pg_stat_replication",
        "SELECT * FROM pg_locks",
        "TABLE pg_locks",
        "SHOW transaction_read_only",
        "SHOW in_hot_standby",
    ],
)
def test_node_probes_go_to_the_primary(statement: str) -> None:
    check(statement, P)


SESSION = [
    "SET x = 1",
    "SET LOCAL lock_timeout = '1s'",
    "SET TRANSACTION READ ONLY",
    "RESET ALL",
    "DISCARD ALL",
    "PREPARE p AS SELECT 1",
    "EXECUTE p",
    "DEALLOCATE p",
    "LISTEN c",
    "UNLISTEN *",
    "DECLARE c CURSOR FOR SELECT 1",
    "FETCH 10 FROM c",
    "MOVE NEXT IN c",
    "CLOSE c",
    "BEGIN",
    "BEGIN READ ONLY",
    "START TRANSACTION READ ONLY",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "RELEASE s",
    "ROLLBACK TO SAVEPOINT s",
    "CREATE TEMP TABLE t (x int)",
    "CREATE TEMPORARY TABLE t AS SELECT 1",
    "CREATE TABLE pg_temp.t (x int)",
    "SELECT * INTO TEMP t FROM u",
    "SELECT * FROM pg_temp.t",
    "SELECT pg_temp.f(1)",  # a temporary function: only this session has it
    "SELECT * FROM pg_temp_3.f()",
    "SELECT pg_my_temp_schema()",
    "SELECT set_config('a.b', 'c', false)",
    "SELECT currval('s')",
    "SELECT lastval()",
    "EXPLAIN EXECUTE p",
    "SELECT 1; SET x = 1",
]


@pytest.mark.parametrize("statement", SESSION)
def test_session_state(statement: str) -> None:
    route = check(statement, P)
    assert route.session, route
    # Trusting unknown functions does not send session state to a replica.
    assert classify(statement, Policy(unknown_functions=Target.REPLICA)).target is P


def test_writes_are_not_session_state() -> None:
    assert not classify("INSERT INTO t VALUES (1)").session
    assert not classify("SELECT nextval('s')").session


# -- multi-statement, unparsable ---------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1; DELETE FROM t",
        "SELECT 1; SELECT nextval('s')",
        "SELECT 1; LISTEN c",
        "SELECT 1; FROBNICATE",
        "SELECT * FROM t WHERE",
        "SELEC 1",
        "SELECT 'unterminated",
        "SET SERVER ROLE TO 'replica'",
        "FROBNICATE everything",
        '"SELECT" 1',
    ],
)
def test_mixed_and_unparsable_go_to_the_primary(statement: str) -> None:
    check(statement, P)


def test_multi_statement_reason_names_the_rule() -> None:
    route = check("SELECT 1; INSERT INTO t VALUES (1)", P)
    assert "INSERT" in route.reason
    assert check("SELECT 1; SELECT 2", R).reason


# -- traps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "session"),
    [
        # sqlglot 30 parses these silently as expressions or aliases
        ("LISTEN foo", True),
        ("NOTIFY foo", False),
        ("SAVEPOINT s", True),
        ("DISCARD ALL", True),
        ("ABORT", True),
        ("CHECKPOINT", False),
        # ... raises on these valid ones
        ("BEGIN READ ONLY", True),
        ("RELEASE SAVEPOINT s", True),
        ("COPY (INSERT INTO t VALUES (1) RETURNING id) TO STDOUT", False),
    ],
)
def test_sqlglot_misparses_are_not_trusted(statement: str, session: bool) -> None:
    assert check(statement, P).session is session


def test_sqlglot_commands_are_read_by_their_tokens() -> None:
    # sqlglot returns EXPLAIN and SHOW as unparsed commands: we read their words.
    check("COPY t TO STDOUT (format binary)", R)
    check("EXPLAIN SELECT 1", R)
    check("EXPLAIN ANALYZE DELETE FROM t", P)
    check("SHOW TimeZone", R)
    check("SHOW transaction_read_only", P)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 'DELETE FROM t; nextval(1)'",
        "SELECT E'\\'; DELETE FROM t'",
        "SELECT $$ INSERT INTO t VALUES (nextval('s')) $$",
        "SELECT $x$ LISTEN c; $x$",
        'SELECT 1 AS "DELETE FROM t", "nextval" FROM "for update"',
        "/* DELETE FROM t */ SELECT 1",
        "SELECT 1 /* ; DROP TABLE t; */",
        "SELECT 1 -- ; DELETE FROM t",
        "-- DELETE FROM t\nSELECT 1",
        "/* a /* nested */ DELETE */ SELECT 1",
        "SELECT /* nextval('s') */ 1",
        "SELECT 'FOR UPDATE', 'INTO t'",
        "SELECT * FROM users /*traceparent='00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01'*/",
        "/*controller='users',action='show',framework='django'*/ SELECT 1",
        "SELECT 1 /*application:Rails,controller:users,action:show*/",
    ],
)
def test_words_in_strings_identifiers_and_comments_do_not_count(statement: str) -> None:
    check(statement, R)


def test_quoted_write_words_do_not_make_a_write_a_read() -> None:
    check("/* SELECT */ DELETE FROM t", P)
    check("INSERT INTO \"select\" VALUES ('select')", P)


def test_sqlglot_warnings_do_not_reach_the_users_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for statement in ["SELECT * FROM t WHERE x = ANY (SELECT 1) FOR UPDATE OF t NOWAIT",
                      "CREATE FOREIGN TABLE ft () SERVER s", "SELECT 1 ; LISTEN foo"]:  # fmt: skip
        classify(statement)
    for row in load():
        classify(row.sql, Policy())
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]
    # ... while the user's own sqlglot calls keep their warnings
    import sqlglot

    sqlglot.parse_one("CREATE FOREIGN TABLE ft () SERVER s", read="postgres")


# -- hints ---------------------------------------------------------------------------


def test_primary_hint_moves_a_read() -> None:
    route = check("/* pgcluster:primary */ SELECT 1", P)
    assert "hint" in route.reason
    check("  /*pgcluster:primary*/SELECT 1", P)
    check("/*   pgcluster : PRIMARY   */ SELECT 1", P)


def test_replica_hint_moves_an_unknown_function() -> None:
    route = check("/* pgcluster:replica */ SELECT my_function(1)", R)
    assert "hint" in route.reason
    check("/*pgcluster:replica*/ SELECT pg_is_in_recovery()", R)


@pytest.mark.parametrize(
    "statement",
    [
        "/* pgcluster:replica */ DELETE FROM t",
        "/* pgcluster:replica */ SELECT * FROM t FOR UPDATE",
        "/* pgcluster:replica */ SELECT nextval('s')",
        "/* pgcluster:replica */ SET x = 1",
        "/* pgcluster:replica */ WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
    ],
)
def test_replica_hint_on_a_write_is_ignored(statement: str) -> None:
    route = check(statement, P)
    assert "ignored" in route.reason


def test_hint_must_lead() -> None:
    check("SELECT 1 /* pgcluster:primary */", R)
    check("SELECT '/* pgcluster:primary */'", R)


# -- statement kinds ---------------------------------------------------------------------

QUERY, TRANSACTION, COPY, OTHER = (
    Statement.QUERY,
    Statement.TRANSACTION,
    Statement.COPY,
    Statement.OTHER,
)

KINDS = [
    # QUERY: what DECLARE ... CURSOR FOR accepts, whatever the target
    ("SELECT 1", QUERY),
    ("select * from users where id = %s", QUERY),
    ("VALUES (1, 2)", QUERY),
    ("TABLE users", QUERY),
    ("WITH a AS (SELECT 1) SELECT * FROM a", QUERY),
    ("(SELECT 1) UNION (SELECT 2)", QUERY),
    ("SELECT * FROM t FOR UPDATE", QUERY),
    ("SELECT nextval('s')", QUERY),
    ("SELECT 1;", QUERY),
    ("/* a comment */ -- and another\n  select 1", QUERY),
    ("SELECT * INTO t2 FROM t", OTHER),
    ("SELECT * INTO TEMP t2 FROM t", OTHER),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", OTHER),
    ("WITH s AS (SELECT 1) INSERT INTO t SELECT * FROM s", OTHER),
    ("EXPLAIN SELECT 1", OTHER),
    ("EXPLAIN ANALYZE SELECT * FROM t", OTHER),
    ("SHOW search_path", OTHER),
    ("DECLARE c CURSOR FOR SELECT 1", OTHER),
    ("INSERT INTO t VALUES (1)", OTHER),
    ("SET x = 1", OTHER),
    # TRANSACTION
    ("BEGIN", TRANSACTION),
    ("begin isolation level serializable", TRANSACTION),
    ("START TRANSACTION READ ONLY", TRANSACTION),
    ("COMMIT", TRANSACTION),
    ("commit and chain", TRANSACTION),
    ("END", TRANSACTION),
    ("ROLLBACK", TRANSACTION),
    ("ABORT", TRANSACTION),
    ("SAVEPOINT s", TRANSACTION),
    ("SAVEPOINT prepared", TRANSACTION),
    ("RELEASE SAVEPOINT s", TRANSACTION),
    ("RELEASE s", TRANSACTION),
    ("ROLLBACK TO SAVEPOINT s", TRANSACTION),
    ("rollback to s", TRANSACTION),
    ("PREPARE TRANSACTION 'x'", TRANSACTION),
    ("/* why */ -- and how\n COMMIT", TRANSACTION),
    ("COMMIT PREPARED 'x'", OTHER),
    ("ROLLBACK PREPARED 'x'", OTHER),
    ("PREPARE p AS SELECT 1", OTHER),
    # COPY with the client; PostgreSQL takes STDIN or STDOUT in either direction
    ("COPY t FROM STDIN", COPY),
    ("copy t (a, b) from stdin with (format csv)", COPY),
    ("COPY t TO STDOUT", COPY),
    ("COPY (SELECT * FROM t) TO STDOUT", COPY),
    ("COPY (SELECT nextval('s')) TO STDOUT", COPY),
    ("COPY t TO STDIN", COPY),
    ("COPY t TO '/tmp/t.csv'", OTHER),
    ("COPY t FROM '/tmp/t.csv'", OTHER),
    ("COPY t FROM PROGRAM 'cat'", OTHER),
    ("COPY (SELECT 1) TO PROGRAM 'gzip'", OTHER),
]


@pytest.mark.parametrize(("statement", "kind"), KINDS)
def test_statement_kind(statement: str, kind: Statement) -> None:
    route = classify(statement)
    assert route.statement is kind, route
    assert classify(statement) is route  # cached with the route
    assert classify(statement, Policy(max_parse_size=0)).statement is kind  # the scan agrees


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("SELECT 1; SELECT 2", OTHER),
        ("SELECT 1; INSERT INTO t VALUES (1)", OTHER),
        ("SELECT 1; EXPLAIN SELECT 1", OTHER),
        ("BEGIN; SELECT 1; COMMIT", TRANSACTION),
        ("SELECT 1; commit", TRANSACTION),
        ("COPY t FROM STDIN; SELECT 1", COPY),
        ("SET x = 1; COPY t TO STDOUT", COPY),
        ("COPY t FROM STDIN; COMMIT", TRANSACTION),
        ("COPY t TO '/tmp/t.csv'; SELECT 1", OTHER),
    ],
)
def test_multi_statement_kind(statement: str, kind: Statement) -> None:
    assert classify(statement).statement is kind
    assert classify(statement, Policy(max_parse_size=0)).statement is kind


DOCUMENTED_KINDS = table_rows(ROUTING, ["Statement", "Kind"])


def test_the_routing_page_shows_each_kind() -> None:
    assert {kind for _, kind in DOCUMENTED_KINDS} == {k.value for k in Statement}


@pytest.mark.parametrize(
    ("statement", "kind"), DOCUMENTED_KINDS, ids=[r[0] for r in DOCUMENTED_KINDS]
)
def test_documented_kind(statement: str, kind: str) -> None:
    assert classify(statement).statement.value == kind


@pytest.mark.parametrize("hint", ["primary", "replica"])
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1",
        "SELECT my_function(1)",
        "BEGIN",
        "COPY t TO STDOUT",
        "DELETE FROM t",
        "SELECT 1; SELECT 2",
    ],
)
def test_a_hint_does_not_change_the_kind(statement: str, hint: str) -> None:
    hinted = classify(f"/* pgcluster:{hint} */ {statement}")
    assert "hint" in hinted.reason
    assert hinted.statement is classify(statement).statement


# -- policy ----------------------------------------------------------------------------


def test_policy_write_and_read_functions() -> None:
    policy = Policy(write_functions={"app.bump"}, read_functions=["get_user_score", "App.Visible"])
    check("SELECT app.bump()", P, policy)
    check("SELECT get_user_score(1)", R, policy)
    check("SELECT app.visible(1)", R, policy)
    check("SELECT other(1)", P, policy)
    # curated write functions cannot be declared read-safe
    check("SELECT nextval('s')", P, Policy(read_functions={"nextval"}))
    check("SELECT lower('x')", P, Policy(write_functions={"lower"}))


def test_policy_unknown_functions() -> None:
    policy = Policy(unknown_functions=Target.REPLICA)
    check("SELECT my_function(1)", R, policy)
    check("SELECT nextval('s')", P, policy)
    check("SELECT my_function(1)", R, Policy(unknown_functions="replica"))  # type: ignore[arg-type]


def test_policy_function_catalog() -> None:
    policy = Policy(function_catalog={"score": "s", "bump": "v", "app.tenant": "i", "nextval": "s"})
    check("SELECT score(1)", R, policy)
    check("SELECT bump(1)", P, policy)
    check("SELECT app.tenant()", R, policy)
    check("SELECT nextval('s')", P, policy)  # the curated list wins over pg_proc
    check("SELECT random()", R, Policy(function_catalog={"random": "v"}))


def test_policy_is_validated_and_hashable() -> None:
    with pytest.raises(ConfigurationError):
        Policy(unknown_functions="somewhere")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Policy(function_catalog={"f": "x"})
    with pytest.raises(ConfigurationError):
        Policy(write_functions="nextval")
    with pytest.raises(ConfigurationError):
        Policy(cache_size=-1)
    a, b = Policy(write_functions=["f"]), Policy(write_functions={"F"})
    assert a == b
    assert hash(a) == hash(b)
    assert {a: 1}[b] == 1
    assert Policy(function_catalog={"f": "s"}) == Policy(function_catalog={"F": "s"})
    with pytest.raises(TypeError):
        classify("SELECT 1", "primary")  # type: ignore[arg-type]


# -- cache -------------------------------------------------------------------------------


def test_cache_returns_the_same_route_and_is_per_policy() -> None:
    policy = Policy()
    first = classify("SELECT my_f()", policy)
    assert classify("SELECT my_f()", policy) is first
    assert first.target is P
    other = Policy(unknown_functions=Target.REPLICA)
    assert classify("SELECT my_f()", other).target is R
    policy.clear_cache()
    assert classify("SELECT my_f()", policy) == first


def test_cache_is_an_lru_of_bounded_size() -> None:
    policy = Policy(cache_size=3)
    for i in range(3):
        classify(f"SELECT {i}", policy)
    classify("SELECT 0", policy)  # refresh 0: 1 is now the oldest
    classify("SELECT 3", policy)
    assert list(policy._cache) == ["SELECT 2", "SELECT 0", "SELECT 3"]
    nocache = Policy(cache_size=0)
    classify("SELECT 1", nocache)
    assert not nocache._cache


# -- huge statements ---------------------------------------------------------------------


# How long they take is the bench's business (bench/classify.py: huge()); here, that
# they are never handed to sqlglot's parser.


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of each text sqlglot's parser is given from now on."""
    seen: list[int] = []
    parse = _sqlglot.parse

    def counted(tokens: Any, sql: str) -> Any:
        seen.append(len(sql))
        return parse(tokens, sql)

    # The classifier's one way to the parser (sqlglotc's compiled Parser takes no patch).
    monkeypatch.setattr(_analyze, "parse", counted)
    return seen


def test_the_parser_is_watched(parses: list[int]) -> None:
    classify("SELECT lower(a) FROM watched_by_the_parses_fixture")  # not the fast path
    assert parses  # else the tests below would pass whatever the classifier does


def test_huge_insert_is_scanned_not_parsed(parses: list[int]) -> None:
    values = ",".join(f"({i}, 'name {i}', {i}.5, E'it\\'s')" for i in range(400_000))
    statement = f"INSERT INTO t (a, b, c, d) VALUES {values}"
    assert len(statement) > 10_000_000
    assert classify(statement).target is P
    assert parses == []
    assert statement not in pgcluster.classifier._classify.DEFAULT_POLICY._cache


def test_huge_in_list_select_is_a_read(parses: list[int]) -> None:
    ids = ", ".join(str(i) for i in range(150_000))
    statement = f"SELECT * FROM users WHERE id IN ({ids}) AND name <> 'x'"
    assert len(statement) > 1_000_000
    assert classify(statement).target is R
    assert parses == []


@pytest.mark.parametrize(
    "tail",
    [
        "AND nextval('s') > 0",
        "FOR UPDATE",
        "FOR KEY SHARE",
        "AND my_function(id)",
        "; DELETE FROM t",
        "; SET x = 1",
        "AND x IN (SELECT * FROM pg_temp.t)",
        "AND pg_catalog.setval('s', 1) > 0",
        "AND \"nextval\"('s') > 0",
        "AND nextval /* comment */ ('s') > 0",
    ],
)
def test_huge_statements_still_see_writes(tail: str) -> None:
    ids = ", ".join(f"'{i}'" for i in range(20_000))
    statement = f"SELECT * FROM users WHERE id IN ({ids}) {tail}"
    assert len(statement) > Policy().max_parse_size
    check(statement, P)


def test_scan_agrees_with_the_parse_on_the_corpus() -> None:
    """With parsing disabled, no corpus row that must go to the primary goes to a replica,
    no plain read leaves the replicas, and every row keeps its kind."""
    scan_only = Policy(max_parse_size=0)
    wrong = []
    for row in load():
        if row.category == "unparsable":  # syntax errors: the scan does not check syntax
            continue
        parsed, scanned = classify(row.sql), classify(row.sql, scan_only)
        if row.expected is P and scanned.target is R:
            wrong.append((row.line, row.sql, "write sent to a replica", scanned.reason))
        if parsed.reason == "a read-only query" and scanned.target is P:
            wrong.append((row.line, row.sql, "read sent to the primary", scanned.reason))
        if scanned.statement is not parsed.statement:
            wrong.append((row.line, row.sql, parsed.statement, scanned.statement))
    assert not wrong


def test_scan_keeps_plain_reads_on_replicas() -> None:
    scan_only = Policy(max_parse_size=0)
    for statement in ["SELECT * FROM t WHERE a = 'FOR UPDATE'", "SELECT lower(x) FROM t",
                      "SELECT 1 -- DELETE", "SELECT $$INSERT$$", "VALUES (1)"]:  # fmt: skip
        check(statement, R, scan_only)
    with pytest.raises(InvalidQueryError):
        classify("  /* only a comment */ ", scan_only)


# Derived tables, functions and tables in FROM whose alias has a column list,
# next to real calls: the scan must tell them apart as the parse does.
ALIASES_AND_CALLS = [
    ("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(a, b)", R),
    ("SELECT * FROM (VALUES (1, 'a')) AS v(a, b)", R),
    ("SELECT * FROM (SELECT 1, 2) s(a, b) JOIN t x(c) ON true", R),
    ("SELECT * FROM t x(a, b)", R),
    ("SELECT * FROM t AS x(a, b)", R),
    ("SELECT * FROM public.t x(a, b) JOIN ONLY u y(c) USING (c)", R),
    ("SELECT * FROM generate_series(1, 10) g(i)", R),
    ("SELECT * FROM generate_series(1, 3) WITH ORDINALITY g(a, n)", R),
    ("SELECT * FROM t CROSS JOIN LATERAL unnest(t.a) u(x)", R),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 9) TABLE r", R),
    ("SELECT a + (b) FROM t", R),
    ("SELECT * FROM nextval('s')", P),
    ("SELECT * FROM nextval('s') n(i)", P),
    ("SELECT * FROM t x(a), nextval('s') n", P),
    ("SELECT * FROM t JOIN LATERAL nextval('s') n(i) ON true", P),
    ("SELECT * FROM (VALUES (1)) v(a), pg_advisory_lock(1) l", P),
    ("SELECT count(*), nextval('s') FROM t", P),
    ("SELECT lower(a) || nextval('s') FROM t", P),
    ("SELECT DISTINCT ON (a) nextval('s') FROM t", P),
    ("SELECT extract(epoch FROM CASE nextval('s') WHEN 1 THEN now() END)", P),
    ("SELECT substring(a FROM b FOR nextval('s')) FROM t", P),
    ("WITH x(n) AS (SELECT nextval('s')) SELECT * FROM x", P),
]


@pytest.mark.parametrize(("statement", "target"), ALIASES_AND_CALLS)
def test_scan_tells_aliases_from_calls_as_the_parse_does(statement: str, target: Target) -> None:
    parsed = check(statement, target)
    scanned = check(statement, target, Policy(max_parse_size=0))
    if target is P:
        assert scanned.reason == parsed.reason
    assert scanned.statement is parsed.statement is QUERY


@pytest.mark.parametrize(
    "statement",
    [
        # valid PostgreSQL that sqlglot cannot parse: only the scan reads these
        "SELECT 1 OPERATOR(pg_catalog.+) nextval('s')",
        "SELECT * FROM ROWS FROM (json_to_record('{}') AS (a int), nextval('s')) r",
    ],
)
def test_scan_sees_calls_after_other_parentheses(statement: str) -> None:
    assert "nextval()" in check(statement, P, Policy(max_parse_size=0)).reason


ROWS = ", ".join(f"({i}, 'name {i}')" for i in range(5_000))


@pytest.mark.parametrize("alias", ["v(a, b)", "AS v(a, b)", "v"])
def test_huge_values_read_goes_to_a_replica(alias: str) -> None:
    statement = f"SELECT * FROM (VALUES {ROWS}) {alias} WHERE a > 10"
    assert len(statement) > Policy().max_parse_size
    route = check(statement, R)
    assert (route.reason, route.statement) == ("a large read-only query (token scan)", QUERY)


@pytest.mark.parametrize(
    ("tail", "name"),
    [
        ("v(a, b), nextval('s') n", "nextval()"),
        ("AS v(a, b) CROSS JOIN LATERAL nextval('s') n(i)", "nextval()"),
        ("v(a, b) WHERE my_function(a)", "my_function()"),
        (
            "v(a, b) JOIN generate_series(1, 2) g(i) ON pg_advisory_lock(i) IS NULL",
            "pg_advisory_lock()",
        ),
        ("v(a, b) WHERE a = ANY (SELECT setval('s', 1))", "setval()"),
    ],
)
def test_huge_values_reads_still_see_calls(tail: str, name: str) -> None:
    route = check(f"SELECT * FROM (VALUES {ROWS}) {tail}", P)
    assert name in route.reason


IDS = ", ".join(str(i) for i in range(20_000))


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        (f"SELECT * FROM t WHERE id IN ({IDS})", QUERY),
        (f"select * from t where id in ({IDS}) for no key update", QUERY),
        (f"/* pgcluster:replica */ WITH a AS (SELECT * FROM t WHERE id IN ({IDS})) TABLE a", QUERY),
        (f"VALUES ({IDS})", QUERY),
        (f"SELECT nextval('s') FROM t WHERE id IN ({IDS})", QUERY),
        (f"SELECT * INTO t2 FROM t WHERE id IN ({IDS})", OTHER),
        (f"WITH d AS (DELETE FROM t WHERE id IN ({IDS}) RETURNING *) SELECT * FROM d", OTHER),
        (f"EXPLAIN SELECT * FROM t WHERE id IN ({IDS})", OTHER),
        (f"INSERT INTO t VALUES ({IDS})", OTHER),
        (f"SELECT * FROM t WHERE id IN ({IDS}); SELECT 1", OTHER),
        (f"BEGIN; INSERT INTO t VALUES ({IDS}); COMMIT", TRANSACTION),
        (f"-- a batch\nbegin; DELETE FROM t WHERE id IN ({IDS}); commit", TRANSACTION),
        (f"COPY (SELECT * FROM t WHERE id IN ({IDS})) TO STDOUT", COPY),
        (f"COPY (SELECT * FROM t WHERE id IN ({IDS})) TO '/tmp/t.csv'", OTHER),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else str(value),
)
def test_huge_statement_kind(statement: str, kind: Statement) -> None:
    assert len(statement) > Policy().max_parse_size
    assert classify(statement).statement is kind


# -- generated function knowledge -----------------------------------------------------------


def test_builtin_function_table_is_generated_from_pg_proc() -> None:
    assert len(FUNCTIONS) > 2500
    assert FUNCTIONS["nextval"] == ("v", "")
    assert FUNCTIONS["lower"][0] == "i"
    assert FUNCTIONS["now"][0] == "s"
    assert FUNCTIONS["similarity"] == ("i", "pg_trgm")
    assert set(v for v, _ in FUNCTIONS.values()) == {"v", "s", "i"}


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO t VALUES (';'); SET x = 1",
        "INSERT INTO t VALUES (E'\\';'); SET x = 1",
        "INSERT INTO t VALUES ($$;$$); SET x = 1",
        "INSERT INTO t VALUES ('a;b') ; LISTEN x",
        "INSERT INTO t VALUES (1) -- ;\n; SET x = 1",
        'INSERT INTO "a;b" VALUES (1) /* ; */; SET x = 1',
        # their first words are read: the ";" right after them is not skipped twice
        "CREATE EXTENSION e; SET x = 1",
        "COMMIT; SET x = 1",
        "COPY t FROM STDIN; SET x = 1",
    ],
)
def test_scan_finds_the_statement_after_a_large_write(statement: str) -> None:
    route = check(statement, P, Policy(max_parse_size=0))
    assert route.session


# -- positional parameters without spaces ------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "target"),
    [
        # sqlglot took "$1,$" for a dollar quote with the tag "1,": tokenized again
        ("SELECT $1,$2", R),
        ("SELECT * FROM t WHERE a = $1::int AND b IN ($2,$3)", R),
        ("SELECT $1||$2", R),
        ('SELECT "$1,$x" FROM t WHERE a = $1,$2', R),
        ("SELECT nextval($1),$2", P),
        ("WITH d AS (DELETE FROM t WHERE a IN ($1,$2) RETURNING *) SELECT * FROM d", P),
        ("SELECT $a$ $1,$2 $a$, $1", R),
    ],
)
def test_parameters_without_spaces_are_tokenized(statement: str, target: Target) -> None:
    route = check(statement, target)
    assert "tokenized" not in route.reason


def test_parameters_without_spaces_keep_identifiers() -> None:
    tokens = _sqlglot.tokenize('SELECT "$1,$x", $1,$2')
    assert [t.text for t in tokens] == ["SELECT", "$1,$x", ",", "$", "1", ",", "$", "2"]
