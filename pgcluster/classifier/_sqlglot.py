"""Everything that touches sqlglot: tokenizing, parsing, and keeping it quiet.

sqlglot is used for two things only: its tokenizer (strings, dollar quotes,
quoted identifiers and comments are single tokens, so words inside them never
count) and its parser for the statements that may be reads. Its regenerated
SQL is never used.

The parser is sqlglot's postgres parser, but a call of a name that sqlglot
parses specially and PostgreSQL does not have (``MATCH``, ``ARGMAX``,
``TRY_CAST``, ...) parses as an ordinary call, so a user function with such a
name is still seen as a call of an unknown function. With sqlglotc (sqlglot's
mypyc-compiled modules, the ``sqlglot[c]`` extra) the parser classes are
compiled and cannot be subclassed, so this is done on the tokens, the same way
with or without it: such a name's token gets a mark that no special parser
knows, and the mark is taken off the parsed tree again.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
from collections.abc import Sequence
from typing import ClassVar

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


# The names whose special parser is not PostgreSQL's, upper case.
_FOREIGN = frozenset(PostgresParser.FUNCTION_PARSERS) - _PG_FUNCTION_PARSERS
# Finds them in a statement's lower-cased text (twice as quick as re.IGNORECASE),
# before any token is looked at (the common case: none). Lower-casing turns no
# character into or out of a word character but for a few non-ASCII letters,
# where it can only find more: a prefilter, the tokens decide.
_FOREIGN_WORD = re.compile(
    r"(?<![\w$])(?:"
    + "|".join(sorted((n.lower() for n in _FOREIGN), key=len, reverse=True))
    + r")(?![\w$])"
)
# A PostgreSQL statement cannot hold a NUL character: no real name ends with it.
_MARK = "\x00"


class _Tokenizer(Postgres.Tokenizer):
    # sqlglot swallows the rest of a statement that starts with EXPLAIN, SHOW,
    # FETCH, EXECUTE, LOCK, DO, CALL... into one string token: we want its words.
    COMMANDS: ClassVar[set[TokenType]] = set()


class _Local(threading.local):
    """One tokenizer and one parser per thread: building them costs more than a short parse."""

    def __init__(self) -> None:
        self.tokenizer = _Tokenizer(dialect=_DIALECT)
        self.parser = PostgresParser(dialect=_DIALECT)


_local = _Local()


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
        tokens: list[Token] = _local.tokenizer.tokenize(sql)
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
    tokens = _local.tokenizer.tokenize(fixed)
    for tok in tokens:
        if tok.token_type is TokenType.PARAMETER and tok.text == "@" and sql[tok.start] == "$":
            tok.text = "$"
        elif tok.token_type is TokenType.IDENTIFIER and "@" in tok.text:
            tok.text = sql[tok.start + 1 : tok.end].replace('""', '"')
    return tokens


def tokenize(sql: str) -> list[Token]:
    """sqlglot's postgres tokens, with psycopg's ``%b``/``%t``/``%%`` made parseable."""
    tokens = _sqlglot_tokens(sql)
    # Only "%b", "%t" and "%%" need a change: their text says so, quicker than the tokens.
    if ("%b" in sql or "%t" in sql or "%%" in sql) and any(
        t.token_type is TokenType.MOD for t in tokens
    ):
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
    todo = list(tokens)
    marked = _FOREIGN_WORD.search(sql.lower()) is not None and _mark(todo)
    trees = _local.parser.parse(todo, sql)
    if len(trees) != 1:
        return None
    tree: exp.Expr | None = trees[0]
    if marked and tree is not None:
        _unmark(tree)
    return tree


def _mark(tokens: list[Token]) -> bool:
    """Mark the foreign names called in *tokens* (a copy each); whether there was one."""
    marked = False
    for i in range(len(tokens) - 1):
        tok = tokens[i]
        if (
            tokens[i + 1].token_type is TokenType.L_PAREN
            and tok.token_type is not TokenType.STRING
            and str(tok.text).upper() in _FOREIGN
        ):
            tokens[i] = Token(
                tok.token_type,
                tok.text + _MARK,
                tok.line,
                tok.col,
                tok.start,
                tok.end,
                tok.comments,
            )
            marked = True
    return marked


def _unmark(tree: exp.Expr) -> None:
    """Take the marks off every name of the parsed tree."""
    for node in tree.walk():
        for key, value in node.args.items():
            if isinstance(value, str) and value.endswith(_MARK):
                node.set(key, value[: -len(_MARK)])
