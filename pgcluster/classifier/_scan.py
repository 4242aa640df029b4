"""The linear token scan, for statements too large to parse.

A hand-written lexer over the raw text that knows exactly what PostgreSQL's
does about quoting (string constants with ``''``, ``E''`` escapes, dollar
quotes, quoted identifiers, nested ``/* */`` and ``--`` comments), so that a
word inside any of them never counts. It yields only the tokens the rules
need (words, quoted identifiers, parentheses, dots, semicolons, and one mark
for whatever else stands between two of them) and never holds more than one
token at a time: time is linear in the text and memory is constant.

The scan is conservative: a read-led statement is a read only when none of
its words writes, locks or calls a function that is not known to be safe;
any other statement follows the rules table, and what the table does not
know goes to the primary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._builtin_functions import OPERATORS, SYNTAX_KEYWORDS, TYPES
from ._knowledge import NODE_RELATIONS, function_verdict, relation_verdict
from ._route import Policy, Statement
from ._rules import LOCK_REASONS, READ_LEADS, SCAN_UNSURE, STATEMENTS, keyword_statement
from ._verdict import (
    EmptyStatement,
    Verdict,
    combine,
    combine_statements,
    hard,
    read,
    soft,
    unknown,
)

# Characters that never start a token we need: skipped in one C-level match.
# Group 1 is what follows PostgreSQL's whitespace: an operator, a comma, a
# number... (a gap: the tokens on either side are not next to each other).
_BORING = re.compile("[ \t\n\r\f\v]*([^A-Za-z_\x80-\U0010ffff'\"/\\-$();.]*)")
_GAP = ("o", "")
# A word, or the start of something that needs care.
_TOKEN = re.compile(
    r"""(?P<w>(?<![\w$])[^\W\d][\w$]*)|(?P<s>')|(?P<i>")|(?P<c>--|/\*)"""
    r"""|(?P<d>(?<![\w$])\$(?:[^\W\d][\w]*)?\$)|(?P<p>[();.])"""
)
_HARD_CHARS = ('"', "$", "--", "/*", "\\")
_WORDISH = re.compile(r"[\w$]+")
# Ordinary text and complete standard or E'' strings, for skipping a statement.
_BULK = re.compile(
    r"""(?:[^;'"$/\-Ee]+|(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'|[Ee](?!')|(?<=[\w$])[Ee]"""
    r"""|'(?:[^']|'')*'|-(?!-)|/(?!\*)|(?<=[\w$])\$|\$(?![^\W\d]\w*\$|\$))*"""
)
# In statements we only skip: quotes, comments and semicolons.
_SKIP = re.compile(
    r"""(?P<s>')|(?P<i>")|(?P<c>--|/\*)|(?P<d>(?<![\w$])\$(?:[^\W\d][\w]*)?\$)|(?P<p>;)"""
)
_STRING = re.compile(r"'(?:[^']|'')*'")
_ESTRING = re.compile(r"'(?:[^'\\]|\\.|'')*'", re.S)
_QIDENT = re.compile(r'"(?:[^"]|"")*"')
_COMMENT_EDGE = re.compile(r"/\*|\*/")

