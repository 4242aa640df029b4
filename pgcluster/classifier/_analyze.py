"""Classification of one string of normal size: tokens first, the tree when needed.

The leading keyword always comes from sqlglot's tokenizer, never from the
parsed tree's type (sqlglot turns ``LISTEN foo`` into an ``Alias``, ``EXPLAIN``
into a ``Command``, ...). Only statements that may be reads (SELECT, WITH,
VALUES, TABLE, and the queries inside EXPLAIN and COPY) are parsed; the tree
is then walked for anything that writes, locks, calls a function that must
run on the primary or reads a relation that only the primary can answer for.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from . import _fast, _scan
from ._knowledge import (
    NODE_RELATIONS,
    NODE_SETTINGS,
    function_verdict,
    is_temp_schema,
    relation_verdict,
)
from ._route import Policy, Statement
from ._rules import LOCK_REASONS, READ_LEADS, keyword_verdict
from ._sqlglot import Token, TokenType, parse, tokenize
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

_EXPLAINABLE = READ_LEADS | {"INSERT", "UPDATE", "DELETE", "MERGE", "EXECUTE", "DECLARE", "CREATE"}
_WORD_TYPES_EXCLUDED = (TokenType.STRING, TokenType.IDENTIFIER, TokenType.NUMBER)
_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Copy)
_RESERVED_AS_CALLS = frozenset({"all"})
_NOT_READ = (exp.Command, exp.Create, exp.Drop, exp.Alter, exp.TruncateTable, exp.Transaction)


def classify_text(sql: str, policy: Policy) -> Verdict:
    """Classify a whole string, which may hold several statements."""
    try:
        tokens = tokenize(sql)
    except Exception:
        verdict = _scan.sure(sql, policy)
        return _unparsable("could not be tokenized", verdict)
    if ";" not in sql:  # one statement (or none): no need to split the tokens
        if not tokens:
            raise EmptyStatement
        return statement(tokens, sql, policy)
    statements: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.token_type is TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(tok)
    statements = [s for s in statements if s]
    if not statements:
        raise EmptyStatement
    return combine_statements([statement(s, sql, policy) for s in statements])


def _unparsable(what: str, scanned: Verdict) -> Verdict:
    # A statement sqlglot cannot read is read by the strict token scan
    # (_scan.sure), which vouches for a read or says what it found; then it goes
    # to the primary, and a replica hint may move it only if what the scan found
    # does not write. Its kind is the scan's: a SELECT sqlglot cannot parse is
    # still a query.
    if not scanned.primary:
        verb = what.split()[-1].replace("parsed", "parse").replace("tokenized", "tokenize")
        reason = f"{scanned.reason} (read by the token scan: sqlglot could not {verb} it)"
        return read(reason)._replace(statement=scanned.statement)
    reason = f"the statement {what}; the token scan found {scanned.reason}"
    if scanned.primary and scanned.hard:
        verdict = hard(reason, scanned.session)
    else:
        verdict = soft(reason, scanned.session)
    return verdict._replace(unknown=True, statement=scanned.statement)


def _text(tokens: Sequence[Token], sql: str) -> str:
    return sql[tokens[0].start : tokens[-1].end + 1]


def _lead(tokens: Sequence[Token]) -> tuple[str, int]:
    """The leading keyword (upper case, "" if none) and how many "(" precede it."""
    depth = 0
    for tok in tokens:
        if tok.token_type is TokenType.L_PAREN:
            depth += 1
            continue
        if tok.token_type in _WORD_TYPES_EXCLUDED:
            return "", depth
        return str(tok.text).upper(), depth
    return "", depth


def statement(tokens: Sequence[Token], sql: str, policy: Policy) -> Verdict:
    """Classify one statement given as its tokens."""
    keyword, parens = _lead(tokens)
    if keyword in READ_LEADS:
        return _query(tokens, sql, policy)
    if parens or not keyword:
        return unknown("unrecognised statement")
    if keyword == "SHOW":
        return _show(tokens)
    if keyword == "EXPLAIN":
        return _explain(tokens, sql, policy)
    if keyword == "COPY":
        return _copy(tokens, sql, policy)
    verdict = keyword_verdict(keyword, tokens)
    if verdict is None:
        return unknown(f"unrecognised statement {keyword}")
    return verdict


def _show(tokens: Sequence[Token]) -> Verdict:
    rest = [str(t.text).lower() for t in tokens[1:]]
    if not rest:
        return unknown("SHOW without a setting name")
    if len(rest) == 1 and rest[0] in NODE_SETTINGS:
        return soft(f"SHOW {rest[0]} describes the node")
    return read("SHOW reads a setting")


def _matching(tokens: Sequence[Token], i: int) -> int:
    """Index of the ")" matching the "(" at ``tokens[i]``; -1 if there is none."""
    depth = 0
    for j in range(i, len(tokens)):
        tt = tokens[j].token_type
        if tt is TokenType.L_PAREN:
            depth += 1
        elif tt is TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return j
    return -1


_FALSE = frozenset({"false", "off", "0", "no"})


def _explain(tokens: Sequence[Token], sql: str, policy: Policy) -> Verdict:
    i = 1
    analyze = False
    if len(tokens) > 1 and tokens[1].token_type is TokenType.L_PAREN:
        end = _matching(tokens, 1)
        if end < 0:
            return unknown("EXPLAIN with unbalanced options")
        options: list[list[Token]] = [[]]
        for tok in tokens[2:end]:
            if tok.token_type is TokenType.COMMA:
                options.append([])
            else:
                options[-1].append(tok)
        for option in options:
            if option and str(option[0].text).upper() in ("ANALYZE", "ANALYSE"):
                analyze = len(option) == 1 or str(option[1].text).lower() not in _FALSE
        i = end + 1
    else:
        while i < len(tokens) and str(tokens[i].text).upper() in ("ANALYZE", "ANALYSE", "VERBOSE"):
            if str(tokens[i].text).upper() != "VERBOSE":
                analyze = True
            i += 1
    inner = tokens[i:]
    keyword, _ = _lead(inner)
    if keyword not in _EXPLAINABLE:
        return unknown("EXPLAIN of an unrecognised statement")
    # Whatever it explains, EXPLAIN is OTHER: DECLARE ... CURSOR refuses it.
    verdict = statement(inner, sql, policy)._replace(statement=Statement.OTHER)
    if analyze:
        if verdict.primary:
            return verdict._replace(reason=f"EXPLAIN ANALYZE executes it: {verdict.reason}")
        return read("EXPLAIN ANALYZE of a read")
    if verdict.unknown or verdict.session:
        return verdict._replace(reason=f"EXPLAIN: {verdict.reason}")
    return read("EXPLAIN without ANALYZE executes nothing")


def _copy(tokens: Sequence[Token], sql: str, policy: Policy) -> Verdict:
    n = len(tokens)
    i = 1
    query: Verdict | None = None
    temp = False
    if i < n and tokens[i].token_type is TokenType.L_PAREN:
        end = _matching(tokens, i)
        if end < 0:
            return unknown("COPY with an unbalanced query")
        inner = tokens[i + 1 : end]
        keyword, _ = _lead(inner)
        if keyword not in READ_LEADS and keyword not in ("INSERT", "UPDATE", "DELETE", "MERGE"):
            return unknown("COPY of an unrecognised query")
        query = statement(inner, sql, policy)
        i = end + 1
    else:
        names: list[str] = []
        while i < n and tokens[i].token_type in (
            TokenType.VAR,
            TokenType.IDENTIFIER,
            TokenType.DOT,
        ):
            if tokens[i].token_type is TokenType.VAR and str(tokens[i].text).upper() in (
                "FROM",
                "TO",
            ):
                break
            if tokens[i].token_type is not TokenType.DOT:
                names.append(str(tokens[i].text))
            i += 1
        if not names and i < n and str(tokens[i].text).upper() not in ("FROM", "TO"):
            # a table whose name sqlglot tokenizes as a keyword
            names.append(str(tokens[i].text))
            i += 1
        temp = len(names) > 1 and names[0].lower() == "pg_temp"
        if i < n and tokens[i].token_type is TokenType.L_PAREN:
            end = _matching(tokens, i)
            if end < 0:
                return unknown("COPY with an unbalanced column list")
            i = end + 1
    verdict = _copy_direction(tokens[i:], query, temp)
    if _with_the_client(tokens[i : i + 2]):
        return verdict._replace(statement=Statement.COPY)
    return verdict


def _with_the_client(tokens: Sequence[Token]) -> bool:
    """Whether COPY's FROM / TO and the word after it name the client, not a file."""
    if len(tokens) < 2 or tokens[1].token_type is TokenType.STRING:
        return False
    direction, source = (str(t.text).upper() for t in tokens[:2])
    # PostgreSQL's grammar takes either word for the client, in either direction.
    return direction in ("FROM", "TO") and source in ("STDIN", "STDOUT")


