"""The pure checks behind issue 12's session and option items: no server needed.

- `check_method()`: what query() and stream() refuse (a client COPY, a
  statement no cursor can be declared for);
- `check_in_session()`: transaction control inside task() and tx();
- `check_options()`: a misspelt Pool or Cluster option names the right one;
- `_conninfo.resolve()`: an empty connection string is refused.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import pgcluster
from pgcluster import errors
from pgcluster._core import conninfo as _conninfo
from pgcluster._core.options import (
    check_options,
    option_names,
)
from pgcluster._core.routing import (
    check_in_session,
    check_method,
    decide,
)
from pgcluster.classifier import Route, Statement, Target, classify
from pgcluster.errors import (
    ConfigurationError,
    InvalidQueryError,
    SessionClosedError,
    SessionStatementError,
)

# -- check_method ---------------------------------------------------------------

STREAMABLE = [
    "SELECT 1",
    "VALUES (1), (2)",
    "TABLE t",
    "WITH x AS (SELECT 1) SELECT * FROM x",
    "SELECT * FROM t FOR UPDATE",
    "/* pgcluster:primary */ SELECT 1",
]
NOT_STREAMABLE = [
    "UPDATE t SET a = 1 RETURNING a",
    "INSERT INTO t VALUES (1) RETURNING *",
    "DELETE FROM t RETURNING *",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
    "SELECT 1 INTO t2",
    "EXPLAIN SELECT 1",
    "SHOW search_path",
    "SELECT 1; SELECT 2",
    "CREATE TABLE t3 (a int)",
]
CLIENT_COPY = [
    "COPY t TO STDOUT",
    "COPY t FROM STDIN",
    "COPY (SELECT 1) TO STDOUT (FORMAT csv)",
    "copy t from stdin with (format binary)",
]


@pytest.mark.parametrize("sql", STREAMABLE)
def test_stream_takes_what_a_cursor_can_be_declared_for(sql: str) -> None:
    check_method(classify(sql), "stream")
    check_method(classify(sql), "query")


@pytest.mark.parametrize("sql", NOT_STREAMABLE)
def test_stream_refuses_the_rest_and_names_query(sql: str) -> None:
    route = classify(sql)
    with pytest.raises(InvalidQueryError, match=r"run it with query\(\)") as info:
        check_method(route, "stream")
    assert route.reason in str(info.value)
    assert isinstance(info.value, psycopg.ProgrammingError)
    check_method(route, "query")  # query() runs them


@pytest.mark.parametrize("sql", CLIENT_COPY)
@pytest.mark.parametrize("method", ["query", "stream"])
def test_a_client_copy_names_the_copy_api(sql: str, method: str) -> None:
    with pytest.raises(InvalidQueryError, match=r"cursor\(\)\.copy\(sql\)") as info:
        check_method(classify(sql), method)
    message = str(info.value)
    assert message.startswith(f"{method}() cannot run a COPY with the client")
    assert "pool.connection()" in message
    assert "session.connection" in message


def test_a_server_side_copy_is_not_a_client_copy() -> None:
    # COPY to a server file runs with query() (if the role may); no copy API involved.
    check_method(classify("COPY t TO '/tmp/t.csv'"), "query")


def test_check_method_reads_the_statement_kind_only() -> None:
    check_method(Route(Target.PRIMARY, "x", statement=Statement.OTHER), "query")
    with pytest.raises(InvalidQueryError):
        check_method(Route(Target.REPLICA, "x", statement=Statement.COPY), "query")
    with pytest.raises(InvalidQueryError):
        check_method(Route(Target.REPLICA, "x", statement=Statement.OTHER), "stream")


@pytest.mark.parametrize("target", [None, Target.PRIMARY, Target.REPLICA])
@pytest.mark.parametrize("pinned", [False, True])
def test_decide_checks_the_method_before_any_override(target: Target | None, pinned: bool) -> None:
    # target="primary" and use_primary() give routes of their own: the check
    # reads the classifier's, so an override cannot hide a COPY.
    with pytest.raises(InvalidQueryError, match="COPY"):
        decide("COPY t TO STDOUT", None, target, pinned)
    with pytest.raises(InvalidQueryError, match=r"stream\(\)"):
        decide("UPDATE t SET a = 1 RETURNING a", None, target, pinned, "stream")
    assert decide("UPDATE t SET a = 1 RETURNING a", None, Target.PRIMARY, pinned).target is (
        Target.PRIMARY
    )


def test_decide_refuses_session_statements_first() -> None:
    with pytest.raises(SessionStatementError):
        decide("BEGIN", None, None, False, "stream")


# -- check_in_session -------------------------------------------------------------

TRANSACTION_CONTROL = [
    "BEGIN",
    "BEGIN ISOLATION LEVEL SERIALIZABLE",
    "START TRANSACTION",
    "COMMIT",
    "COMMIT AND CHAIN",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT s",
    "RELEASE s",
    "RELEASE SAVEPOINT s",
    "ROLLBACK TO s",
    "ROLLBACK TO SAVEPOINT s",
    "PREPARE TRANSACTION 'x'",
    "/* a comment */ commit",
    "INSERT INTO t VALUES (1); COMMIT",
]


@pytest.mark.parametrize("sql", TRANSACTION_CONTROL)
def test_transaction_control_is_refused_in_a_session(sql: str) -> None:
    route = classify(sql)
    with pytest.raises(SessionStatementError) as info:
        check_in_session(route)
    message = str(info.value)
    assert "refused inside task() and tx()" in message
    assert route.reason in message
    assert "nest `with session.tx():`" in message


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "INSERT INTO t VALUES (1)",
        "SET search_path = x",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "LISTEN jobs",
        "PREPARE p AS SELECT 1",
        # Act on a transaction prepared earlier, not on this session's: allowed
        # in task(); inside tx() the server refuses them itself.
        "COMMIT PREPARED 'x'",
        "ROLLBACK PREPARED 'x'",
    ],
)
def test_other_statements_are_left_to_the_session(sql: str) -> None:
    check_in_session(classify(sql))


# -- the errors -------------------------------------------------------------------


def test_session_closed_error_is_a_pgcluster_and_psycopg_interface_error() -> None:
    assert issubclass(SessionClosedError, errors.Error)
    assert issubclass(SessionClosedError, psycopg.InterfaceError)
    assert "SessionClosedError" in errors.__all__
    assert errors.__all__ == sorted(errors.__all__)


# -- check_options ---------------------------------------------------------------


def pool_init(
    conninfo: str | None = None, *, min_size: int = 1, max_size: int = 10, timeout: float = 30.0
) -> None:
    """A stand-in signature."""


def test_option_names_reads_keyword_parameters_in_order() -> None:
    def more(self: object, *args: Any, health_interval: float = 1.0, **kw: Any) -> None: ...

    assert option_names(pool_init) == ["conninfo", "min_size", "max_size", "timeout"]
    assert option_names(more, pool_init)[:2] == ["health_interval", "conninfo"]


def test_known_options_pass() -> None:
    check_options("Pool", [], pool_init)
    check_options("Pool", ["max_size", "timeout"], pool_init)


def test_a_typo_names_the_closest_option() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_options("Pool", ["max_szie"], pool_init)
    assert str(info.value) == (
        "Pool() got unknown option 'max_szie' (did you mean 'max_size'?);"
        " its options are: conninfo, min_size, max_size, timeout"
    )


def test_every_unknown_option_is_named_with_or_without_a_suggestion() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_options("Pool", ["timeout", "tiemout", "colour"], pool_init)
    message = str(info.value)
    assert message.startswith(
        "Pool() got unknown options 'tiemout' (did you mean 'timeout'?), 'colour';"
    )


def test_excluded_names_are_neither_valid_nor_suggested() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_options("Cluster", ["conninfo"], pool_init, exclude=["conninfo"])
    assert "conninfo, " not in str(info.value)


@pytest.mark.parametrize("cls", [pgcluster.Pool, pgcluster.AsyncPool])
def test_pool_typo_is_a_configuration_error(cls: type[Any]) -> None:
    options: dict[str, Any] = {"max_szie": 3}
    with pytest.raises(ConfigurationError, match=r"'max_szie' \(did you mean 'max_size'\?\)"):
        cls("host=db.invalid", **options)
    with pytest.raises(ConfigurationError, match=rf"^{cls.__name__}\(\) got unknown option"):
        cls("host=db.invalid", **options)


@pytest.mark.parametrize("cls", [pgcluster.Cluster, pgcluster.AsyncCluster])
@pytest.mark.parametrize(
    ("typo", "meant"), [("max_szie", "max_size"), ("helth_interval", "health_interval")]
)
def test_cluster_typo_names_cluster_and_pool_options(cls: type[Any], typo: str, meant: str) -> None:
    # A Cluster takes its own options and its pools': a typo of either is found.
    options: dict[str, Any] = {typo: 3}
    with pytest.raises(ConfigurationError) as info:
        cls("host=db1.invalid", ["host=db2.invalid"], **options)
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}() got unknown option {typo!r}")
    assert f"did you mean {meant!r}" in message
    assert "failover_timeout" in message
    assert "max_lifetime" in message
    assert "conninfo" not in message


# -- empty connection strings ---------------------------------------------------


@pytest.mark.parametrize("conninfo", ["", "   ", "\n"])
def test_an_empty_connection_string_is_refused(conninfo: str) -> None:
    with pytest.raises(ConfigurationError, match="empty connection string"):
        _conninfo.resolve(conninfo)
    # Not even when DATABASE_URL is set: "" is not "not given".
    with pytest.raises(ConfigurationError, match="empty connection string"):
        _conninfo.resolve(conninfo, {"DATABASE_URL": "host=db"})


def test_a_one_keyword_string_still_means_libpq_defaults_for_the_rest() -> None:
    assert _conninfo.resolve("dbname=app") == "dbname=app"


@pytest.mark.parametrize(
    "make",
    [
        lambda: pgcluster.Pool(""),
        lambda: pgcluster.AsyncPool(""),
        lambda: pgcluster.Cluster(""),
        lambda: pgcluster.AsyncCluster(""),
        lambda: pgcluster.Cluster("host=db1.invalid", [""]),
    ],
    ids=["Pool", "AsyncPool", "Cluster", "AsyncCluster", "Cluster-replica"],
)
def test_pool_and_cluster_refuse_an_empty_connection_string(make: Any) -> None:
    with pytest.raises(ConfigurationError, match="empty connection string"):
        make()
