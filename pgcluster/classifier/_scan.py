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

from ._knowledge import NODE_RELATIONS, function_verdict, relation_verdict
from ._route import Policy, Statement
from ._rules import LOCK_REASONS, READ_LEADS, STATEMENTS, keyword_statement
from ._verdict import EmptyStatement, Verdict, combine, combine_statements, hard, read, soft

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


def _scan_read(keyword: str, tokens: Iterator[tuple[str, str]], policy: Policy) -> Verdict:
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
                    if not alias and word not in _NOT_CALLS:
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
    verdict = combine(found) if found else read("a large read-only query (token scan)")
    return verdict if writes else verdict._replace(statement=Statement.QUERY)


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