_WRITE_WORDS = {
    "INSERT": "INSERT",
    "UPDATE": "UPDATE",
    "DELETE": "DELETE",
    "MERGE": "MERGE",
    "INTO": "SELECT ... INTO",
}
# Words that may stand before "(" without being a function call.
_NOT_CALLS = frozenset(
    [
        "IN",
        "EXISTS",
        "ANY",
        "ALL",
        "SOME",
        "VALUES",
        "AS",
        "OVER",
        "FILTER",
        "USING",
        "ON",
        "JOIN",
        "FROM",
        "FOR",  # COLLATION FOR (expr), substring(x FROM 1 FOR (n))
        "LATERAL",
        "AND",
        "OR",
        "NOT",
        "SELECT",
        "WHERE",
        "ARRAY",
        "ROW",
        "CAST",
        "GROUP",
        "ROLLUP",
        "CUBE",
        "SETS",
        "BY",
        "SYSTEM",
        "BERNOULLI",
        "TABLESAMPLE",
        "REPEATABLE",
        "THEN",
        "ELSE",
        "WHEN",
        "CASE",
        "IS",
        "LIKE",
        "ILIKE",
        "SIMILAR",
        "BETWEEN",
        "DISTINCT",
        "UNION",
        "INTERSECT",
        "EXCEPT",
        "RECURSIVE",
        "MATERIALIZED",
        "WINDOW",
        "PARTITION",
        "RANGE",
        "ROWS",
        "GROUPS",
        "HAVING",
        "LIMIT",
        "OFFSET",
        "FETCH",
        "WITH",
        "ORDER",
        "GROUPING",
        "INTERVAL",
        "VARCHAR",
        "CHAR",
        "CHARACTER",
        "VARYING",
        "NUMERIC",
        "DECIMAL",
        "FLOAT",
        "BIT",
        "TIME",
        "TIMESTAMP",
        "ZONE",
        "WITHOUT",
        "ORDINALITY",
        "COALESCE",
        "NULLIF",
        "GREATEST",
        "LEAST",
        "EXTRACT",
        "SUBSTRING",
        "POSITION",
        "TRIM",
        "OVERLAY",
        "COLLATE",
        "ESCAPE",
        "DEFAULT",
        "RETURNING",
        "OF",
        "TABLE",
        "NORMALIZE",
        "XMLELEMENT",
        "XMLFOREST",
        "XMLPARSE",
        "XMLSERIALIZE",
        "XMLEXISTS",
        "XMLTABLE",
        "JSON_TABLE",
        "DOUBLE",
        "PRECISION",
        "OPERATOR",
    ]
)
# Words _scan_read looks at more closely: writes, and the ends of locking clauses.
_WRITES_AND_LOCKS = frozenset(_WRITE_WORDS) | {"SHARE"}

# Where a name stands, for _scan_read: a name followed by "(" calls a function
# unless it stands where an alias (or a CTE's name) does, which a column list
# may follow: FROM (VALUES ...) v(a, b), FROM f(x) AS g(i), FROM t x(a, b).
_ELSEWHERE = 0
_ITEM = 1  # after FROM or JOIN (and LATERAL, ONLY): the FROM item's name or function
_NAMED = 2  # after a table's name: its alias, or "." and the rest of its name
_ALIAS = 3  # after AS, WITH [RECURSIVE], WITH ORDINALITY, the ")" ending a table source
# After these, "(" opens a table source (a derived table, ROWS FROM); a
# function's "(" does too.
_SOURCE_OPENERS = frozenset({"FROM", "JOIN", "LATERAL"})
_ITEM_STARTS = frozenset({"FROM", "JOIN"})
_ITEM_PREFIXES = frozenset({"LATERAL", "ONLY"})
# Not every FROM starts a FROM item: EXTRACT(x FROM CASE f(y) ...) and IS
# DISTINCT FROM NOT f(y) are followed by an expression, where f() is a call.
_EXPRESSION_STARTS = frozenset({"CASE", "NOT"})
# Only the first CTE's name is seen as one (WITH x(a) AS ...): after a comma, a
# name and "(" may be a call (ROWS FROM (f() AS (a int), g())).
_ALIAS_AFTER = frozenset({"AS", "ORDINALITY", "WITH", "RECURSIVE"})


class ScanError(Exception):
    """Unterminated quote or comment."""


