"""The fast path: the plain SELECTs that ORMs send, recognised from their tokens.

    SELECT [DISTINCT] cols FROM [schema.]table [[AS] alias]
        [WHERE cond [AND|OR cond]...] [ORDER BY col [ASC|DESC], ...]
        [LIMIT value] [OFFSET value]

where a col is ``*``, ``name``, ``t.name`` or ``t.*`` (with ``[AS] alias`` in
the select list), a cond is ``col op value``, ``col IS [NOT] NULL``,
``col [NOT] IN (value, ...)`` or ``col op ANY (value)``, an op is one of
``= <> != < > <= >= LIKE ILIKE``, and a value is a column, a number, a
string, TRUE, FALSE, NULL or a psycopg placeholder (``%s``, ``%(name)s``).

For these the full path (`_analyze._query`: sqlglot's parse, then the walk of
its tree) finds no function, no lock, no INTO, no DML and, unless the table
is one it treats specially, no relation of note: its verdict is always "a
read-only query", a QUERY. The fast path gives that verdict without the
parse, and declines (None) on anything else: any other token, a keyword used
as a name (but ``name``), a word sqlglot parses as a function without
parentheses, a comment past the first token, a temporary (``pg_temp``) or
node relation (`NODE_RELATIONS`) or any ``pg_`` relation, a relation of the
policy's ``relation_catalog``, and a policy with settings it does not know of.
tests/classifier/test_fast.py checks, over
every corpus statement, that it declines or says exactly what the full path
says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlglot.parsers.postgres import PostgresParser

from ._knowledge import NODE_RELATIONS, relation_verdict
from ._route import Policy, Statement
from ._sqlglot import Token, TokenType
from ._verdict import Verdict, read

__all__ = ["verdict"]

_READ = read("a read-only query")._replace(statement=Statement.QUERY)

_T = TokenType
_NAMES = frozenset({_T.VAR, _T.IDENTIFIER, _T.NAME})
_OPS = frozenset({_T.EQ, _T.NEQ, _T.LT, _T.GT, _T.LTE, _T.GTE, _T.LIKE, _T.ILIKE})
_CONSTANTS = frozenset({_T.NUMBER, _T.STRING, _T.TRUE, _T.FALSE, _T.NULL})
# Words sqlglot may parse as something other than a column even without "(".
_SPECIAL_WORDS = frozenset(PostgresParser.NO_PAREN_FUNCTION_PARSERS)
# The Policy settings the full path consults for a statement of this shape: none
# of them changes its verdict. A setting added later (a relation catalog, say)
# may: while it is not at its default the fast path declines.
_KNOWN_SETTINGS = frozenset(
    {
        "write_functions",
        "read_functions",
        "unknown_functions",
        "cache_size",
        "function_catalog",
        "max_parse_size",
        "relation_catalog",  # asked as _analyze._table asks it
        "_cache",
        "_lock",
    }
)
_NEW_SETTINGS = tuple(f for f in dataclasses.fields(Policy) if f.name not in _KNOWN_SETTINGS)


class _Decline(Exception):
    pass


class _Reader:
    __slots__ = ("i", "n", "tokens")

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.n = len(tokens)

    def peek(self) -> TokenType | None:
        return self.tokens[self.i].token_type if self.i < self.n else None

    def take(self, *types: TokenType) -> Token:
        if self.i >= self.n or self.tokens[self.i].token_type not in types:
            raise _Decline
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept(self, tt: TokenType) -> bool:
        if self.i < self.n and self.tokens[self.i].token_type is tt:
            self.i += 1
            return True
        return False

    def name(self) -> Token:
        tok = self.take(*_NAMES)
        if tok.token_type is not _T.IDENTIFIER and str(tok.text).upper() in _SPECIAL_WORDS:
            raise _Decline
        return tok

    def column(self, star: bool = False) -> None:
        if star and self.accept(_T.STAR):
            return
        self.name()
        if self.accept(_T.DOT):
            if star and self.accept(_T.STAR):
                return
            self.name()

    def placeholder(self) -> bool:
        """``%s`` or ``%(name)s``, its tokens next to each other."""
        tokens, i = self.tokens, self.i
        if i >= self.n or tokens[i].token_type is not _T.MOD:
            return False
        end = tokens[i].end
        if i + 1 < self.n and tokens[i + 1].token_type is _T.VAR and tokens[i + 1].text == "s":
            if tokens[i + 1].start == end + 1:
                self.i = i + 2
                return True
            raise _Decline
        if i + 4 < self.n and [t.token_type for t in tokens[i + 1 : i + 5]] == [
            _T.L_PAREN,
            _T.VAR,
            _T.R_PAREN,
            _T.VAR,
        ]:
            tail = tokens[i + 4]
            if tail.text == "s" and all(
                tokens[j + 1].start == tokens[j].end + 1 for j in range(i, i + 4)
            ):
                self.i = i + 5
                return True
        raise _Decline

    def value(self) -> None:
        if self.placeholder():
            return
        tt = self.peek()
        if tt in _CONSTANTS:
            self.i += 1
            return
        self.column()

    def condition(self) -> None:
        self.column()
        tt = self.peek()
        if tt is _T.IS:
            self.i += 1
            self.accept(_T.NOT)
            self.take(_T.NULL)
            return
        if tt is _T.NOT or tt is _T.IN:
            self.accept(_T.NOT)
            self.take(_T.IN)
            self.take(_T.L_PAREN)
            self.value()
            while self.accept(_T.COMMA):
                self.value()
            self.take(_T.R_PAREN)
            return
        if tt not in _OPS:
            raise _Decline
        self.i += 1
        if self.accept(_T.ANY):
            self.take(_T.L_PAREN)
            self.value()
            self.take(_T.R_PAREN)
            return
        self.value()


def _relation(tokens: Sequence[Token], policy: Policy) -> bool:
    """Whether the relation named by *tokens* (``[schema .] name``) is an ordinary one."""
    words = []
    for tok in tokens:
        if tok.token_type is _T.DOT:
            continue
        word = str(tok.text)
        if tok.token_type is not _T.IDENTIFIER:
            word = word.lower()
        if word.startswith("pg_") or word in NODE_RELATIONS:
            return False
        words.append(word)
    # The policy's relation catalog, as _analyze._table asks it.
    schema = words[0] if len(words) == 2 else None
    return relation_verdict(words[-1], schema, policy) is None


def verdict(tokens: Sequence[Token], policy: Policy) -> Verdict | None:
    """The full path's verdict for one statement's tokens, if it is a plain SELECT; else None."""
    if not tokens or tokens[0].token_type is not _T.SELECT:
        return None
    for field in _NEW_SETTINGS:
        default = field.default_factory() if callable(field.default_factory) else field.default
        if getattr(policy, field.name) != default:
            return None
    if any(tok.comments for tok in tokens[1:]):
        return None
    r = _Reader(tokens)
    r.i = 1
    try:
        r.accept(_T.DISTINCT)
        while True:
            r.column(star=True)
            if r.accept(_T.ALIAS) or r.peek() in _NAMES:
                r.name()
            if not r.accept(_T.COMMA):
                break
        r.take(_T.FROM)
        start = r.i
        r.name()
        if r.accept(_T.DOT):
            r.name()
        if not _relation(tokens[start : r.i], policy):
            return None
        if r.accept(_T.ALIAS) or r.peek() in _NAMES:
            r.name()
        if r.accept(_T.WHERE):
            r.condition()
            while r.accept(_T.AND) or r.accept(_T.OR):
                r.condition()
        if r.accept(_T.ORDER_BY):
            while True:
                r.column()
                if not r.accept(_T.ASC):
                    r.accept(_T.DESC)
                if not r.accept(_T.COMMA):
                    break
        if r.accept(_T.LIMIT) and not r.placeholder():
            r.take(_T.NUMBER)
        if r.accept(_T.OFFSET) and not r.placeholder():
            r.take(_T.NUMBER)
    except _Decline:
        return None
    if r.i != r.n:
        return None
    return _READ
