"""What callers pass as a statement: the one check of its type, and its text.

`classify()` and every ``query()``, ``stream()`` and session method check a
statement with `check_query()` (the shells through ``pgcluster._core.query``),
before any classification or connection.
"""

from __future__ import annotations

from typing import TypeAlias, cast

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


def query_text(query: object) -> str:
    """The SQL text of *query*, a `Composable` rendered; `check_query()` first."""
    if isinstance(query, sql.Composable):
        try:
            return query.as_string(None)
        except Exception as exc:
            raise InvalidQueryError(f"cannot render the SQL composable {query!r}: {exc}") from exc
    check_query(query)
    return cast("str", query)