class _Lexer:
    __slots__ = ("pos", "sql")

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.pos = 0

    def _skip_quoted(self, kind: str, start: int, escape: bool = False) -> None:
        sql = self.sql
        if kind == "s":
            m = (_ESTRING if escape else _STRING).match(sql, start)
        elif kind == "i":
            m = _QIDENT.match(sql, start)
        elif kind == "c":
            if sql.startswith("--", start):
                end = sql.find("\n", start)
                self.pos = len(sql) if end < 0 else end + 1
                return
            depth = 0
            pos = start
            while True:
                edge = _COMMENT_EDGE.search(sql, pos)
                if edge is None:
                    raise ScanError("unterminated comment")
                depth += 1 if edge.group() == "/*" else -1
                pos = edge.end()
                if depth == 0:
                    self.pos = pos
                    return
        else:
            raise AssertionError(kind)
        if m is None:
            raise ScanError("unterminated quote")
        self.pos = m.end()

    def _dollar(self, tag: str, end: int) -> None:
        close = self.sql.find(tag, end)
        if close < 0:
            raise ScanError("unterminated dollar quote")
        self.pos = close + len(tag)

    def tokens(self) -> Iterator[tuple[str, str]]:
        """Yield (kind, text): "w" word, "i" quoted identifier, "s" string, "p" punctuation.

        After a name or a ")", anything else before the next token (an operator,
        a comma, a number; not whitespace or a comment) is yielded as ``_GAP``,
        ("o", ""): ``f(x) g(`` is an alias, ``f(x) + g(`` a call. Only there:
        nothing else needs it, and a long VALUES list would get twice the tokens.
        """
        sql = self.sql
        n = len(sql)
        boring = _BORING.match
        token = _TOKEN.match
        watch = False  # the last token is a name or ")"
        gap = False
        while True:
            # _BORING matches everywhere, if only the empty string.
            skipped: re.Match[str] = boring(sql, self.pos)  # type: ignore[assignment]
            start = skipped.end()
            if watch and start > skipped.start(1):
                gap = True
            if start >= n:
                self.pos = n
                return
            m = token(sql, start)
            if m is None:
                # a word glued to a number (1e5), "$1", a lone "-" or "/"
                w = _WORDISH.match(sql, start)
                self.pos = w.end() if w is not None else start + 1
                gap = gap or watch
                continue
            kind = m.lastgroup
            end = m.end()
            if kind == "c":
                self._skip_quoted(kind, start)
                continue
            if gap:
                gap = False
                yield _GAP
            if kind == "w":
                word = m.group()
                if end < n and sql[end] == "'" and word in ("E", "e"):
                    self._skip_quoted("s", end, escape=True)
                    watch = False
                    yield "s", ""
                    continue
                self.pos = end
                watch = True
                yield "w", word
            elif kind == "p":
                self.pos = end
                text = m.group()
                watch = text == ")"
                yield "p", text
            elif kind == "i":
                self._skip_quoted("i", start)
                watch = True
                yield "i", sql[start + 1 : self.pos - 1].replace('""', '"')
            else:
                if kind == "d":
                    self._dollar(m.group(), end)
                else:
                    assert kind == "s"
                    self._skip_quoted(kind, start)
                watch = False
                yield "s", ""

    def skip_statement(self) -> None:
        """Advance past the next top-level ";" (or to the end)."""
        sql = self.sql
        pos = self.pos
        semi = sql.find(";", pos)
        end = len(sql) if semi < 0 else semi
        # Fast path, all in C: with no double quote, dollar, comment or backslash
        # before the next ";", that ";" ends the statement iff the single quotes
        # before it are balanced (an escaped '' counts twice).
        if not any(sql.find(c, pos, end) >= 0 for c in _HARD_CHARS):
            if semi < 0:
                self.pos = len(sql)
                return
            if sql.count("'", pos, semi) % 2 == 0:
                self.pos = semi + 1
                return
        self._skip_slow()

    def _skip_slow(self) -> None:
        sql = self.sql
        while True:
            # Whole runs of ordinary text and complete strings in one C-level match.
            pos = _BULK.match(sql, self.pos).end()  # type: ignore[union-attr]
            m = _SKIP.match(sql, pos)
            if m is None:
                if pos >= len(sql):
                    self.pos = len(sql)
                    return
                self.pos = pos + 1  # an "E" or "$" _BULK would not take alone
                continue
            kind = m.lastgroup
            start, end = m.span()
            if kind == "p":
                self.pos = end
                return
            if kind == "d":
                self._dollar(m.group(), end)
                continue
            assert kind is not None
            escape = kind == "s" and start > 0 and sql[start - 1] in "Ee"
            escape = escape and (
                start < 2 or not (sql[start - 2].isalnum() or sql[start - 2] in "_$")
            )
            self._skip_quoted(kind, start, escape=escape)