def _copy_direction(tokens: Sequence[Token], query: Verdict | None, temp: bool) -> Verdict:
    """COPY's verdict from its FROM / TO on; *query* is the verdict of its (query)."""
    direction = str(tokens[0].text).upper() if tokens else ""
    if direction == "FROM":
        return hard("COPY ... FROM writes rows")
    if direction != "TO" or len(tokens) < 2:
        return unknown("COPY without FROM or TO")
    dest = tokens[1]
    if dest.token_type is TokenType.STRING:
        return hard("COPY ... TO a file writes on the server")
    word = str(dest.text).upper()
    if word == "PROGRAM":
        return hard("COPY ... TO PROGRAM runs a program on the server")
    if word != "STDOUT":
        return unknown("COPY ... TO an unrecognised destination")
    if query is not None:
        if query.primary:
            return query._replace(reason=f"COPY (query) TO runs the query: {query.reason}")
        return read("COPY (query) TO STDOUT of a read")
    if temp:
        return hard("COPY of a temporary table (pg_temp)", session=True)
    return read("COPY ... TO STDOUT reads a table")


def _function_name(node: exp.Func, sql: str) -> str | None:
    """The name as PostgreSQL resolves it (case-folded unless quoted); None for syntax."""
    if isinstance(node, exp.Anonymous):
        this = node.this
        if isinstance(this, exp.Identifier):
            return this.this if this.quoted else str(this.this).lower()
        name = str(this).lower()
        # "x = ALL (...)": sqlglot takes the keyword for a call. ALL is reserved in
        # PostgreSQL's grammar, so unquoted it never names a function.
        return None if name in _RESERVED_AS_CALLS else name
    if isinstance(node.parent, exp.Interval) and node.arg_key == "unit":
        return None  # interval '1.5' second(2): the field and its precision
    meta = node.meta
    start, end = meta.get("start"), meta.get("end")
    if start is None or end is None:
        return None  # CAST, EXTRACT, operators, CURRENT_DATE...: syntax, not a call
    text = sql[start : end + 1]
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _schema_of(node: exp.Expr) -> str | None:
    parent = node.parent
    if isinstance(parent, exp.Dot) and parent.expression is node:
        qualifier = parent.this
        if isinstance(qualifier, (exp.Column, exp.Identifier, exp.Dot)):
            name = qualifier.name
            if isinstance(qualifier, exp.Identifier) and qualifier.quoted:
                return str(name)
            return str(name).lower()
        return "?"
    return None


