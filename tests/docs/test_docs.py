"""The documentation checked against the code, with no database.

The package's public names must be its ``__all__`` and its submodules; the
routing tables of docs/routing.md must be what `classify()` and the cluster's
routing decision answer; every option of the constructors must be in
docs/configuration.md with its real default; every Python block of the docs
and the README must pass mypy --strict.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mypy.api
import pytest
from psycopg.rows import dict_row

import pgcluster
from pgcluster import Policy, Target, classify
from pgcluster._core.routing import decide
from pgcluster.errors import ConfigurationError, SessionStatementError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


# -- reading markdown -----------------------------------------------------------


def _cells(line: str) -> list[str]:
    """The cells of one table row, stripped, code spans unwrapped."""
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return [c[1:-1] if len(c) > 1 and c[0] == c[-1] == "`" else c for c in cells]


def table_rows(text: str, header: list[str]) -> list[list[str]]:
    """The rows of every table in *text* whose header is exactly *header*."""
    rows: list[list[str]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("|") or _cells(line) != header:
            continue
        for row in lines[i + 2 :]:  # skip the | --- | line
            if not row.startswith("|"):
                break
            cells = _cells(row)
            assert len(cells) == len(header), f"malformed table row: {row}"
            rows.append(cells)
    return rows


def sections(text: str) -> dict[str, str]:
    """The text under each ``## `` heading, by heading."""
    out: dict[str, str] = {}
    title = ""
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            out[title] = ""
        elif title:
            out[title] += line + "\n"
    return out


def python_blocks(path: Path) -> Iterator[tuple[int, str]]:
    """Each fenced ```python block of *path*, with the line it starts on."""
    block: list[str] | None = None
    start = 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if block is None and line.strip() == "```python":
            block, start = [], number + 1
        elif block is not None and line.strip() == "```":
            yield start, "\n".join(block) + "\n"
            block = None
        elif block is not None:
            block.append(line)


# -- the package's names ------------------------------------------------------------


def test_the_public_names_are_all_and_the_submodules() -> None:
    # What dir(pgcluster) shows without an underscore is the API the reference
    # documents (__all__), and the public submodules once imported: nothing
    # that leaked in, as `annotations` did from a __future__ import.
    submodules = {m.name for m in pkgutil.iter_modules(pgcluster.__path__) if m.name[0] != "_"}
    for name in submodules:
        importlib.import_module(f"pgcluster.{name}")
    public = {name for name in dir(pgcluster) if not name.startswith("_")}
    assert public == {name for name in pgcluster.__all__ if not name.startswith("_")} | submodules
    assert all(hasattr(pgcluster, name) for name in pgcluster.__all__)


# -- docs/routing.md ----------------------------------------------------------------

ROUTING = (DOCS / "routing.md").read_text()
PLAIN = table_rows(ROUTING, ["Statement", "Target", "Reason"])
WITH_POLICY = table_rows(ROUTING, ["Statement", "Policy", "Target", "Reason"])
SESSION = table_rows(ROUTING, ["Session statement", "Reason"])
OVERRIDES = table_rows(ROUTING, ["Statement", "Override", "Target", "Reason"])


def test_the_routing_page_has_its_tables() -> None:
    # A table whose header changed would silently drop out of the tests below.
    assert len(PLAIN) >= 60
    assert len(WITH_POLICY) >= 5
    assert len(SESSION) >= 20
    assert len(OVERRIDES) >= 4


@pytest.mark.parametrize(("sql", "target", "reason"), PLAIN, ids=[r[0] for r in PLAIN])
def test_routing_table(sql: str, target: str, reason: str) -> None:
    route = classify(sql)
    assert (route.target.value, route.reason) == (target, reason)