def scan(sql: str, policy: Policy) -> Verdict:
    """Classify a whole string by the linear token scan."""
    lexer = _Lexer(sql)
    verdicts: list[Verdict] = []
    try:
        while True:
            tokens = lexer.tokens()
            first: tuple[str, str] | None = None
            parens = 0
            for tok in tokens:
                if tok == ("p", "("):
                    parens += 1
                elif tok is not _GAP:
                    first = tok
                    break
            if first is None:
                break
            if first == ("p", ";"):
                continue
            keyword = first[1].upper() if first[0] == "w" else ""
            if keyword in READ_LEADS:
                verdicts.append(_scan_read(keyword, tokens, policy))
                continue
            ended = False  # whether the statement's ";" is already read
            if parens or keyword not in STATEMENTS:
                verdict = hard(f"a large {keyword or 'unrecognised'} statement")._replace(
                    unknown=True
                )
                if keyword == "COPY" and not parens:
                    verdict, ended = _large_copy(verdict, tokens)
            else:
                verdict, ended = _large_keyword(keyword, tokens)
            verdicts.append(verdict)
            if not ended:
                lexer.skip_statement()
    except ScanError as exc:
        return hard(f"the statement could not be tokenized ({exc})")._replace(unknown=True)
    if not verdicts:
        raise EmptyStatement
    return combine_statements(verdicts)


def _large_keyword(keyword: str, tokens: Iterator[tuple[str, str]]) -> tuple[Verdict, bool]:
    """A statement of the rules table by its first words; and whether its ";" was read."""
    reason, session = STATEMENTS[keyword]
    words: list[str] = []  # up to 4, to the first punctuation; "" for a name or a string
    ended = False
    for kind, text in tokens:
        if kind == "p":
            ended = text == ";"
            break
        if kind != "o":
            words.append(text.upper() if kind == "w" else "")
            if len(words) == 4:
                break
    if keyword == "CREATE" and ("TEMP" in words or "TEMPORARY" in words):
        return hard("CREATE TEMPORARY creates session state", session=True), ended
    kind = keyword_statement(keyword, words[0] if words else "")
    return hard(reason, session)._replace(statement=kind), ended


def _large_copy(verdict: Verdict, tokens: Iterator[tuple[str, str]]) -> tuple[Verdict, bool]:
    """*verdict* as a COPY with the client if it is one; and whether its ";" was read.

    The FROM or TO that matters stands outside any parenthesis: COPY (query) TO
    STDOUT, COPY t (a, b) FROM STDIN.
    """
    depth = 0
    direction = False  # the previous token is FROM or TO, outside any parenthesis
    for kind, text in tokens:
        if kind == "p":
            if text == ";":
                return verdict, True
            depth += (text == "(") - (text == ")")
            direction = False
        elif kind != "o" and depth == 0:
            if direction:
                # PostgreSQL's grammar takes either word for the client, in either direction.
                if kind == "w" and text.upper() in ("STDIN", "STDOUT"):
                    return verdict._replace(statement=Statement.COPY), False
                return verdict, False
            direction = kind == "w" and text.upper() in ("FROM", "TO")
    return verdict, True


