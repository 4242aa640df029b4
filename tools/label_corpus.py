"""Label SQL statements by running them on a real primary and a real hot standby.

    python tools/label_corpus.py --relabel             # re-label tests/classifier/data/world_corpus.tsv
    python tools/label_corpus.py --add candidates.tsv  # label new rows (columns: source, sql)

It starts a `pgcluster.testing.LocalCluster` with one hot standby, loads
tests/classifier/data/world_corpus_schema.sql into a database of its own and,
for each statement:

1. a statement of a *rule class* (`rule_class`: session state, transaction
   control, LOCK, advisory locks, node probes, actions on one node) is
   labelled ``primary`` whatever the standby does, the way
   tests/classifier/data/routing_corpus.tsv labels them; it must still be
   valid on the primary (errors that only say the session is not in the state
   the statement needs, e.g. no such savepoint or cursor, count as valid);
2. any other statement runs on the primary in a transaction that is rolled
   back; one that fails there is dropped (invalid in the schema), except
   "cannot run inside a transaction block" (25001), which then runs on the
   standby with autocommit;
3. it runs on the standby, in a transaction rolled back: ``replica`` if it
   runs, ``primary`` (class ``write``) if the standby refuses it as a standby
   does (`pgcluster._core.faults.standby_refusal`, the rule of the cluster's
   safety net); any other error on the standby drops it.

Rows are written sorted by source then statement; the category column is
``<class>:<keyword>`` (``read:select``, ``write:insert``, ``session:set``, ...).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from psycopg.conninfo import make_conninfo

from pgcluster._core.faults import standby_refusal

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "classifier" / "data"
CORPUS = DATA / "world_corpus.tsv"
SCHEMA = DATA / "world_corpus_schema.sql"
DBNAME = "world_corpus"
COLUMNS = ["expected", "category", "source", "sql"]

HEADER = """\
# The world corpus: real-world PostgreSQL statements that nobody on this project wrote,
# labelled by running them on a real PostgreSQL 15 primary and hot standby
# (tools/label_corpus.py regenerates the labels; the schema that makes them valid is
# world_corpus_schema.sql beside this file).
#
# expected: replica = the statement runs on a hot standby without error (in a transaction
#   rolled back); primary = the standby refuses it as a standby does (SQLSTATE 25006,
#   55000, 0A000, or "during recovery" / "hot standby") while the primary runs it
#   (category write:...), or it is, by rule as in routing_corpus.tsv, session state or
#   transaction control (session:, transaction:), LOCK (lock:), an advisory lock
#   (advisory_lock:), a node probe (node_probe:) or an action on one node (admin:).
# category: <class>:<leading keyword>.  source: where the statement comes from.
# sql: one statement per line, no escaping: every tab, CR and LF was replaced by a space;
#   in the rows split from .sql scripts (pg-regress, psql-describe, pg_dump, pg_activity)
#   runs of spaces outside literals were also collapsed and -- comments dropped; the ORM
#   rows keep the spacing their library gave them.
# Sources: pg-regress:<file> = PostgreSQL 15.18's src/test/regress/sql/<file>.sql (psql
#   meta-commands and statements with psql variables left out); django-orm = the SQL
#   Django 5.1's ORM sent for a set of querysets (connection.queries, client-side bound);
#   django-introspection = Django's catalog queries (introspection of every table);
#   sqlalchemy = SQLAlchemy 2.1 Core / ORM statements compiled for postgresql with
#   literal_binds; psql-describe = psql 15's queries for \\d commands (psql -E); pg_dump =
#   pg_dump 15 of the Django database (plain and --clean --if-exists --inserts);
#   pg_activity = the SQL files of pg_activity (PyPI), parameters filled in;
#   postgres_exporter = queries of prometheus-community/postgres_exporter's collectors.
"""

# On the primary: the statement is valid, only the session is not in the state it needs.
STATE_ERRORS = frozenset({"25001", "25P01", "3B001", "34000", "26000", "55000", "0A000"})

TRANSACTION_WORDS = frozenset(
    {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"}
)
SESSION_WORDS = frozenset(
    {
        "set", "reset", "discard", "prepare", "execute", "deallocate", "declare", "fetch",
        "move", "close", "listen", "unlisten", "load",
    }
)  # fmt: skip
SESSION_FUNCTIONS = frozenset(
    {
        "set_config", "setseed", "set_limit", "currval", "lastval", "pg_export_snapshot",
        "pg_stat_clear_snapshot", "pg_stat_force_next_flush",
    }
)  # fmt: skip
NODE_FUNCTIONS = frozenset(
    {
        "pg_is_in_recovery", "pg_backend_pid", "inet_server_addr", "inet_server_port",
        "pg_postmaster_start_time", "pg_conf_load_time", "pg_blocking_pids",
        "pg_safe_snapshot_blocking_pids", "pg_lock_status", "pg_last_xact_replay_timestamp",
        "pg_is_wal_replay_paused", "pg_get_wal_replay_pause_state", "pg_current_snapshot",
        "txid_current_snapshot", "pg_walfile_name", "pg_walfile_name_offset",
        "pg_control_checkpoint", "pg_control_recovery", "pg_control_system",
        "pg_stat_get_activity", "pg_stat_get_wal_receiver", "pg_stat_get_wal_senders",
        "pg_get_replication_slots",
    }
)  # fmt: skip
NODE_PREFIXES = ("pg_current_wal_", "pg_last_wal_")
NODE_RELATIONS = frozenset(
    {
        "pg_stat_activity", "pg_stat_replication", "pg_stat_wal_receiver",
        "pg_replication_slots", "pg_stat_replication_slots", "pg_locks", "pg_prepared_xacts",
        "pg_stat_ssl", "pg_stat_gssapi", "pg_stat_subscription", "pg_stat_wal",
        "pg_backend_memory_contexts", "pg_stat_progress_vacuum", "pg_stat_progress_analyze",
        "pg_stat_progress_create_index", "pg_stat_progress_cluster",
        "pg_stat_progress_basebackup", "pg_stat_progress_copy",
    }
)  # fmt: skip
NODE_SETTINGS = frozenset({"transaction_read_only", "in_hot_standby"})
ADMIN_FUNCTIONS = frozenset(
    {
        "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
        "pg_log_backend_memory_contexts", "pg_promote", "pg_wal_replay_pause",
        "pg_wal_replay_resume", "pg_backup_start", "pg_backup_stop",
    }
)  # fmt: skip
ADMIN_PREFIXES = ("pg_stat_reset", "pg_create_", "pg_drop_replication", "pg_replication_origin")

_LITERAL = re.compile(r"'(?:[^']|'')*'|\$([A-Za-z_]\w*)?\$.*?\$\1\$|/\*.*?\*/", re.S)
_WORD = re.compile(r'"([^"]+)"|([A-Za-z_][A-Za-z_0-9$]*)')


class Row(NamedTuple):
    expected: str
    category: str
    source: str
    sql: str


def _words(sql: str) -> tuple[list[tuple[str, int]], str]:
    """The identifiers and keywords outside literals and comments, lower-cased, with positions."""
    text = _LITERAL.sub(lambda m: " " * len(m.group(0)), sql)
    return [
        ((m.group(1) if m.group(1) is not None else m.group(2).lower()), m.end())
        for m in _WORD.finditer(text)
    ], text


def keyword(sql: str) -> str:
    """The statement's leading keyword (after any comments and parentheses), lower case."""
    words, _ = _words(sql)
    return words[0][0] if words else "?"


