"""The bench's results as a Markdown page, a PNG chart and JSON.

`headline()` picks the ratios the project's targets speak of; `markdown()`
lays every figure out in tables; `write()` puts the three files in a folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

OVERHEAD_TARGET = 1.05
CHART = "benchmarks.png"


def headline(results: dict[str, Any]) -> dict[str, float]:
    """The ratios the targets are about, by name (only those this run measured)."""
    out: dict[str, float] = {}
    ratios = results.get("overhead", {}).get("ratios", {})
    names = {
        "cluster / psycopg_pool": "overhead: Cluster.query / psycopg_pool",
        "pool / psycopg_pool": "overhead: Pool.query / psycopg_pool",
        "cluster_forced / psycopg_pool": "overhead: Cluster.query(target='replica') / psycopg_pool",
        "cluster_forced / cluster": "overhead: forced route / classified route",
        "cluster / pgpool": "point select latency: Cluster.query / pgpool-II",
        "pgpool / psycopg_pool": "point select latency: pgpool-II / direct psycopg_pool",
        "acluster / apsycopg_pool": "overhead: AsyncCluster.query / AsyncConnectionPool",
        "acluster / cluster": "point select latency: AsyncCluster / Cluster",
    }
    for key, name in names.items():
        if key in ratios:
            out[name] = ratios[key]["ratio"]
    if "classification" in results:
        c = results["classification"]
        out["classification: uncached / sqlglot.parse_one"] = c["uncached_over_parse"]
        if "uncached_over_pure_parse" in c:
            out["classification: uncached / pure-Python parse_one"] = c["uncached_over_pure_parse"]
    figures = results.get("throughput", {})
    for n in (1, 2):
        cluster, acluster, pgpool = (
            figures.get(f"{k}_{n}r") for k in ("cluster", "acluster", "pgpool")
        )
        if cluster and pgpool:
            out[f"throughput, {n} replica(s): Cluster / pgpool-II"] = (
                cluster["per_second"] / pgpool["per_second"]
            )
            out[f"p50, {n} replica(s): Cluster / pgpool-II"] = cluster["p50_us"] / pgpool["p50_us"]
            out[f"p99, {n} replica(s): Cluster / pgpool-II"] = cluster["p99_us"] / pgpool["p99_us"]
        if cluster and acluster:
            out[f"throughput, {n} replica(s): AsyncCluster / Cluster"] = (
                acluster["per_second"] / cluster["per_second"]
            )
    return out


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _overhead(section: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    rows = section["contenders"]
    base = rows["psycopg_pool"]["median_us"]
    lines = [
        "## 1. Overhead: a point SELECT, one at a time",
        "",
        "The same `SELECT ... WHERE id = %s` through each contender in turn, in a new"
        " random order every iteration, against the same replica (`Cluster` has the"
        " primary and that replica: only the routing differs). Pools of 2 connections,"
        f" dict rows, autocommit; {settings['iterations']:,} iterations in"
        f" {settings['sessions']} session(s), every pool new in each (a pool's server"
        " processes bias it by a few per cent while they live: new ones average that out).",
        "",
    ]
    lines += _table(
        ["contender", "median µs", "/ psycopg_pool"],
        (
            [r["label"], f"{r['median_us']:.1f}", f"{r['median_us'] / base:.3f}"]
            for r in rows.values()
        ),
    )
    lines += _table(
        ["ratio of medians", "value", "per-block q1 to q3", "per-block min to max"],
        (
            [
                f"`{name}`",
                f"**{r['ratio']:.3f}**",
                f"{r['block_q1']:.3f} to {r['block_q3']:.3f}",
                f"{r['block_min']:.3f} to {r['block_max']:.3f}",
            ]
            for name, r in section["ratios"].items()
        ),
    )
    ratio = section["ratios"].get("cluster / psycopg_pool", {}).get("ratio")
    if ratio is not None:
        verdict = "met" if ratio <= OVERHEAD_TARGET else "MISSED"
        lines += [f"Target `cluster / psycopg_pool` <= {OVERHEAD_TARGET}: **{verdict}**.", ""]
    return lines


def _classification(c: dict[str, Any]) -> list[str]:
    huge = c["huge"]
    lines = ["## 2. Classification (no database)", ""]
    n = c["corpus_statements"]
    rows = [["cached hit", f"{c['cached_us']:.2f}"]]
    if "pure_parse_us" in c:
        compiled = "with sqlglotc" if c["sqlglotc"] else "pure Python: sqlglotc is not installed"
        rows += [
            [
                f"`sqlglot.parse_one`, routing corpus ({n} statements), pure Python",
                f"{c['pure_parse_us']:.1f}",
            ],
            ["uncached classification, same corpus, pure Python", f"{c['pure_uncached_us']:.1f}"],
            [f"uncached classification, same corpus, {compiled}", f"{c['uncached_us']:.1f}"],
            [f"`sqlglot.parse_one`, same corpus, {compiled}", f"{c['parse_us']:.1f}"],
            ["uncached / pure-Python parse_one", f"{c['uncached_over_pure_parse']:.2f}"],
        ]
    else:  # a report of an earlier run
        rows += [
            [f"uncached, routing corpus ({n} statements)", f"{c['uncached_us']:.1f}"],
            ["`sqlglot.parse_one`, same corpus", f"{c['sqlglot_parse_us']:.1f}"],
        ]
    rows.append(["uncached / parse_one (same process)", f"{c['uncached_over_parse']:.2f}"])
    if "inlined" in c:
        w = c["inlined"]
        rows += [
            [
                f"inlined literals: {w['statements']:,} plain SELECTs of {w['shapes']} shapes,"
                f" hit rate {w['hit_rate']:.1%} (exact-text keys: {w['exact_hit_rate']:.1%})",
                f"{w['us_per_statement']:.2f}",
            ],
            ["the same again, warm cache", f"{w['warm_us_per_statement']:.2f}"],
        ]
    for key, what in (("insert", "INSERT ... VALUES"), ("in_list_select", "SELECT ... IN (...)")):
        h = huge[key]
        rows.append([f"{h['megabytes']:.1f} MB {what} (→ {h['target']})", f"{h['us']:,.0f}"])
    return lines + _table(["statement", "µs per statement"], rows)


def _throughput(figures: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    lines = [
        "## 3. Throughput: 90 % point reads, 10 % updates",
        "",
        f"{settings['workers']} workers per contender (threads for sync, asyncio tasks for"
        f" async), {settings['rounds']} rounds of {settings['duration']:g} s each, contenders"
        " interleaved; pools of one connection per worker.",
        "",
    ]
    lines += _table(
        ["contender", "statements/s", "p50 µs", "p99 µs", "where the statements went"],
        (
            [
                f["label"],
                f"{f['per_second']:,.0f}",
                f"{f['p50_us']:.0f}",
                f"{f['p99_us']:.0f}",
                _spread(f),
            ]
            for f in figures.values()
        ),
    )
    return lines


def _spread(figure: dict[str, Any]) -> str:
    counts = figure.get("routed") or figure.get("select_cnt") or {}
    what = "routed" if "routed" in figure else "pgpool select_cnt"
    return f"{what}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else ""


def _ratios(head: dict[str, float], title: str, only: str = "") -> list[str]:
    rows = [[name, f"{value:.3f}"] for name, value in head.items() if only in name]
    return [title, "", *_table(["ratio", "value"], rows)] if rows else []


def _pgpool(results: dict[str, Any]) -> list[str]:
    lines = _ratios(results["headline"], "## 4. Against pgpool-II", "pgpool")
    if not lines:
        return []
    lines += [
        "pgpool-II runs over the same servers: `backend_clustering_mode ="
        " 'streaming_replication'`, `load_balance_mode = on` (per session, its default),"
        " the primary's `backend_weight` 0 so that reads go to the replicas as with"
        " pgcluster, `max_pool = 1`; its clients are psycopg_pool pools of the same"
        " size. Latency ratios below 1 and throughput ratios above 1 favour pgcluster.",
        "",
    ]
    balanced = [
        f"{figure['label']}: {_spread(figure)}"
        for key, figure in results.get("throughput", {}).items()
        if key.startswith("pgpool")
    ]
    if balanced:
        lines += [
            "Load balancing as pgpool-II reports it (`SHOW pool_nodes`, since it started):",
            "",
        ]
        lines += [f"- {line}" for line in balanced] + [""]
    return lines


def _machine(m: dict[str, Any]) -> list[str]:
    keys = ["date", "cpu", "cores", "os", "python", "postgresql", "pgpool"]
    keys += ["psycopg", "psycopg-pool", "sqlglot", "pgcluster"]
    return [", ".join(f"{k}: {m[k]}" for k in keys if k in m), ""]


def markdown(results: dict[str, Any], chart: str | None = CHART) -> str:
    """The whole report as Markdown (*chart*: the PNG to embed, if any)."""
    lines = [
        "# Benchmarks",
        "",
        "Produced by one command, every compared figure measured side by side in the"
        " same run (the machine is shared and noisy: only the ratios mean something):",
        "",
        "```sh",
        "make bench   # = .venv/bin/python -m bench (installs the [bench] extra first)",
        "```",
        "",
        f"This run: `{results['command']}`.",
        "",
    ]
    if "machine" in results:
        lines += _machine(results["machine"])
    if chart is not None:
        lines += [f"![benchmark chart]({chart})", ""]
    head = results.get("headline", {})
    lines += _ratios(head, "## Every ratio")
    if "overhead" in results:
        lines += _overhead(results["overhead"], results["settings"])
    if "classification" in results:
        lines += _classification(results["classification"])
    if "throughput" in results:
        lines += _throughput(results["throughput"], results["settings"])
    lines += _pgpool(results)
    lines += _ratios(head, "## 5. Async against sync", "Async")
    return "\n".join(lines).rstrip() + "\n"


# One colour per family of contenders, in every panel.
COLOURS = {
    "psycopg_pool": "#8c8c8c",
    "pgcluster": "#4c72b0",
    "async": "#8172b3",
    "pgpool": "#dd8452",
}


def _family(key: str) -> str:
    if key.startswith("pgpool"):
        return "pgpool"
    if "psycopg_pool" in key:
        return "psycopg_pool"
    return "async" if key.startswith("a") else "pgcluster"


def draw(results: dict[str, Any], path: Path) -> bool:
    """The chart, as a PNG; False when matplotlib is missing (``pip install '.[bench]'``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    count = ("overhead" in results) + 2 * ("throughput" in results)
    if not count:
        return False
    fig, grid = plt.subplots(1, count, figsize=(5.5 * count, 5), squeeze=False)
    axes = list(grid[0])
    if "overhead" in results:
        ax = axes.pop(0)
        rows = results["overhead"]["contenders"]
        values = [r["median_us"] for r in rows.values()]
        colours = [COLOURS[_family(key)] for key in rows]
        ax.barh([r["label"] for r in rows.values()], values, color=colours)
        for y, value in enumerate(values):
            ratio = value / values[0]
            ax.text(value, y, f" {value:.0f} µs (x{ratio:.3f})", va="center", fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, max(values) * 1.45)
        ax.set_xlabel("median µs per point SELECT (lower is better)")
        ax.set_title("1. Point SELECT, one at a time")
    if "throughput" in results:
        figures = results["throughput"]
        keys = list(figures)
        labels = [figures[k]["label"].replace(", ", "\n") for k in keys]
        colours = [COLOURS[_family(key)] for key in keys]
        ax = axes.pop(0)
        values = [figures[k]["per_second"] for k in keys]
        ax.bar(range(len(keys)), values, color=colours)
        for x, value in enumerate(values):
            ax.text(x, value, f"{value:,.0f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(keys)), labels, fontsize=7)
        ax.set_ylabel("statements per second (higher is better)")
        ax.set_title("3. 90/10 read/write mix: throughput")
        ax = axes.pop(0)
        for offset, key, alpha in ((-0.2, "p50_us", 1.0), (0.2, "p99_us", 0.45)):
            values = [figures[k][key] for k in keys]
            xs = [i + offset for i in range(len(keys))]
            ax.bar(xs, values, width=0.4, color=colours, alpha=alpha)
            for at, value in zip(xs, values, strict=True):
                ax.text(at, value, f"{value:,.0f}", ha="center", va="bottom", fontsize=6)
        ax.set_yscale("log")
        ax.set_xticks(range(len(keys)), labels, fontsize=7)
        ax.set_ylabel("latency µs, log scale (lower is better)")
        ax.set_title("3. Latency: p50 (solid), p99 (pale)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(results: dict[str, Any], folder: Path) -> list[Path]:
    """benchmarks.json, benchmarks.png (if matplotlib is there) and benchmarks.md in *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    data = folder / "benchmarks.json"
    data.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    written.append(data)
    chart = folder / CHART
    drawn = draw(results, chart)
    if drawn:
        written.append(chart)
    page = folder / "benchmarks.md"
    page.write_text(markdown(results, chart=CHART if drawn else None))
    written.append(page)
    return written