def _scan_read(
    keyword: str,
    tokens: Iterator[tuple[str, str]],
    policy: Policy,
    read_reason: str = "a large read-only query (token scan)",
) -> Verdict:
    """A statement led by *keyword* (of READ_LEADS), from the token after it."""
    found: list[Verdict] = []
    writes = False  # something DECLARE ... CURSOR refuses: a data-modifying CTE, INTO
    prev: tuple[str, str] = ("p", "")
    prev2 = prev3 = prev
    # For each open "(": whether it holds a table source, whose alias may follow its ")".
    sources: list[bool] = []
    place = _ALIAS if keyword in _ALIAS_AFTER else _ELSEWHERE  # where the next name stands
    alias = False  # the last name stood where an alias does
    for tok in tokens:
        kind, text = tok
        if kind == "w" or kind == "i":
            upper = text.upper() if kind == "w" else ""
            alias = place >= _NAMED
            if upper in _ITEM_STARTS:
                place = _ITEM
            elif upper in _ALIAS_AFTER:
                place = _ALIAS
            elif place == _ITEM and upper not in _EXPRESSION_STARTS:
                if upper not in _ITEM_PREFIXES:
                    place = _NAMED
            else:
                place = _ELSEWHERE
            if upper in _WRITES_AND_LOCKS:
                lock = _row_lock(upper, prev3, prev2, prev)
                if lock is not None:
                    found.append(lock)
                elif upper in _WRITE_WORDS:
                    writes = True
                    found.append(hard(f"{_WRITE_WORDS[upper]} in a large statement"))
            elif kind == "w" and text.lower() in NODE_RELATIONS:
                found.append(soft(f"reads {text.lower()}, which describes one node"))
            if policy.relation_catalog:
                # Any name of such a relation, wherever it stands (a column of that
                # name too: the scan cannot tell, and the primary can always answer).
                qualified = prev == ("p", ".") and prev2[0] in "wi"
                schema = prev2[1] if qualified else None
                v = relation_verdict(text, schema, policy)
                if v is not None:
                    found.append(v)
        elif kind == "p":
            if text == "(":
                source = True  # a bare "(": where a name follows its ")", a derived table
                if prev[0] in "wi":
                    word = prev[1].upper() if prev[0] == "w" else ""
                    source = word in _SOURCE_OPENERS
                    if not alias and word not in _NOT_CALLS and not _typmod(prev3, prev2, prev):
                        source = True  # a function in FROM is a table source too
                        schema = None
                        if prev2 == ("p", ".") and prev3[0] in "wi":
                            schema = prev3[1] if prev3[0] == "i" else prev3[1].lower()
                        name = prev[1].lower() if prev[0] == "w" else prev[1]
                        v = function_verdict(name, schema, policy)
                        if v is not None:
                            found.append(v)
                sources.append(source)
                place = _ELSEWHERE
            elif text == ")":
                place = _ALIAS if sources and sources.pop() else _ELSEWHERE
            elif text == ".":
                if prev[0] == "w" and prev[1].lower() == "pg_temp":
                    found.append(hard("reads a temporary table (pg_temp)", session=True))
                place = _ITEM if place == _NAMED else _ELSEWHERE
            else:  # ";"
                break
        else:
            place = _ELSEWHERE
        prev3, prev2, prev = prev2, prev, tok
    verdict = combine(found) if found else read(read_reason)
    return verdict if writes else verdict._replace(statement=Statement.QUERY)


# -- the strict scan: a second reader for statements sqlglot cannot read ---------------
#
# `sure()` reads a statement of normal size that sqlglot could not tokenize or parse.
# It calls it a read only when it can show it is one: a read keyword leads it, no
# word of `SCAN_UNSURE` appears, every operator is a built-in one whose function is
# not VOLATILE, every name before "(" is a replica-safe function, a type (a
# function-style cast) or syntax, no relation the classifier treats specially is
# named, and the statement is complete (balanced, not ending in an operator or a
# keyword that needs more). Otherwise the reason says what it found.

_STRICT = re.compile(
    r"""(?P<ws>\s+)|(?P<c>--|/\*)|(?P<u>[Uu]&")|(?P<e>[Ee]')|(?P<s>(?:[Uu]&|[BbXxNn])?')"""
    r"""|(?P<i>")|(?P<d>\$(?:[^\W\d]\w*)?\$)"""
    r"""|(?P<n>\$\d+|%\([^)]*\)[sbt]|%[sbt](?![\w$])|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\w*)"""
    r"""|(?P<w>[^\W\d][\w$]*)|(?P<o>(?:[~!@#^&|`?+\-*/<>=]|%%|%(?![sbt(]))+)"""
    r"""|(?P<p>::|[()\[\],;.:])"""
)
_OP_SPECIAL = frozenset("~!@#^&|`?%")
# Named arguments and the cast: syntax, not operators.
_NOT_OPERATORS = frozenset({"=>", ":="})


