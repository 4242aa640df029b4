"""The commands run in-process, and set up logging as a command does (levels,
handlers, propagation): every test here gets the loggers back as they were, so
that no later test's caplog comes up empty."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

LOGGERS = ("pgcluster", "psycopg.pool")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers), logger.level, logger.propagate))
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)  # not .level =: setLevel clears the loggers' cached levels