def _query(tokens: Sequence[Token], sql: str, policy: Policy) -> Verdict:
    fast = _fast.verdict(tokens, policy)  # the ORMs' plain SELECTs, without a parse
    if fast is not None:
        return fast
    try:
        tree = parse(tokens, sql)
    except Exception:
        tree = None
    if tree is None:
        return _unparsable("could not be parsed", _scan.sure(_text(tokens, sql), policy))
    if not isinstance(tree, (exp.Query, exp.Values, exp.DML)):
        return unknown(f"unrecognised statement (parsed as {type(tree).__name__})")
    found: list[Verdict] = []
    # What DECLARE ... CURSOR accepts: a SELECT or VALUES, no INTO, nothing that writes.
    cursor_query = not isinstance(tree, exp.DML)
    for node in tree.walk():
        if isinstance(node, exp.Func):
            name = _function_name(node, sql)
            if name is not None:
                v = function_verdict(name, _schema_of(node), policy)
                if v is not None:
                    found.append(v)
        elif isinstance(node, exp.Table):
            v = _table(node, policy)
            if v is not None:
                found.append(v)
        elif isinstance(node, exp.Lock):
            key = bool(node.args.get("key"))
            found.append(hard(LOCK_REASONS[(bool(node.args.get("update")), key)]))
        elif isinstance(node, exp.Select) and node.args.get("into") is not None:
            cursor_query = False
            into = node.args["into"]
            if into.args.get("temporary"):
                found.append(hard("SELECT ... INTO TEMP creates a temporary table", session=True))
            else:
                found.append(hard("SELECT ... INTO creates a table"))
        elif isinstance(node, _DML):
            cursor_query = False
            kind = type(node).__name__.upper()
            if node is tree:
                found.append(hard(f"WITH ... {kind} writes rows"))
            else:
                found.append(hard(f"data-modifying {kind} inside the statement"))
        elif isinstance(node, _NOT_READ):
            cursor_query = False
            found.append(unknown(f"unrecognised statement ({type(node).__name__} inside)"))
    verdict = combine(found) if found else read("a read-only query")
    if cursor_query:
        return verdict._replace(statement=Statement.QUERY)
    return verdict


def _table(node: exp.Table, policy: Policy) -> Verdict | None:
    db = node.args.get("db")
    schema = None
    if isinstance(db, exp.Identifier):
        schema = db.this if db.quoted else str(db.this).lower()
    if not isinstance(node.this, exp.Identifier):
        if schema is not None and is_temp_schema(schema) and isinstance(node.this, exp.Func):
            # FROM pg_temp.f(): the function's own node does not see the schema
            return hard(f"calls {schema}.{node.this.name}(), a temporary function of the"
                        " session", session=True)  # fmt: skip
        return None
    name = node.name
    ident = node.this
    if not ident.quoted:
        name = name.lower()
    if schema is not None and is_temp_schema(schema):
        return hard(f"reads the temporary table {schema}.{name}", session=True)
    if name in NODE_RELATIONS and schema in (None, "pg_catalog"):
        return soft(f"reads {name}, which describes one node")
    return relation_verdict(name, schema, policy)