def _strict_tokens(sql: str) -> list[tuple[str, str]]:
    """The whole statement as tokens; "o" carries operators, commas, numbers...; "u" a
    Unicode identifier. Raises ScanError on an unterminated quote or comment or a
    character PostgreSQL does not take."""
    out: list[tuple[str, str]] = []
    lexer = _Lexer(sql)
    pos, n = 0, len(sql)
    while pos < n:
        m = _STRICT.match(sql, pos)
        if m is None:
            raise ScanError(f"unexpected {sql[pos]!r}")
        kind = m.lastgroup
        end = m.end()
        if kind == "ws":
            pass
        elif kind == "c":
            lexer._skip_quoted("c", pos)
            end = lexer.pos
        elif kind in ("s", "e"):
            quote = sql.index("'", pos)
            lexer._skip_quoted("s", quote, escape=kind == "e")
            end = lexer.pos
            out.append(("s", ""))
        elif kind in ("i", "u"):
            quote = sql.index('"', pos)
            lexer._skip_quoted("i", quote)
            end = lexer.pos
            text = sql[quote + 1 : end - 1].replace('""', '"')
            out.append((kind, text))
        elif kind == "d":
            lexer._dollar(m.group(), end)
            end = lexer.pos
            out.append(("s", ""))
        elif kind == "n":
            out.append(("o", "0"))
        elif kind == "w":
            out.append(("w", m.group()))
        elif kind == "o":
            op = m.group()
            # PostgreSQL's lexer: a comment start ends an operator; a trailing + or -
            # is its own operator unless the operator holds one of ~!@#^&|`?%.
            cut = min((i for i in (op.find("--"), op.find("/*")) if i >= 0), default=-1)
            if cut == 0:
                raise AssertionError(op)  # the comment group comes first
            if cut > 0:
                op = op[:cut]
            while len(op) > 1 and op[-1] in "+-" and not _OP_SPECIAL.intersection(op):
                op = op[:-1]
            end = pos + len(op)
            out.append(("o", op.replace("%%", "%")))
        else:
            text = m.group()
            out.append(("p", text) if text in "().;" else ("o", text))
        pos = end
    return out


# Unreserved and type-or-function keywords of _NOT_CALLS that are syntax only in a
# context: the word before them (prev2), or the two before (prev3, prev2).
_AFTER_CLOSE = frozenset({"OVER", "FILTER", "REPEATABLE"})  # f(x) OVER (...), ... REPEATABLE (s)
_CONTEXT = {
    "SYSTEM": {"TABLESAMPLE"},
    "BERNOULLI": {"TABLESAMPLE"},
    "MATERIALIZED": {"AS", "NOT"},
    "ZONE": {"TIME"},
    "SETS": {"GROUPING"},
    "BY": {"ORDER", "GROUP", "PARTITION"},
    "VARYING": {"CHARACTER", "CHAR", "BIT"},
}
_OPERAND_AFTER = frozenset({"LIKE", "ILIKE", "SIMILAR", "IS", "JOIN", "TABLESAMPLE", "OVERLAPS"})
_INTERVAL_FIELDS = frozenset({"DAY", "HOUR", "MINUTE"})
# What a complete statement may end with, of the keywords (SELECT 1 FROM t ORDER BY a DESC).
_ENDINGS = frozenset(
    {"END", "NULL", "TRUE", "FALSE", "ASC", "DESC", "ONLY", "CURRENT_DATE", "CURRENT_TIME",
     "CURRENT_TIMESTAMP", "CURRENT_USER", "CURRENT_ROLE", "CURRENT_CATALOG", "SESSION_USER",
     "USER", "LOCALTIME", "LOCALTIMESTAMP", "INT", "INTEGER", "BIGINT", "SMALLINT", "REAL",
     "BOOLEAN", "NUMERIC", "DECIMAL", "DEC", "FLOAT", "PRECISION", "CHAR", "CHARACTER",
     "VARCHAR", "BIT", "TIME", "TIMESTAMP", "INTERVAL", "NONE", "ALL", "TABLE"}
)  # fmt: skip


