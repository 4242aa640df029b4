"""Everything that touches sqlglot: tokenizing, parsing, and keeping it quiet.

sqlglot is used for two things only: its tokenizer (strings, dollar quotes,
quoted identifiers and comments are single tokens, so words inside them never
count) and its parser for the statements that may be reads. Its regenerated
SQL is never used.

The parser is sqlglot's postgres parser minus the special function parsers
for names that are not PostgreSQL functions (``MATCH``, ``ARGMAX``,
``TRY_CAST``, ...): those parse as ordinary calls, so a user function with
such a name is still seen as a call of an unknown function.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import TokenError
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokenizer_core import Token, TokenType

__all__ = ["Token", "TokenType", "parse", "quiet", "tokenize"]

_DIALECT = Postgres()

# Kept: PostgreSQL syntax or PostgreSQL functions that are never volatile.
_PG_FUNCTION_PARSERS = {
    "CAST", "CEIL", "CHR", "CONVERT", "DATE_PART", "DECODE", "EXTRACT", "FLOOR",
    "INITCAP", "JSONB_EXISTS", "JSON_AGG", "JSON_OBJECT", "JSON_OBJECTAGG", "NORMALIZE",
    "OVERLAY", "POSITION", "STRING_AGG", "SUBSTRING", "TRIM", "XMLELEMENT", "XMLTABLE",
}  # fmt: skip


class _Tokenizer(Postgres.Tokenizer):
    # sqlglot swallows the rest of a statement that starts with EXPLAIN, SHOW,
    # FETCH, EXECUTE, LOCK, DO, CALL... into one string token: we want its words.
    COMMANDS: ClassVar[set[TokenType]] = set()


class _Parser(PostgresParser):
    FUNCTION_PARSERS: ClassVar[dict[str, Any]] = {
        k: v for k, v in PostgresParser.FUNCTION_PARSERS.items() if k in _PG_FUNCTION_PARSERS
    }


_in_classify: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "pgcluster_classify", default=False
)


class _QuietFilter(logging.Filter):
    """Drop sqlglot's "unsupported syntax" warnings raised while we classify.

    Only records logged while classify() runs (in this thread or task) are
    dropped: the user's own sqlglot calls keep their warnings.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not _in_classify.get()


_FILTER = _QuietFilter()
logging.getLogger("sqlglot").addFilter(_FILTER)


class quiet:
    """Context manager: silence sqlglot's logger for the current context."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _in_classify.set(True)

    def __exit__(self, *exc: object) -> None:
        _in_classify.reset(self._token)


# A positional parameter: "$" and digits, not inside a word ("a$1" is one name).
_PARAM = re.compile(r"(?<![\w$@])\$(?=\d)")


def _sqlglot_tokens(sql: str) -> list[Token]:
    try:
        tokens: list[Token] = _Tokenizer(dialect=_DIALECT).tokenize(sql)
        return tokens
    except TokenError:
        if not _PARAM.search(sql):
            raise
    # sqlglot takes "$1,$" in "$1,$2" (or "$1+$", "$1::int,$") for the start of a
    # dollar-quoted string with the tag "1," and finds no end: PostgreSQL's tags
    # cannot start with a digit, so that "$" only ever starts a parameter. "@" is
    # sqlglot's other PARAMETER token and no PostgreSQL tag: the same tokens, at the
    # same offsets, come out (a "$" inside a string or a comment changes nothing
    # the classifier reads; a quoted identifier gets its text back below).
    fixed = _PARAM.sub("@", sql)
    tokens = _Tokenizer(dialect=_DIALECT).tokenize(fixed)
    for tok in tokens:
        if tok.token_type is TokenType.PARAMETER and tok.text == "@" and sql[tok.start] == "$":
            tok.text = "$"
        elif tok.token_type is TokenType.IDENTIFIER and "@" in tok.text:
            tok.text = sql[tok.start + 1 : tok.end].replace('""', '"')
    return tokens


def tokenize(sql: str) -> list[Token]:
    """sqlglot's postgres tokens, with psycopg's ``%b``/``%t``/``%%`` made parseable."""
    tokens = _sqlglot_tokens(sql)
    if any(t.token_type is TokenType.MOD for t in tokens):
        out: list[Token] = []
        i = 0
        n = len(tokens)
        while i < n:
            tok = tokens[i]
            nxt = tokens[i + 1] if i + 1 < n else None
            if tok.token_type is TokenType.MOD and nxt is not None and nxt.start == tok.end + 1:
                if nxt.token_type is TokenType.VAR and nxt.text in ("b", "t"):
                    nxt.text = "s"  # psycopg's binary / text placeholders
                elif nxt.token_type is TokenType.MOD:
                    out.append(tok)  # "%%": one literal percent sign (modulo)
                    i += 2
                    continue
            out.append(tok)
            i += 1
        tokens = out
    return tokens


def parse(tokens: Sequence[Token], sql: str) -> exp.Expr | None:
    """Parse one statement's tokens; raises sqlglot's errors."""
    parser = _Parser(dialect=_DIALECT)
    trees = parser.parse(list(tokens), sql)
    if len(trees) != 1:
        return None
    tree: exp.Expr | None = trees[0]
    return tree
