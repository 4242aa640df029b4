"""Checking what callers pass as a statement, before any connection is taken."""

from __future__ import annotations

from typing import TypeAlias

from psycopg import sql

from ..errors import InvalidQueryError

Query: TypeAlias = "str | sql.Composable"
"""What `query()`, `stream()` and `classify()` accept as a statement."""


def check_query(query: object) -> None:
    """Raise `InvalidQueryError` unless *query* is a non-empty `str` or a `Composable`.

    Only the type and emptiness are checked here; whether the SQL is valid is
    the server's business.
    """
    if isinstance(query, str):
        if not query.strip():
            raise InvalidQueryError("empty query: pass the SQL statement to run")
        return
    if isinstance(query, sql.Composable):
        return
    if isinstance(query, (bytes, bytearray, memoryview)):
        raise InvalidQueryError(
            "the query must be a str or a psycopg.sql.Composable, not bytes: decode it first"
        )
    raise InvalidQueryError(
        f"the query must be a str or a psycopg.sql.Composable, not {type(query).__name__}"
    )