def _unsure(reason: str) -> Verdict:
    """What the scan cannot vouch for but does not write: a replica hint may move it."""
    return soft(reason)._replace(unknown=True)


def _word(tok: tuple[str, str]) -> str:
    return tok[1].upper() if tok[0] == "w" else ""


def _operand(tok: tuple[str, str]) -> bool:
    """Whether *tok* may end an operand: a name, a string, a number, ")"."""
    kind, text = tok
    if kind == "w":
        return text.upper() not in SYNTAX_KEYWORDS or text.upper() in _ENDINGS
    return kind in "is" or tok == ("p", ")") or (kind == "o" and text == "0")


def _syntax_call(word: str, prev: list[tuple[str, str]]) -> bool:
    """Whether the unquoted, unqualified *word* before "(" is SQL syntax, not a call;
    *prev* is the three tokens before it, nearest last."""
    if word in SYNTAX_KEYWORDS:
        # Reserved and column-name keywords: gram.y's func_name never takes one.
        return True
    before, before2 = prev[-1], prev[-2]
    if word in _AFTER_CLOSE:
        return before == ("p", ")")
    if word in _CONTEXT:
        return _word(before) in _CONTEXT[word]
    if word in _OPERAND_AFTER:
        return _operand(before)
    if word in ("ROLLUP", "CUBE"):
        return _word(before) == "BY" and _word(before2) == "GROUP"
    if word == "SECOND":
        # interval '1' second(2), '1'::interval second(2), day to second(3)
        return (
            _word(before) == "INTERVAL"
            or (before[0] == "s" and _word(before2) == "INTERVAL")
            or (_word(before) == "TO" and _word(before2) in _INTERVAL_FIELDS)
        )
    return False


def _strict_checks(tokens: list[tuple[str, str]], policy: Policy) -> list[Verdict]:
    """What keeps the strict scan from vouching for the read-led *tokens*."""
    found: list[Verdict] = []
    depth = 0
    for i, tok in enumerate(tokens):
        kind, text = tok
        prev = [("p", ""), ("p", ""), ("p", ""), ("p", ""), *tokens[max(0, i - 4) : i]][-4:]
        if kind == "u":
            found.append(_unsure(f'a Unicode identifier U&"{text}"'))
        elif kind == "w" and text.upper() in SCAN_UNSURE:
            found.append(unknown(text.upper()))
        elif kind == "i" and text in NODE_RELATIONS:
            found.append(soft(f"reads {text}, which describes one node"))
        elif kind == "i" and text.startswith("pg_temp"):
            found.append(hard(f'reads a temporary table ("{text}")', session=True))
        elif kind == "w" and text.lower().startswith("pg_temp") and i + 1 < len(tokens):
            if tokens[i + 1] == ("p", "."):
                found.append(hard("reads a temporary table (pg_temp)", session=True))
        elif kind == "o" and text[0] in "~!@#^&|`?+-*/%<>=" and text not in _NOT_OPERATORS:
            if text not in OPERATORS and text != "!=":  # the parser reads != as <>
                found.append(_unsure(f"the operator {text}, not a built-in one"))
        elif tok == ("p", "("):
            depth += 1
            name = prev[-1]
            if name[0] != "w":
                continue
            word = name[1].upper()
            qualified = prev[-2] == ("p", ".")
            if word == "OPERATOR" and not qualified:
                found.extend(_operator_syntax(tokens[i + 1 : i + 5]))
            elif qualified and word in _NOT_CALLS:
                # myschema.coalesce(x) is a call: _scan_read skips the word.
                schema = prev[-3][1] if prev[-3][0] == "i" else prev[-3][1].lower()
                v = function_verdict(name[1].lower(), schema, policy)
                if v is not None:
                    found.append(v)
            elif qualified or word not in _NOT_CALLS:
                pass  # _scan_read judges these calls, _typmod the type modifiers
            elif not _syntax_call(word, prev[:-1]):
                v = function_verdict(name[1].lower(), None, policy)
                if v is not None:
                    found.append(v)
        elif tok == ("p", ")"):
            depth -= 1
            if depth < 0:
                found.append(_unsure("an unbalanced parenthesis"))
    if depth > 0:
        found.append(_unsure("an unbalanced parenthesis"))
    last = tokens[-1] if tokens else ("p", "")
    word = _word(last)
    using = len(tokens) > 1 and _word(tokens[-2]) == "USING"  # ORDER BY a USING >
    if (word and word in SYNTAX_KEYWORDS and word not in _ENDINGS) or (
        last[0] == "o" and last[1] not in ("0", "]") and not using
    ):
        found.append(_unsure(f"an incomplete statement (it ends with {last[1]})"))
    return found