@pytest.mark.parametrize(
    ("sql", "policy", "target", "reason"), WITH_POLICY, ids=[f"{r[0]} {r[1]}" for r in WITH_POLICY]
)
def test_routing_table_with_a_policy(sql: str, policy: str, target: str, reason: str) -> None:
    built = eval(policy, {"__builtins__": {}, "Policy": Policy})  # the page's own text
    route = classify(sql, built)
    assert (route.target.value, route.reason) == (target, reason)


@pytest.mark.parametrize(("sql", "reason"), SESSION, ids=[r[0] for r in SESSION])
def test_session_statements_are_refused_by_query(sql: str, reason: str) -> None:
    route = classify(sql)
    assert (route.target, route.reason, route.session) == (Target.PRIMARY, reason, True)
    for target in (None, Target.PRIMARY, Target.REPLICA):
        with pytest.raises(SessionStatementError, match=re.escape(reason)):
            decide(sql, None, target, pinned=False)


OVERRIDE_ARGS: dict[str, tuple[Target | None, bool]] = {
    'target="primary"': (Target.PRIMARY, False),
    'target="replica"': (Target.REPLICA, False),
    "use_primary()": (None, True),
}


@pytest.mark.parametrize(
    ("sql", "override", "target", "reason"), OVERRIDES, ids=[f"{r[0]} {r[1]}" for r in OVERRIDES]
)
def test_cluster_overrides(sql: str, override: str, target: str, reason: str) -> None:
    wanted, pinned = OVERRIDE_ARGS[override]
    if target == "error":
        with pytest.raises(ConfigurationError) as info:
            decide(sql, None, wanted, pinned)
        assert str(info.value) == reason
    else:
        route = decide(sql, None, wanted, pinned)
        assert (route.target.value, route.reason) == (target, reason)


# -- docs/configuration.md -----------------------------------------------------------

CONFIGURATION = sections((DOCS / "configuration.md").read_text())
OPTION_TABLES: dict[str, tuple[Callable[..., Any], ...]] = {
    "Cluster options": (pgcluster.Cluster, pgcluster.AsyncCluster),
    "Pool options": (pgcluster.Pool, pgcluster.AsyncPool),
    "Policy options": (Policy,),
}
# What the Default column may name besides literals.
DEFAULT_NAMES = {"__builtins__": {}, "dict_row": dict_row, "frozenset": frozenset}


def _named_parameters(cls: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    params = inspect.signature(cls).parameters.values()
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return {p.name: p for p in params if p.kind not in variadic}


@pytest.mark.parametrize(
    ("section", "cls"),
    [(section, cls) for section, classes in OPTION_TABLES.items() for cls in classes],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_every_option_is_documented_with_its_default(section: str, cls: Callable[..., Any]) -> None:
    rows = table_rows(CONFIGURATION[section], ["Option", "Default", "Meaning"])
    documented = {name: default for name, default, _ in rows}
    params = _named_parameters(cls)
    assert sorted(documented) == sorted(params), f"{section} vs {cls.__name__}"
    for name, param in params.items():
        assert eval(documented[name], DEFAULT_NAMES) == param.default, name


# -- Python blocks of the docs and the README ---------------------------------------

PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
BLOCKS = [(page, line, code) for page in PAGES for line, code in python_blocks(page)]


def test_the_docs_have_python_blocks() -> None:
    assert len(BLOCKS) >= 15


def test_python_blocks_type_check(tmp_path: Path) -> None:
    # Each block is a module of its own, named after its page and line, checked
    # with the project's mypy settings: the examples must use the API as it is.
    # The cache outlives the test (the first run takes seconds, the next ones less).
    for page, line, code in BLOCKS:
        name = re.sub(r"\W", "_", f"{page.stem}_{line}")
        (tmp_path / f"{name}.py").write_text(code)
    out, err, status = mypy.api.run(
        [
            *("--config-file", str(ROOT / "pyproject.toml")),
            *("--cache-dir", str(ROOT / ".mypy_cache" / "docs-examples")),
            str(tmp_path),
        ]
    )
    assert status == 0, out + err
