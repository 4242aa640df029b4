"""``pgcluster demo`` runs end to end and tells where the statements went."""

from __future__ import annotations

import argparse
import io
import logging
from collections.abc import Iterator

import pytest

from pgcluster.cli import demo, main


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    logger = logging.getLogger("pgcluster")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers, logger.level, logger.propagate = handlers, level, propagate


def test_demo_routes_a_workload_and_survives_a_failover() -> None:
    out = io.StringIO()
    args = argparse.Namespace(statements=70)
    assert demo.run(args, out) == 0
    text = out.getvalue()
    assert "Where the statements went" in text
    assert "calls nextval(), which advances a sequence" in text
    assert "promoted (replica -> primary)" in text
    assert "the first write landed on replica1" in text
    assert "reads now go to: replica2" in text
    assert "the servers are stopped and removed" in text


def test_demo_is_in_the_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
