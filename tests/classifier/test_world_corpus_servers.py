"""The world corpus's labels, re-checked on real servers (a primary and a hot standby).

tools/label_corpus.py made the labels; this checks that they still hold:

- every ``replica`` row runs on a hot standby without error (in a transaction
  rolled back; COPY ... TO STDOUT through ``cursor.copy()``);
- every ``primary`` row of class ``write`` is refused by the standby as a
  standby refuses (SQLSTATE 25006, 55000 or 0A000, or a message saying
  "during recovery" or "hot standby"), with autocommit, as the statements
  that cannot run in a transaction block need.

The rule classes (session, transaction, lock, advisory_lock, node_probe,
admin) are primary for reasons a standby does not enforce; they are not run.
The schema is loaded into a database of its own (``world_corpus``), one
statement a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgcluster._core.faults import standby_refusal
from pgcluster.classifier import Target
from tests.classifier.test_world_corpus import ROWS, Row

SCHEMA = Path(__file__).parent / "data" / "world_corpus_schema.sql"
DBNAME = "world_corpus"
OPTIONS = "-c statement_timeout=5000 -c lock_timeout=2000"

REPLICA_ROWS = [r for r in ROWS if r.expected is Target.REPLICA]
WRITE_ROWS = [r for r in ROWS if r.kind == "write"]

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def world_dsns(local_cluster: Any) -> Iterator[tuple[str, str]]:
    primary = local_cluster.primary
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DBNAME}")
    dsn = make_conninfo(primary.dsn, dbname=DBNAME)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for line in SCHEMA.read_text().splitlines():
            if line.strip() and not line.startswith("--"):
                conn.execute(line)
    local_cluster.wait_replicated(timeout=60)
    yield dsn, make_conninfo(local_cluster.replicas[0].dsn, dbname=DBNAME)
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")


def _run(conn: psycopg.Connection[Any], sql: str) -> None:
    with conn.cursor() as cur:
        if re.match(r"(?is)\s*copy\b.*\b(to\s+stdout|from\s+stdin)", sql):
            with cur.copy(sql) as copy:
                for _ in copy:
                    pass
        else:
            cur.execute(sql)


def _connect(dsn: str, autocommit: bool) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=autocommit, options=OPTIONS, prepare_threshold=None)


def _describe(row: Row, what: str) -> str:
    return f"line {row.line} [{row.source}] {row.sql[:200]!r}: {what}"


def test_world_corpus_counts() -> None:
    assert len(REPLICA_ROWS) > 1000
    assert len(WRITE_ROWS) > 100


def test_replica_rows_run_on_a_standby(world_dsns: tuple[str, str]) -> None:
    _, standby = world_dsns
    failures = []
    conn = _connect(standby, autocommit=False)
    try:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        conn.rollback()
        for row in REPLICA_ROWS:
            # A query canceled by a conflict with recovery (the primary's vacuum
            # removed rows it could see) is a standby's transient, not a label: once more.
            for attempt in (1, 2):
                try:
                    _run(conn, row.sql)
                except psycopg.Error as exc:
                    if attempt == 1 and "conflict with recovery" in str(exc):
                        continue
                    failures.append(_describe(row, f"{exc.sqlstate} {exc}"))
                finally:
                    if conn.broken:
                        conn = _connect(standby, autocommit=False)
                    else:
                        conn.rollback()
                        conn.autocommit = True
                        conn.execute("DISCARD ALL")
                        conn.autocommit = False
                break
    finally:
        conn.close()
    assert not failures, f"{len(failures)} replica rows fail on a standby:\n" + "\n".join(failures)


def test_write_rows_are_refused_by_a_standby(world_dsns: tuple[str, str]) -> None:
    _, standby = world_dsns
    wrong = []
    with _connect(standby, autocommit=True) as conn:
        for row in WRITE_ROWS:
            try:
                _run(conn, row.sql)
            except psycopg.Error as exc:
                # The rule the cluster's safety net uses, checked on every write row.
                if standby_refusal(exc) is None:
                    wrong.append(_describe(row, f"{exc.sqlstate} {exc}"))
            else:
                wrong.append(_describe(row, "ran on the standby"))
    assert not wrong, f"{len(wrong)} write rows are not refused:\n" + "\n".join(wrong)
