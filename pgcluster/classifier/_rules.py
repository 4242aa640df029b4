"""The rules table: statements decided by their leading keyword alone, and which are
transaction control.

Reads (`READ_LEADS`: SELECT, WITH, VALUES, TABLE), SHOW, EXPLAIN and COPY need
a closer look and are not here; everything in this table goes to the primary.
A leading keyword found neither here nor among those is unrecognised: primary
too. The parse and the token scan share this module's tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._route import Statement
from ._sqlglot import Token, TokenType
from ._verdict import Verdict, hard

# The keywords that lead a statement which may be a read: looked at closely.
READ_LEADS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})

# (update, key) -> reason, for FOR UPDATE, FOR SHARE, FOR NO KEY UPDATE, FOR KEY SHARE.
LOCK_REASONS = {
    (True, False): "SELECT ... FOR UPDATE takes row locks",
    (False, False): "SELECT ... FOR SHARE takes row locks",
    (True, True): "SELECT ... FOR NO KEY UPDATE takes row locks",
    (False, True): "SELECT ... FOR KEY SHARE takes row locks",
}

# keyword -> (reason, session)
STATEMENTS: dict[str, tuple[str, bool]] = {
    "INSERT": ("INSERT writes rows", False),
    "UPDATE": ("UPDATE writes rows", False),
    "DELETE": ("DELETE writes rows", False),
    "MERGE": ("MERGE writes rows", False),
    "TRUNCATE": ("TRUNCATE empties tables", False),
    "CREATE": ("CREATE is DDL", False),
    "ALTER": ("ALTER is DDL", False),
    "DROP": ("DROP is DDL", False),
    "GRANT": ("GRANT changes privileges", False),
    "REVOKE": ("REVOKE changes privileges", False),
    "COMMENT": ("COMMENT ON writes the catalog", False),
    "SECURITY": ("SECURITY LABEL writes the catalog", False),
    "IMPORT": ("IMPORT FOREIGN SCHEMA is DDL", False),
    "REASSIGN": ("REASSIGN OWNED changes ownership", False),
    "REFRESH": ("REFRESH MATERIALIZED VIEW rewrites a view", False),
    "VACUUM": ("VACUUM is maintenance that writes", False),
    "ANALYZE": ("ANALYZE writes statistics", False),
    "ANALYSE": ("ANALYZE writes statistics", False),
    "CLUSTER": ("CLUSTER rewrites a table", False),
    "REINDEX": ("REINDEX rebuilds indexes", False),
    "CHECKPOINT": ("CHECKPOINT acts on one node", False),
    "CALL": ("CALL runs a procedure, which may write", False),
    "DO": ("DO runs an anonymous code block, which may write", False),
    "LOCK": ("LOCK takes a table lock", False),
    "NOTIFY": ("NOTIFY sends a notification", False),
    "SET": ("SET changes session state", True),
    "RESET": ("RESET changes session state", True),
    "DISCARD": ("DISCARD drops session state", True),
    "LOAD": ("LOAD loads a library into the session", True),
    "PREPARE": ("PREPARE creates a prepared statement of the session", True),
    "EXECUTE": ("EXECUTE runs a prepared statement of the session", True),
    "DEALLOCATE": ("DEALLOCATE drops a prepared statement of the session", True),
    "LISTEN": ("LISTEN subscribes the session to notifications", True),
    "UNLISTEN": ("UNLISTEN changes the session's subscriptions", True),
    "DECLARE": ("DECLARE opens a cursor of the session", True),
    "FETCH": ("FETCH reads a cursor of the session", True),
    "MOVE": ("MOVE moves a cursor of the session", True),
    "CLOSE": ("CLOSE closes a cursor of the session", True),
    "BEGIN": ("BEGIN is transaction control", True),
    "START": ("START TRANSACTION is transaction control", True),
    "COMMIT": ("COMMIT is transaction control", True),
    "END": ("END is transaction control", True),
    "ROLLBACK": ("ROLLBACK is transaction control", True),
    "ABORT": ("ABORT is transaction control", True),
    "SAVEPOINT": ("SAVEPOINT is transaction control", True),
    "RELEASE": ("RELEASE SAVEPOINT is transaction control", True),
}

_TEMP_WORDS = frozenset({"TEMP", "TEMPORARY"})
# START is only ever START TRANSACTION; ROLLBACK covers ROLLBACK TO SAVEPOINT.
_TRANSACTION_CONTROL = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"}
)


def keyword_statement(keyword: str, second: str) -> Statement:
    """The kind of a statement of the table, from its first two words (upper case)."""
    if keyword in ("COMMIT", "ROLLBACK") and second == "PREPARED":
        # They finish a transaction prepared earlier, maybe by another session,
        # and cannot run inside a transaction block.
        return Statement.OTHER
    if keyword in _TRANSACTION_CONTROL or (keyword == "PREPARE" and second == "TRANSACTION"):
        return Statement.TRANSACTION
    return Statement.OTHER


def _word(tok: Token) -> str:
    if tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
        return ""
    return str(tok.text).upper()


def keyword_verdict(keyword: str, tokens: Sequence[Token]) -> Verdict | None:
    """The verdict for a statement decided by its leading keyword, if it is one."""
    entry = STATEMENTS.get(keyword)
    if entry is None:
        return None
    reason, session = entry
    second = _word(tokens[1]) if len(tokens) > 1 else ""
    if keyword in ("COMMIT", "ROLLBACK") and second == "PREPARED":
        return hard(f"{keyword} PREPARED is two-phase commit")
    if keyword == "PREPARE" and second == "TRANSACTION":
        verdict = hard("PREPARE TRANSACTION is two-phase commit", session=True)
        return verdict._replace(statement=Statement.TRANSACTION)
    if keyword == "CREATE":
        head = [_word(t) for t in tokens[1:5]]
        if _TEMP_WORDS.intersection(head):
            return hard("CREATE TEMPORARY creates session state", session=True)
        # CREATE TABLE pg_temp.t (...) is a temporary table too.
        for i, tok in enumerate(tokens[1:8], start=1):
            if (
                str(tok.text).lower() == "pg_temp"
                and i + 1 < len(tokens)
                and tokens[i + 1].token_type is TokenType.DOT
            ):
                return hard("CREATE in pg_temp creates session state", session=True)
        if "MATERIALIZED" in head:
            return hard("CREATE MATERIALIZED VIEW writes a new relation")
        if "CONCURRENTLY" in [_word(t) for t in tokens[1:6]]:
            return hard("CREATE INDEX CONCURRENTLY is DDL")
        if "TABLE" in head and any(t.token_type is TokenType.ALIAS for t in tokens):
            return hard("CREATE TABLE AS writes a new table")
    return hard(reason, session)._replace(statement=keyword_statement(keyword, second))


# Words after which the token scan no longer vouches for a read that sqlglot could
# not parse (it sends it to the primary): the writes and the row locks of a read-led
# statement (INSERT ... of a data-modifying CTE, SELECT ... INTO, FOR UPDATE / NO KEY
# UPDATE / SHARE / KEY SHARE, ON CONFLICT, RETURNING), and the leading keywords of
# the table above that write or change state, should one stand where the scan did
# not expect a new statement. Left out: the table's words that reads use too (END of
# CASE, FETCH FIRST, START, COMMENT, ANALYZE, CLUSTER, LOAD, CLOSE, MOVE and the
# transaction words, which are also plain column names).
SCAN_UNSURE = frozenset(
    {"INSERT", "UPDATE", "DELETE", "MERGE", "INTO", "SHARE", "NOWAIT", "LOCKED", "CONFLICT",
     "RETURNING", "COPY", "TRUNCATE", "CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "CALL",
     "DO", "LOCK", "NOTIFY", "LISTEN", "UNLISTEN", "EXECUTE", "PREPARE", "DECLARE", "REFRESH",
     "VACUUM", "REINDEX", "IMPORT", "REASSIGN", "DISCARD", "CHECKPOINT", "SET", "RESET"}
)  # fmt: skip
