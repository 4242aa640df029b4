"""The layers of docs/architecture.md, checked: what each part of the package may import.

Read from the source with ast (imports inside functions count too), so a
rule broken anywhere fails here, without running anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pgcluster"

# What a layer may not import: the I/O of the standard library, and the layers above it.
FORBIDDEN: dict[str, set[str]] = {
    # Pure: the shells pass the clock, randomness and locks in.
    "_core": {
        "asyncio",
        "threading",
        "time",
        "socket",
        "select",
        "pgcluster._io",
        "pgcluster._async",
        "pgcluster._sync",
        "pgcluster.cli",
        "pgcluster.testing",
    },
    "_io": {"pgcluster._async", "pgcluster._sync", "pgcluster.cli", "pgcluster.testing"},
    "_async": {"pgcluster._sync", "pgcluster.cli", "pgcluster.testing"},
    "_sync": {"pgcluster._async", "pgcluster.cli", "pgcluster.testing"},
    # The classifier is pure too (its cache lock is the one exception: threading),
    # and knows nothing of the router around it.
    "classifier": {
        "asyncio",
        "time",
        "socket",
        "pgcluster._core",
        "pgcluster._io",
        "pgcluster._async",
        "pgcluster._sync",
        "pgcluster.cli",
        "pgcluster.testing",
    },
}


def imports(path: Path) -> set[str]:
    """The absolute names of every module *path* imports."""
    package = ["pgcluster", *path.relative_to(PACKAGE).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def layer_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    broken = []
    for path in layer_files(layer):
        for name in sorted(imports(path)):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                broken.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert broken == []


def test_every_layer_has_files() -> None:
    assert all(layer_files(layer) for layer in FORBIDDEN)


def test_no_flat_private_module_is_left_beside_the_layers() -> None:
    flat = [p.name for p in PACKAGE.glob("_*.py") if not p.name.startswith("__")]
    assert flat == []