def _operator_syntax(tokens: list[tuple[str, str]]) -> list[Verdict]:
    """OPERATOR(pg_catalog.op) with a built-in operator: *tokens* follow its "("."""
    if (
        len(tokens) == 4
        and tokens[0] == ("w", "pg_catalog")
        and tokens[1] == ("p", ".")
        and tokens[2][0] == "o"
        and tokens[2][1] in OPERATORS
        and tokens[3] == ("p", ")")
    ):
        return []
    return [_unsure("OPERATOR(...) of an operator that is not a built-in one")]


def sure(sql: str, policy: Policy) -> Verdict:
    """The strict scan of a statement (or string) of normal size that sqlglot could not read.

    A read only when every read-led statement passes `_strict_checks` and the
    linear scan's own rules; any other statement follows the rules table.
    """
    try:
        tokens = _strict_tokens(sql)
    except ScanError as exc:
        return unknown(f"text it cannot read ({exc})")
    statements: list[list[tuple[str, str]]] = [[]]
    for tok in tokens:
        if tok == ("p", ";"):
            statements.append([])
        else:
            statements[-1].append(tok)
    verdicts: list[Verdict] = []
    for stmt in statements:
        lead = next((t for t in stmt if t != ("p", "(")), None)
        if lead is None:
            if stmt:
                verdicts.append(unknown("only parentheses"))
            continue
        keyword = _word(lead)
        rest = stmt[stmt.index(lead) + 1 :]
        if keyword in READ_LEADS:
            found = _strict_checks(stmt, policy)
            verdict = _scan_read(keyword, iter(rest), policy, read_reason="a read-only query")
            verdicts.append(combine([*found, verdict]) if found else verdict)
        elif keyword in STATEMENTS and lead is stmt[0]:
            verdicts.append(_large_keyword(keyword, iter(rest))[0])
        else:
            verdicts.append(unknown(f"an unrecognised statement {keyword or ''}".rstrip()))
    if not verdicts:
        raise EmptyStatement
    return combine_statements(verdicts)


def _typmod(*before: tuple[str, str]) -> bool:
    """Whether the name ending *before* (three tokens) and a "(" are a type modifier,
    not a call: ``x::timestamptz(0)`` and ``interval '1' second(2)``."""
    name = before[-1]
    if name[0] != "w":
        return False
    if before[-2] == ("o", "::") and name[1].lower() in TYPES:
        return True
    return name[1].upper() == "SECOND" and _syntax_call("SECOND", [("p", ""), *before[:2]])


def _row_lock(word: str, *before: tuple[str, str]) -> Verdict | None:
    """The verdict of the locking clause that *word* ends, if it ends one.

    FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE; *before* is the
    three tokens before *word*.
    """
    words = [text.upper() if kind == "w" else "" for kind, text in before]
    if word == "UPDATE":
        key = words == ["FOR", "NO", "KEY"]
    elif word == "SHARE":
        key = words[1:] == ["FOR", "KEY"]
    else:
        return None
    if key or words[-1] == "FOR":
        return hard(LOCK_REASONS[(word == "UPDATE", key)])
    return None
