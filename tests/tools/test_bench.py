"""The bench suite: its pure summaries, its pgpool-II setup, and a smoke run so it cannot rot.

The figures themselves are not asserted: timing belongs to the bench, not the tests.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from bench import classify as bench_classify
from bench import run, stats
from bench.pgpool import Pgpool, config, find_pgpool
from pgcluster.testing import LocalCluster


def test_percentile_interpolates_between_neighbours() -> None:
    assert stats.percentile([4, 1, 3, 2], 0) == 1
    assert stats.percentile([4, 1, 3, 2], 50) == 2.5
    assert stats.percentile([4, 1, 3, 2], 100) == 4
    assert stats.percentile(range(101), 99) == 99


@pytest.mark.parametrize(("samples", "q"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_bad_input(samples: list[float], q: float) -> None:
    with pytest.raises(ValueError, match=r"samples|percentile"):
        stats.percentile(samples, q)


def test_ratio_summary_compares_medians_block_by_block() -> None:
    slow = [11.0, 12.0, 10.0, 13.0] * 5
    fast = [10.0] * 20
    summary = stats.ratio_summary(slow, fast, blocks=5)
    assert summary["ratio"] == pytest.approx(1.15)
    assert summary["block_min"] == summary["block_max"] == pytest.approx(1.15)


def test_block_ratios_need_paired_samples() -> None:
    with pytest.raises(ValueError, match="same iterations"):
        stats.block_ratios([1.0, 2.0], [1.0], blocks=1)
    with pytest.raises(ValueError, match="cannot make 3 blocks"):
        stats.block_ratios([1.0, 2.0], [1.0, 2.0], blocks=3)


def test_pgpool_config_balances_reads_over_the_replicas_only() -> None:
    nodes: Any = [
        SimpleNamespace(host="127.0.0.1", port=p, name=n) for p, n in [(1, "p"), (2, "r")]
    ]
    text = config(nodes, port=9, pcp_port=10, run_dir=Path("/x"), children=4)
    lines = dict(line.split(" = ", 1) for line in text.splitlines())
    assert lines["backend_clustering_mode"] == "'streaming_replication'"
    assert lines["load_balance_mode"] == "on"
    assert (lines["backend_weight0"], lines["backend_weight1"]) == ("0", "1")
    assert lines["pid_file_name"] == "'/x/pgpool.pid'"


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--only", "nothing"], "--only takes"), (["--iterations", "0"], "must be positive")],
)
def test_bad_options_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run.parse_args(argv)
    assert message in capsys.readouterr().err


@pytest.mark.skipif(
    find_pgpool() is None, reason="pgpool-II is not installed (apt-get install pgpool2)"
)
def test_pgpool_sends_reads_to_replicas_and_writes_to_the_primary(
    local_cluster: LocalCluster,
) -> None:
    local_cluster.primary.execute("CREATE TABLE IF NOT EXISTS bench_probe (n int)")
    with Pgpool([local_cluster.primary, *local_cluster.replicas]) as pgpool:
        seen: Counter[str] = Counter()
        for _ in range(12):  # pgpool balances per session: new sessions
            with psycopg.connect(pgpool.dsn, autocommit=True) as conn:
                row = conn.execute("SELECT current_setting('cluster_name')").fetchone()
                assert row is not None
                seen[row[0]] += 1
                conn.execute("INSERT INTO bench_probe VALUES (1)")  # a replica would refuse it
        roles = {n["node_id"]: (n["role"], int(n["select_cnt"])) for n in pgpool.pool_nodes()}
    assert set(seen) <= {"replica1", "replica2"}
    assert sum(seen.values()) == 12
    assert roles["0"] == ("primary", 0)


def test_quick_run_writes_the_report(tmp_path: Path) -> None:
    argv = ["--quick", "--only", "overhead", "--no-pgpool", "--iterations", "50"]
    assert run.main([*argv, "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    ratios = results["overhead"]["ratios"]
    assert {"cluster / psycopg_pool", "pool / psycopg_pool", "acluster / cluster"} <= set(ratios)
    assert results["headline"]["overhead: Cluster.query / psycopg_pool"] > 0
    page = (tmp_path / "benchmarks.md").read_text()
    assert "| pgcluster.Cluster.query |" in page
    assert "python -m bench --quick" in page


def test_classification_figures_have_their_pure_and_inlined_parts() -> None:
    pure = bench_classify.pure_round()
    assert pure["compiled"] is False  # tools/sqlglot_pure.py loaded the .py files
    assert pure["uncached_us"] > 0
    assert pure["parse_us"] > 0
    inlined = bench_classify.inlined(500)
    assert inlined["exact_hit_rate"] < inlined["hit_rate"]
    assert inlined["cache_entries"] <= len(bench_classify._SHAPES) + 5
