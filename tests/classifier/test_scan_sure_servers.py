"""The reads of tests/classifier/data/regress_reads.tsv, run on a hot standby.

Each must run there, or fail only with the data error PostgreSQL's regression
tests expect of it (division by zero, invalid XML): never with 25006 or 55000,
the errors of a write on a standby.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.classifier.test_scan_sure import regress_reads

SCHEMA = Path(__file__).parent / "data" / "regress_reads_schema.sql"
DBNAME = "regress_reads"
# The regression tests' own expected errors: data, not the standby.
EXPECTED_ERRORS = frozenset({"22012", "42601", "2200M", "2200L"})

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def standby_dsn(local_cluster: Any) -> Iterator[str]:
    primary = local_cluster.primary
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DBNAME}")
    with psycopg.connect(make_conninfo(primary.dsn, dbname=DBNAME), autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
    local_cluster.wait_replicated(timeout=60)
    yield make_conninfo(local_cluster.replicas[0].dsn, dbname=DBNAME)
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")


def test_regress_reads_run_on_a_standby(standby_dsn: str) -> None:
    failures = []
    ran = 0
    with psycopg.connect(standby_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        for sql in regress_reads():
            try:
                conn.execute(sql).fetchall()
                ran += 1
            except psycopg.Error as exc:
                if exc.sqlstate not in EXPECTED_ERRORS:
                    failures.append(f"{sql!r}: {exc.sqlstate} {exc}")
    assert not failures, "\n".join(failures)
    assert ran >= 60
