"""pgcluster's benchmarks: ``make bench`` (or ``python -m bench --help``).

Overhead against a bare psycopg_pool pool, classification speed, throughput
under concurrency, pgpool-II side by side, and asyncio against threads,
written to docs/benchmarks.{md,png,json}.
"""
