"""The linear token scan, for statements too large to parse.

A hand-written lexer over the raw text that knows exactly what PostgreSQL's
does about quoting (string constants with ``''``, ``E''`` escapes, dollar
quotes, quoted identifiers, nested ``/* */`` and ``--`` comments), so that a
word inside any of them never counts. It yields only the tokens the rules
need (words, quoted identifiers, parentheses, dots, semicolons) and never
holds more than one token at a time: time is linear in the text and memory
is constant.

The scan is conservative: a read-led statement is a read only when none of
its words writes, locks or calls a function that is not known to be safe;
any other statement follows the rules table, and what the table does not
know goes to the primary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._knowledge import NODE_RELATIONS, function_verdict
from ._route import Policy, Verdict, hard, read, soft

# Characters that never start a token we need: skipped in one C-level match.
_BORING = re.compile("[^A-Za-z_\x80-\U0010ffff'\"/\\-$();.]*")
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

READ_LEADS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})
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
        "SELECT",
        "DOUBLE",
        "PRECISION",
    ]
)


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
        """Yield (kind, text): "w" word, "i" quoted identifier, "s" string, "p" punctuation."""
        sql = self.sql
        n = len(sql)
        boring = _BORING.match
        token = _TOKEN.match
        while True:
            skipped = boring(sql, self.pos)
            start = skipped.end() if skipped is not None else self.pos
            if start >= n:
                self.pos = n
                return
            m = token(sql, start)
            if m is None:
                # a word glued to a number (1e5), "$1", a lone "-" or "/"
                w = _WORDISH.match(sql, start)
                self.pos = w.end() if w is not None else start + 1
                continue
            kind = m.lastgroup
            end = m.end()
            if kind == "w":
                word = m.group()
                if end < n and sql[end] == "'" and word in ("E", "e"):
                    self._skip_quoted("s", end, escape=True)
                    yield "s", ""
                    continue
                self.pos = end
                yield "w", word
            elif kind == "p":
                self.pos = end
                yield "p", m.group()
            elif kind == "d":
                self._dollar(m.group(), end)
                yield "s", ""
            elif kind == "i":
                self._skip_quoted("i", start)
                yield "i", sql[start + 1 : self.pos - 1].replace('""', '"')
            else:
                assert kind is not None
                self._skip_quoted(kind, start)
                if kind == "s":
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
    from ._analyze import combine
    from ._rules import STATEMENTS

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
                    continue
                first = tok
                break
            if first is None:
                break
            if first == ("p", ";"):
                continue
            keyword = first[1].upper() if first[0] == "w" else ""
            if keyword in READ_LEADS:
                verdicts.append(_scan_read(tokens, policy))
                continue
            if parens or keyword not in STATEMENTS:
                verdicts.append(
                    hard(f"a large {keyword or 'unrecognised'} statement")._replace(unknown=True)
                )
            else:
                verdicts.append(_large_keyword(keyword, tokens))
            lexer.skip_statement()
    except ScanError as exc:
        return hard(f"the statement could not be tokenized ({exc})")._replace(unknown=True)
    if not verdicts:
        from ._analyze import EmptyStatement

        raise EmptyStatement
    return combine(verdicts, multi=len(verdicts) > 1)


def _large_keyword(keyword: str, tokens: Iterator[tuple[str, str]]) -> Verdict:
    from ._rules import STATEMENTS

    reason, session = STATEMENTS[keyword]
    if keyword == "CREATE":
        for _, (kind, text) in zip(range(4), tokens, strict=False):
            if kind == "w" and text.upper() in ("TEMP", "TEMPORARY"):
                return hard("CREATE TEMPORARY creates session state", session=True)
            if kind == "p":
                break
    return hard(reason, session)


def _scan_read(tokens: Iterator[tuple[str, str]], policy: Policy) -> Verdict:
    found: list[Verdict] = []
    prev: tuple[str, str] = ("p", "")
    prev2: tuple[str, str] = ("p", "")
    prev3: tuple[str, str] = ("p", "")
    for tok in tokens:
        kind, text = tok
        if kind == "p":
            if text == ";":
                break
            if text == "(" and prev[0] in "wi":
                name = prev[1]
                upper = name.upper() if prev[0] == "w" else ""
                is_alias = prev2[0] == "w" and prev2[1].upper() == "AS"
                if upper not in _NOT_CALLS and not is_alias:
                    schema = None
                    if prev2 == ("p", ".") and prev3[0] in "wi":
                        schema = prev3[1] if prev3[0] == "i" else prev3[1].lower()
                    fname = name.lower() if prev[0] == "w" else name
                    v = function_verdict(fname, schema, policy)
                    if v is not None:
                        found.append(v)
            elif text == "." and prev[0] == "w" and prev[1].lower() == "pg_temp":
                found.append(hard("reads a temporary table (pg_temp)", session=True))
        elif kind == "w":
            upper = text.upper()
            what = _WRITE_WORDS.get(upper)
            if what is not None:
                found.append(hard(f"{what} in a large statement"))
            elif upper == "SHARE" and prev[0] == "w" and prev[1].upper() in ("FOR", "KEY"):
                found.append(hard("SELECT ... FOR SHARE takes row locks"))
            elif text.lower() in NODE_RELATIONS:
                found.append(soft(f"reads {text.lower()}, which describes one node"))
        prev3, prev2, prev = prev2, prev, tok
    if not found:
        return read("a large read-only query (token scan)")
    from ._analyze import combine

    return combine(found)
