"""The corpus labels, checked against real servers (a primary and hot standbys).

- Every ``replica`` row must run on a hot standby without error (inside a
  transaction that is rolled back; COPY ... TO STDOUT rows through
  ``cursor.copy()``).
- Every ``primary`` row of a *writing* category (`WRITE_CATEGORIES`) must fail
  on the standby with one of the errors a standby raises for writes: SQLSTATE
  25006 (read_only_sql_transaction: "cannot execute INSERT in a read-only
  transaction", also VACUUM, LISTEN, NOTIFY, ...) or 55000
  (object_not_in_prerequisite_state: "recovery is in progress", e.g.
  ``pg_switch_wal()``, "cannot assign TransactionIds during recovery"), or an
  internal error whose message says "during recovery" (XX000 "cannot assign
  OIDs during recovery", from the large-object functions).

The other primary categories go to the primary for reasons a standby does not
enforce: session state (SET, PREPARE, cursors, transaction control, temporary
tables, set_config), node probes (pg_is_in_recovery(), pg_stat_activity: the
standby answers, but about itself), unknown or volatile functions (the
classifier cannot tell), advisory locks (which a standby grants, on itself
only), LOCK in the modes a standby allows, multi-statement strings mixing
those, and statements that do not parse. They are not checked here.

The schema lives in a database of our own (``routing_corpus``) so other tests
sharing the session cluster are not disturbed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgcluster.classifier import Target
from tests.classifier.test_classifier_corpus import Row, load

SCHEMA = Path(__file__).parent / "data" / "routing_corpus_schema.sql"
DBNAME = "routing_corpus"

WRITE_CATEGORIES = frozenset(
    {
        "dml", "returning", "insert_on_conflict", "update_from", "delete_using", "merge",
        "truncate", "ddl", "grant", "security_label", "create_index_concurrently",
        "refresh_matview", "vacuum", "analyze", "cluster_admin",
        "select_for_update", "select_for_share", "select_into", "create_table_as",
        "cte_write", "explain_analyze_write", "copy_from", "copy_to_write", "nextval",
        "txid", "lo_function", "notify", "notify_function", "case_mix", "quoted_ident",
        "dollar_quote", "comment_hint", "orm_django", "orm_sqlalchemy", "orm_rails",
        "orm_hibernate", "trap_sqlglot",
    }
)  # fmt: skip
# Within those categories, rows that are primary for another reason than writing.
NOT_WRITES = frozenset(
    {
        'SAVEPOINT "s139851_x2"',
        'RELEASE SAVEPOINT "s139851_x2"',
        'ROLLBACK TO SAVEPOINT "s139851_x2"',
        "BEGIN (implicit)",
        "SELECT pg_try_advisory_lock(1234567890)",
        "SELECT pg_advisory_unlock(1234567890)",
        "SET client_min_messages TO 'warning'",
        "SET intervalstyle = iso_8601",
        "SELECT set_config('TimeZone', 'UTC', false)",
        "/* pgcluster:replica */ SET search_path TO public",
        "LISTEN foo",
        "SAVEPOINT s",
        "DISCARD SEQUENCES",
        "ABORT WORK",
        "BEGIN READ ONLY",
        "RELEASE SAVEPOINT s",
        "SET standard_conforming_strings = on",
        "/* pgcluster:primary */ SELECT * FROM users WHERE id = 1",
        "checkpoint",  # a standby runs CHECKPOINT (as a restartpoint): primary as admin
    }
)
STANDBY_ERRORS = frozenset({"25006", "55000"})

pytestmark = pytest.mark.timeout(300)


def _is_write(row: Row) -> bool:
    return (
        row.expected is Target.PRIMARY
        and row.category in WRITE_CATEGORIES
        and row.sql not in NOT_WRITES
    )


ROWS = load()
REPLICA_ROWS = [r for r in ROWS if r.expected is Target.REPLICA]
WRITE_ROWS = [r for r in ROWS if _is_write(r)]


@pytest.fixture(scope="module")
def corpus_dsns(local_cluster: Any) -> Iterator[tuple[str, list[str]]]:
    primary = local_cluster.primary
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DBNAME}")
    dsn = make_conninfo(primary.dsn, dbname=DBNAME)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
    local_cluster.wait_replicated(timeout=60)
    yield dsn, [make_conninfo(r.dsn, dbname=DBNAME) for r in local_cluster.replicas]
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")


def _run(conn: psycopg.Connection[Any], sql: str) -> None:
    with conn.cursor() as cur:
        if sql.lstrip().upper().startswith("COPY") and "STDOUT" in sql.upper():
            with cur.copy(sql) as copy:
                for _ in copy:
                    pass
        else:
            cur.execute(sql)


def test_corpus_counts() -> None:
    assert len(REPLICA_ROWS) > 100
    assert len(WRITE_ROWS) > 100


def test_replica_rows_run_on_a_standby(corpus_dsns: tuple[str, list[str]]) -> None:
    _, replicas = corpus_dsns
    failures = []
    with psycopg.connect(replicas[0]) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        conn.rollback()
        for row in REPLICA_ROWS:
            try:
                _run(conn, row.sql)
            except psycopg.Error as exc:
                failures.append(f"line {row.line} {row.sql!r}: {exc.sqlstate} {exc}")
            finally:
                conn.rollback()
    assert not failures, f"{len(failures)} replica rows fail on a standby:\n" + "\n".join(failures)


def test_write_rows_fail_on_a_standby(corpus_dsns: tuple[str, list[str]]) -> None:
    _, replicas = corpus_dsns
    wrong = []
    with psycopg.connect(replicas[0], autocommit=True) as conn:
        for row in WRITE_ROWS:
            try:
                _run(conn, row.sql)
            except psycopg.Error as exc:
                if exc.sqlstate not in STANDBY_ERRORS and "during recovery" not in str(exc):
                    wrong.append(f"line {row.line} {row.sql!r}: {exc.sqlstate} {exc}")
            else:
                wrong.append(f"line {row.line} {row.sql!r}: ran on the standby")
    assert not wrong, f"{len(wrong)} write rows do not fail as writes:\n" + "\n".join(wrong)
