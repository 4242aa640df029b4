"""The Python examples of the docs and the README, run against real servers.

Each block runs as a script with ``DATABASE_URL`` and ``DATABASE_REPLICA_URLS``
pointing at the session's primary and replicas, in a database of its own that
holds exactly what ``pgcluster demo`` creates (`pgcluster.cli.demo.SCHEMA`):
what a reader has after ``pgcluster demo --keep``. Left out: blocks that name
the docs' imaginary hosts (``db1``...), and the testing page, whose blocks are
test modules that start servers of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgcluster.cli.demo import SCHEMA
from pgcluster.testing import LocalCluster
from tests.docs.test_docs import PAGES, ROOT, python_blocks

DATABASE = "docs_examples"

# Pages that still use a table the demo does not have, and that table: their
# blocks may fail on exactly that, until the page uses the demo's schema.
NOT_ON_THE_DEMO_SCHEMA = {"docs/consistency.md": "comment", "docs/failover.md": "account"}

RUNNABLE = [
    (page, line, code)
    for page in PAGES
    if page.name != "testing.md"
    for line, code in python_blocks(page)
    if "@db1" not in code
]


@pytest.fixture(scope="module")
def servers(local_cluster: LocalCluster) -> Iterator[list[str]]:
    """The shared servers' connection strings, to a database with the demo's schema."""
    primary = local_cluster.primary
    primary.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    primary.execute(f"CREATE DATABASE {DATABASE}")
    with primary.connect(dbname=DATABASE) as conn:
        conn.execute(SCHEMA)
    local_cluster.wait_replicated()
    yield [make_conninfo(node.dsn, dbname=DATABASE) for node in local_cluster.nodes]
    # FORCE: an example may leave its cluster's connections open.
    primary.execute(f"DROP DATABASE {DATABASE} WITH (FORCE)")


def test_most_examples_run() -> None:
    assert len(RUNNABLE) >= 10


@pytest.mark.parametrize(("page", "table"), NOT_ON_THE_DEMO_SCHEMA.items())
def test_a_page_off_the_demo_schema_still_is(page: str, table: str) -> None:
    # Once it is not, its entry must go, so that its examples must pass again.
    assert re.search(rf"\b{table}\b", (ROOT / page).read_text()), f"{page}: drop its entry"


@pytest.mark.parametrize(
    ("page", "line", "code"), RUNNABLE, ids=[f"{p.relative_to(ROOT)}:{n}" for p, n, _ in RUNNABLE]
)
def test_example_runs(
    page: Path, line: int, code: str, servers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, *replicas = servers
    monkeypatch.setenv("DATABASE_URL", primary)
    monkeypatch.setenv("DATABASE_REPLICA_URLS", ",".join(replicas))
    try:
        exec(compile(code, f"{page}:{line}", "exec"), {"__name__": "docs_example"})
    except psycopg.errors.UndefinedTable as ex:
        table = NOT_ON_THE_DEMO_SCHEMA.get(str(page.relative_to(ROOT)))
        if table is None or table not in str(ex):
            raise
        pytest.xfail(f"uses the table {table}, which pgcluster demo does not create")