def rule_class(sql: str) -> str | None:
    """The class of a statement labelled primary by rule, or None."""
    words, text = _words(sql)
    if not words:
        return None
    first = words[0][0]
    second = words[1][0] if len(words) > 1 else ""
    if first in TRANSACTION_WORDS or (first == "set" and second in ("transaction", "constraints")):
        return "transaction"
    if first == "prepare" and second == "transaction":
        return "transaction"
    if first == "show" and second in NODE_SETTINGS:
        return "node_probe"
    if first in SESSION_WORDS:
        return "session"
    if first == "lock":
        return "lock"
    if first in ("create", "declare") and re.match(
        r"\s*create\s+(global\s+|local\s+)?(temp|temporary)\b", text, re.I
    ):
        return "session"
    found: str | None = None
    for word, end in words:
        call = text[end : end + 1] == "(" or text[end:].lstrip().startswith("(")
        if call and (word.startswith(("pg_advisory_", "pg_try_advisory_"))):
            return "advisory_lock"
        if call and word in SESSION_FUNCTIONS:
            return "session"
        if call and (word in ADMIN_FUNCTIONS or word.startswith(ADMIN_PREFIXES)):
            found = found or "admin"
        if (call and (word in NODE_FUNCTIONS or word.startswith(NODE_PREFIXES))) or (
            word in NODE_RELATIONS
        ):
            found = found or "node_probe"
    return found


def _run(conn: psycopg.Connection[Any], sql: str) -> None:
    with conn.cursor() as cur:
        if re.match(r"(?is)\s*copy\b.*\b(to\s+stdout|from\s+stdin)", sql):
            with cur.copy(sql) as copy:
                for _ in copy:
                    pass
        else:
            cur.execute(sql)


