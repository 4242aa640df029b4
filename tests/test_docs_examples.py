"""The Python examples of the docs, run against real servers.

Each block runs as a script with ``DATABASE_URL`` and ``DATABASE_REPLICA_URLS``
pointing at the session's primary and replicas, after the tables the examples
use were created. Left out: blocks that name the docs' imaginary hosts
(``db1``...), and the testing page, whose blocks are test modules that start
servers of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pgcluster.testing import LocalCluster
from tests.test_docs import DOCS, ROOT, python_blocks

TABLES = {
    "product": "id int PRIMARY KEY, name text, qty int, stock int, price numeric",
    "order_item": "order_id int, product_id int",
    "comment": "post_id int, body text",
    "account": "id int PRIMARY KEY, balance int",
    "note": "id serial PRIMARY KEY, body text",
}

RUNNABLE = [
    (page, line, code)
    for page in sorted(DOCS.rglob("*.md"))
    if page.name != "testing.md"
    for line, code in python_blocks(page)
    if "@db1" not in code
]


@pytest.fixture(scope="module")
def servers(local_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The shared servers with the examples' tables, dropped again afterwards."""
    drop = f"DROP TABLE IF EXISTS {', '.join(TABLES)}"
    local_cluster.primary.execute(drop)
    for name, columns in TABLES.items():
        local_cluster.primary.execute(f"CREATE TABLE {name} ({columns})")
    local_cluster.wait_replicated()
    yield local_cluster
    local_cluster.primary.execute(drop)


def test_most_examples_run() -> None:
    assert len(RUNNABLE) >= 10


@pytest.mark.parametrize(
    ("page", "line", "code"), RUNNABLE, ids=[f"{p.relative_to(ROOT)}:{n}" for p, n, _ in RUNNABLE]
)
def test_example_runs(
    page: Path, line: int, code: str, servers: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", servers.primary.dsn)
    monkeypatch.setenv("DATABASE_REPLICA_URLS", ",".join(n.dsn for n in servers.replicas))
    exec(compile(code, f"{page}:{line}", "exec"), {"__name__": "docs_example"})
