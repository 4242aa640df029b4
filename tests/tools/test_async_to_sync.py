"""tools/async_to_sync.py: the converter that keeps the sync twins generated."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "async_to_sync.py"


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("async_to_sync", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["async_to_sync"] = module
    spec.loader.exec_module(module)
    return module


def test_keywords_go_and_names_change(tool: ModuleType) -> None:
    source = (
        "async def run(pool: AsyncPool) -> AsyncIterator[int]:\n"
        "    async with pool.task() as task:  # a comment stays\n"
        "        async for row in task.stream('SELECT 1'):\n"
        "            yield await task.query(row)\n"
    )
    assert tool.convert(source) == (
        "def run(pool: Pool) -> Iterator[int]:\n"
        "    with pool.task() as task:  # a comment stays\n"
        "        for row in task.stream('SELECT 1'):\n"
        "            yield task.query(row)\n"
    )


def test_awaitable_is_unwrapped_and_dropped_from_imports(tool: ModuleType) -> None:
    source = (
        "from collections.abc import AsyncIterator, Awaitable, Callable\n"
        "Fn = Callable[[AsyncSession], Awaitable[dict[str, int]]]\n"
    )
    assert tool.convert(source) == (
        "from collections.abc import Iterator, Callable\nFn = Callable[[Session], dict[str, int]]\n"
    )


def test_markers(tool: ModuleType) -> None:
    source = "x = AsyncThing()  # sync: x = make_thing()\nimport asyncio  # async-only\ny = 1\n"
    assert tool.convert(source) == "x = make_thing()\ny = 1\n"


def test_a_sync_comment_alone_adds_a_line_to_the_twin(tool: ModuleType) -> None:
    source = "    t = asyncio.create_task(run())  # sync: t = Thread(target=run)\n    # sync: t.start()\n"
    assert tool.convert(source) == "    t = Thread(target=run)\n    t.start()\n"


def test_a_with_around_a_with_becomes_one(tool: ModuleType) -> None:
    source = (
        "def f():\n"
        "    with pytest.raises(E):\n"
        "        with pool.tx() as tx:\n"
        "            tx.query(q)\n"
        "    with a:  # a comment keeps them apart\n"
        "        with b:\n"
        "            pass\n"
    )
    assert tool.merge_withs(source) == (
        "def f():\n"
        "    with pytest.raises(E), pool.tx() as tx:\n"
        "        tx.query(q)\n"
        "    with a:  # a comment keeps them apart\n"
        "        with b:\n"
        "            pass\n"
    )


def test_docstrings_read_as_sync_prose(tool: ModuleType) -> None:
    source = '"""Use ``await pool.open()`` or ``async with AsyncPool() as p``."""\n'
    assert tool.convert(source) == '"""Use ``pool.open()`` or ``with Pool() as p``."""\n'


def test_names_inside_longer_words_are_kept(tool: ModuleType) -> None:
    assert tool.convert("MyAsyncPoolFactory = aclosing_x\n") == "MyAsyncPoolFactory = aclosing_x\n"


def test_a_generated_file_without_its_source_is_an_orphan(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    (tmp_path / "tests" / "core").mkdir(parents=True)
    twin = tmp_path / "tests" / "core" / "test_gone.py"
    twin.write_text(tool.header(tmp_path / "tests" / "core" / "test_gone_async.py") + "x = 1\n")
    (tmp_path / "tests" / "core" / "test_by_hand.py").write_text('"""No header."""\n')
    assert tool.orphans(set()) == [twin]
    assert tool.orphans({twin}) == []
    assert tool.main(["--check"]) == 1
    assert tool.main([]) == 0  # reported, not deleted
    assert twin.exists()


def test_every_generated_file_is_current(tool: ModuleType) -> None:
    assert tool.main(["--check"]) == 0, "run: python tools/async_to_sync.py"