class Labeller:
    """Two connections, one to the primary and one to the standby, and the labels."""

    def __init__(self, primary: str, standby: str) -> None:
        self.dsns = (primary, standby)
        self.conns = [self._connect(d) for d in self.dsns]
        self.dropped: Counter[str] = Counter()

    @staticmethod
    def _connect(dsn: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            dsn, options="-c statement_timeout=5000 -c lock_timeout=2000", prepare_threshold=None
        )

    def _try(self, which: int, sql: str, autocommit: bool = False) -> psycopg.Error | None:
        conn = self.conns[which]
        if conn.broken or conn.closed:
            conn = self.conns[which] = self._connect(self.dsns[which])
        try:
            conn.autocommit = autocommit
            _run(conn, sql)
        except psycopg.Error as exc:
            return exc
        finally:
            try:
                conn.rollback()
                conn.autocommit = True
                conn.execute("DISCARD ALL")
            except psycopg.Error:
                conn.close()
                self.conns[which] = self._connect(self.dsns[which])
        return None

    def label(self, source: str, sql: str) -> Row | None:
        kw = keyword(sql)
        rule = rule_class(sql)
        if kw == "alter" and re.match(r"\s*alter\s+system\b", sql, re.I):
            self.dropped["ALTER SYSTEM (a standby would run it)"] += 1
            return None
        err = self._try(0, sql)
        autocommit = False
        if err is not None:
            if rule is not None and err.sqlstate in STATE_ERRORS:
                return Row("primary", f"{rule}:{kw}", source, sql)
            if err.sqlstate != "25001":
                self.dropped[f"fails on the primary: {err.sqlstate}"] += 1
                return None
            autocommit = True
        if rule is not None:
            return Row("primary", f"{rule}:{kw}", source, sql)
        err = self._try(1, sql, autocommit)
        if err is None:
            return Row("replica", f"read:{kw}", source, sql)
        if standby_refusal(err) is not None:  # the rule of the cluster's safety net
            return Row("primary", f"write:{kw}", source, sql)
        self.dropped[f"fails on the standby only: {err.sqlstate}"] += 1
        return None

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


def read_rows(path: Path) -> list[Row]:
    """The rows of a corpus file (its # header lines skipped)."""
    with path.open(newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    assert reader.fieldnames == COLUMNS, reader.fieldnames
    return [Row(r["expected"], r["category"], r["source"], r["sql"]) for r in reader]


def read_candidates(path: Path) -> list[tuple[str, str]]:
    """``source<TAB>sql`` lines (no header)."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            source, _, sql = line.partition("\t")
            sql = re.sub(r"[\t\r\n]", " ", sql).strip()
            if sql:
                out.append((source, sql))
    return out


def write_rows(path: Path, rows: Iterable[Row]) -> None:
    with path.open("w", newline="") as f:
        f.write(HEADER)
        f.write("\t".join(COLUMNS) + "\n")
        for r in sorted(rows, key=lambda r: (r.source, r.sql)):
            assert not re.search(r"[\t\r\n]", "".join(r)), r
            f.write("\t".join(r) + "\n")


def load_schema(dsn: str, schema: Path = SCHEMA) -> None:
    """Run the schema file, one statement a line (lines starting with -- are comments)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for line in schema.read_text().splitlines():
            if line.strip() and not line.startswith("--"):
                try:
                    conn.execute(line)
                except psycopg.Error as exc:
                    raise RuntimeError(f"{schema}: {line[:200]!r}: {exc}") from exc


def label_all(candidates: list[tuple[str, str]], schema: Path) -> tuple[list[Row], Counter[str]]:
    from pgcluster.testing import LocalCluster

    seen: set[str] = set()
    rows: list[Row] = []
    with LocalCluster(1) as cluster:
        with psycopg.connect(cluster.primary.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DBNAME}")
        primary = make_conninfo(cluster.primary.dsn, dbname=DBNAME)
        load_schema(primary, schema)
        cluster.wait_replicated(timeout=60)
        labeller = Labeller(primary, make_conninfo(cluster.replicas[0].dsn, dbname=DBNAME))
        try:
            for source, sql in candidates:
                if sql in seen:
                    continue
                seen.add(sql)
                row = labeller.label(source, sql)
                if row is not None:
                    rows.append(row)
        finally:
            labeller.close()
    return rows, labeller.dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relabel", action="store_true", help="re-label the corpus's rows")
    parser.add_argument("--add", type=Path, action="append", default=[], help="candidates")
    parser.add_argument("--exclude", type=Path, action="append", default=[],
                        help="TSV corpora (with an sql column) whose statements are left out")  # fmt: skip
    parser.add_argument("--out", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    candidates: list[tuple[str, str]] = []
    if args.relabel and CORPUS.exists():
        candidates += [(r.source, r.sql) for r in read_rows(CORPUS)]
    for path in args.add:
        candidates += read_candidates(path)
    excluded: set[str] = set()
    for path in args.exclude:
        with path.open(newline="") as f:
            excluded |= {
                r["sql"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            }
    candidates = [(s, q) for s, q in candidates if q not in excluded]
    rows, dropped = label_all(candidates, SCHEMA)
    write_rows(args.out, rows)
    labels = Counter(r.expected for r in rows)
    print(f"{len(rows)} rows ({dict(labels)}) written to {args.out}", file=sys.stderr)
    for why, n in dropped.most_common():
        print(f"  dropped {n}: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
