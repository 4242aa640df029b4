"""What loading the catalog costs at open on a large schema.

``python -m bench.catalog [--tables N]`` starts a primary, creates N tables
and N views (a tenth of the tables UNLOGGED; a tenth of the views over one,
a tenth calling a VOLATILE function, a tenth calling ``pg_current_xact_id()``),
and times the two catalog queries and the building of the policy from their
rows, the median of a few rounds. Wall-clock time on a shared machine: a
figure of magnitude, not a ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg

from pgcluster._io.catalog import CATALOG_QUERY, RELATIONS_QUERY, relations_params, with_catalog
from pgcluster.classifier import Policy
from pgcluster.testing import LocalCluster

ROUNDS = 5
BATCH = 500  # statements per round trip while creating the schema


def schema(tables: int) -> list[str]:
    """The DDL of *tables* tables and as many views, in the shapes described above."""
    ddl = ["CREATE SCHEMA big", "CREATE FUNCTION big.bump() RETURNS int VOLATILE"
           " LANGUAGE sql AS $$ SELECT 1 $$"]  # fmt: skip
    for i in range(tables):
        unlogged = "UNLOGGED " if i % 10 == 0 else ""
        ddl.append(f"CREATE {unlogged}TABLE big.t{i} (id int PRIMARY KEY, v text, n numeric)")
    for i in range(tables):
        if i % 10 == 0:
            body = f"SELECT id, v FROM big.t{i}"  # over an unlogged table
        elif i % 10 == 1:
            body = f"SELECT id, big.bump() AS b FROM big.t{i}"
        elif i % 10 == 2:
            body = f"SELECT id, pg_current_xact_id() AS x FROM big.t{i}"
        else:
            body = f"SELECT id, upper(v) AS v, n::numeric(10, 2) AS n FROM big.t{i} WHERE id > 0"
        ddl.append(f"CREATE VIEW big.v{i} AS {body}")
    return ddl


def measure(dsn: str) -> dict[str, float | int]:
    """Median milliseconds of each step, and what the catalog holds."""
    functions_ms, relations_ms, build_ms = [], [], []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(ROUNDS):
            start = time.perf_counter()
            functions = conn.execute(CATALOG_QUERY).fetchall()
            middle = time.perf_counter()
            relations = conn.execute(RELATIONS_QUERY, relations_params(Policy())).fetchall()
            end = time.perf_counter()
            policy = with_catalog(Policy(), functions, relations)
            built = time.perf_counter()
            functions_ms.append((middle - start) * 1e3)
            relations_ms.append((end - middle) * 1e3)
            build_ms.append((built - end) * 1e3)
    kept = policy.relation_catalog or {}
    return {
        "function query ms": statistics.median(functions_ms),
        "relation query ms": statistics.median(relations_ms),
        "building the policy ms": statistics.median(build_ms),
        "relations returned": len(relations),
        "definitions classified": sum(row[5] is not None for row in relations),
        "relations read on the primary only": sum("." in key for key in kept),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=5000, help="tables, and as many views")
    args = parser.parse_args(argv)
    with (
        LocalCluster(replicas=0) as cluster,
        psycopg.connect(cluster.primary.dsn, autocommit=True) as conn,
    ):
        ddl = schema(args.tables)
        for i in range(0, len(ddl), BATCH):
            conn.execute("; ".join(ddl[i : i + BATCH]))
        figures = measure(cluster.primary.dsn)
    print(f"catalog load, {args.tables} tables and {args.tables} views:")
    for what, value in figures.items():
        print(
            f"  {what:36} {value:10.1f}" if isinstance(value, float) else f"  {what:36} {value:10}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
