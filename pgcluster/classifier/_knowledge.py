"""What the classifier knows about functions and relations.

Three layers, consulted in this order for an unqualified (or ``pg_catalog.``)
name:

1. the policy's ``write_functions``;
2. the hand-curated tables below: functions that write or act on one node
   (`WRITE_FUNCTIONS`, prefixes in `WRITE_PREFIXES`), node probes whose answer
   must come from the primary (`NODE_FUNCTIONS`), and volatile functions that
   are nevertheless safe on a replica (`READ_SAFE_VOLATILE`), each with the
   one-line reason that ends up in `Route.reason`;
3. the policy's ``read_functions``, its ``function_catalog`` (``pg_proc`` of the
   real primary), then the generated table of built-in and contrib functions
   (`_builtin_functions.FUNCTIONS`): STABLE and IMMUTABLE are replica-safe,
   VOLATILE goes to the primary; a built-in type's name is a function-style
   cast (``regproc('now')``, `_builtin_functions.TYPES`); and a name nobody
   knows follows ``Policy.unknown_functions``.

A name qualified with another schema is a user function: only the policy and
its catalog can vouch for it.
"""

from __future__ import annotations

from ._builtin_functions import FUNCTIONS as BUILTIN
from ._builtin_functions import TYPES
from ._route import Policy, Target
from ._verdict import Verdict, hard, soft

# kind: "write" (hard primary), "session" (hard primary, session state),
# "node" (soft primary: a probe whose answer must come from the primary).
_W, _S, _N = "write", "session", "node"

WRITE_FUNCTIONS: dict[str, tuple[str, str]] = {
    "nextval": (_W, "advances a sequence"),
    "setval": (_W, "sets a sequence"),
    "currval": (_S, "reads this session's last sequence value"),
    "lastval": (_S, "reads this session's last sequence value"),
    "pg_notify": (_W, "sends a notification"),
    "txid_current": (_W, "assigns a transaction id, which fails on a standby"),
    "pg_current_xact_id": (_W, "assigns a transaction id, which fails on a standby"),
    "set_config": (_S, "changes a setting of the session"),
    "pg_my_temp_schema": (_S, "reads this session's temporary schema"),
    "setseed": (_S, "seeds the session's random()"),
    "set_limit": (_S, "changes a setting of the session"),
    "pg_terminate_backend": (_W, "acts on another backend of one node"),
    "pg_cancel_backend": (_W, "acts on another backend of one node"),
    "pg_reload_conf": (_W, "reloads one node's configuration"),
    "pg_rotate_logfile": (_W, "acts on one node's log"),
    "pg_rotate_logfile_old": (_W, "acts on one node's log"),
    "pg_log_backend_memory_contexts": (_W, "acts on another backend of one node"),
    "pg_switch_wal": (_W, "switches the WAL file, which fails on a standby"),
    "pg_create_restore_point": (_W, "writes a WAL record, which fails on a standby"),
    "pg_backup_start": (_W, "starts a base backup of one node"),
    "pg_backup_stop": (_W, "stops a base backup of one node"),
    "pg_promote": (_W, "promotes a standby"),
    "pg_wal_replay_pause": (_W, "acts on one node's recovery"),
    "pg_wal_replay_resume": (_W, "acts on one node's recovery"),
    "pg_export_snapshot": (_S, "exports a snapshot of this session"),
    "pg_import_system_collations": (_W, "writes the catalog"),
    "pg_stat_clear_snapshot": (_S, "acts on this session's statistics snapshot"),
    "pg_stat_force_next_flush": (_S, "acts on this session's statistics"),
    "pg_create_physical_replication_slot": (_W, "creates a replication slot"),
    "pg_create_logical_replication_slot": (_W, "creates a replication slot"),
    "pg_drop_replication_slot": (_W, "drops a replication slot"),
    "pg_copy_physical_replication_slot": (_W, "creates a replication slot"),
    "pg_copy_logical_replication_slot": (_W, "creates a replication slot"),
    "pg_replication_slot_advance": (_W, "advances a replication slot"),
    "pg_logical_slot_get_changes": (_W, "consumes a replication slot"),
    "pg_logical_slot_get_binary_changes": (_W, "consumes a replication slot"),
    "pg_logical_slot_peek_changes": (_W, "decodes a replication slot of one node"),
    "pg_logical_slot_peek_binary_changes": (_W, "decodes a replication slot of one node"),
    "pg_logical_emit_message": (_W, "writes a WAL message"),
    "loread": (_W, "uses a large object descriptor"),
    "lowrite": (_W, "writes a large object"),
    "dblink_exec": (_W, "runs a command on another server"),
    "pg_file_write": (_W, "writes a file on the server"),
    "pg_file_rename": (_W, "renames a file on the server"),
    "pg_file_unlink": (_W, "deletes a file on the server"),
    "pg_stat_statements_reset": (_W, "resets statistics of one node"),
    # node probes
    "pg_is_in_recovery": (_N, "asks which role the node has"),
    "pg_backend_pid": (_N, "identifies a backend of one node"),
    "inet_server_addr": (_N, "identifies the node"),
    "inet_server_port": (_N, "identifies the node"),
    "pg_postmaster_start_time": (_N, "describes one node"),
    "pg_conf_load_time": (_N, "describes one node"),
    "pg_blocking_pids": (_N, "reads one node's locks"),
    "pg_safe_snapshot_blocking_pids": (_N, "reads one node's locks"),
    "pg_lock_status": (_N, "reads one node's locks"),
    "pg_last_xact_replay_timestamp": (_N, "describes one node's recovery"),
    "pg_is_wal_replay_paused": (_N, "describes one node's recovery"),
    "pg_get_wal_replay_pause_state": (_N, "describes one node's recovery"),
    "pg_current_snapshot": (_N, "reads the primary's snapshot"),
    "txid_current_snapshot": (_N, "reads the primary's snapshot"),
    "pg_walfile_name": (_N, "reads the primary's WAL position"),
    "pg_walfile_name_offset": (_N, "reads the primary's WAL position"),
    "pg_control_checkpoint": (_N, "describes one node"),
    "pg_control_recovery": (_N, "describes one node"),
    "pg_control_system": (_N, "describes one node"),
    "pg_stat_get_activity": (_N, "reads one node's activity"),
    "pg_stat_get_wal_receiver": (_N, "reads one node's replication state"),
    "pg_stat_get_wal_senders": (_N, "reads one node's replication state"),
    "pg_get_replication_slots": (_N, "reads one node's replication slots"),
}

# name prefix -> (kind, reason); "pg_current_wal_" and "pg_last_wal_" are the
# WAL position probes (pg_current_wal_lsn() fails on a standby).
WRITE_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("pg_advisory_xact_", _W, "takes an advisory lock"),
    ("pg_try_advisory_xact_", _W, "takes an advisory lock"),
    ("pg_advisory_", _S, "takes or releases a session advisory lock"),
    ("pg_try_advisory_", _S, "takes a session advisory lock"),
    ("lo_", _W, "uses a large object"),
    ("pg_stat_reset", _W, "resets statistics of one node"),
    ("pg_replication_origin_", _W, "acts on a replication origin"),
    ("pg_current_wal_", _N, "reads the primary's WAL position"),
    ("pg_last_wal_", _N, "reads a node's WAL position"),
)

# Volatile (in pg_proc) yet harmless on a replica.
READ_SAFE_VOLATILE: dict[str, str] = {
    "random": "returns a random number",
    "random_normal": "returns a random number",
    "gen_random_uuid": "returns a random UUID",
    "uuid_generate_v1": "returns a new UUID",
    "uuid_generate_v1mc": "returns a new UUID",
    "uuid_generate_v4": "returns a random UUID",
    "gen_random_bytes": "returns random bytes",
    "gen_salt": "returns a random salt",
    "normal_rand": "returns random numbers",
    "clock_timestamp": "reads the clock",
    "timeofday": "reads the clock",
    "pg_sleep": "sleeps",
    "pg_sleep_for": "sleeps",
    "pg_sleep_until": "sleeps",
    "pg_relation_size": "measures a relation",
    "pg_total_relation_size": "measures a relation",
    "pg_table_size": "measures a relation",
    "pg_indexes_size": "measures a relation",
    "pg_database_size": "measures a database",
    "pg_tablespace_size": "measures a tablespace",
    "pg_partition_tree": "reads the catalog",
    "pg_partition_ancestors": "reads the catalog",
    "pg_sequence_last_value": "reads a sequence without changing it",
    "pg_xact_commit_timestamp": "reads a commit timestamp",
    "pg_collation_actual_version": "reads the catalog",
    "pg_database_collation_actual_version": "reads the catalog",
    "pg_jit_available": "reads a setting",
    "current_query": "returns the current statement",
}

# Relations whose rows describe one node: read them on the primary.
NODE_RELATIONS: frozenset[str] = frozenset(
    {
        "pg_stat_activity",
        "pg_stat_replication",
        "pg_stat_wal_receiver",
        "pg_replication_slots",
        "pg_stat_replication_slots",
        "pg_locks",
        "pg_prepared_xacts",
        "pg_stat_ssl",
        "pg_stat_gssapi",
        "pg_stat_subscription",
        "pg_stat_wal",
        "pg_backend_memory_contexts",
        "pg_stat_progress_vacuum",
        "pg_stat_progress_analyze",
        "pg_stat_progress_create_index",
        "pg_stat_progress_cluster",
        "pg_stat_progress_basebackup",
        "pg_stat_progress_copy",
    }
)

# SHOW of these describes the node rather than a configuration.
NODE_SETTINGS: frozenset[str] = frozenset({"transaction_read_only", "in_hot_standby"})

# SQL syntax that looks like a call but is not in pg_proc.
SYNTAX_FUNCTIONS: frozenset[str] = frozenset(
    {
        "coalesce", "nullif", "greatest", "least", "grouping", "row", "array", "exists",
        "cast", "xmlconcat", "xmlelement", "xmlforest", "xmlexists", "xmlparse", "xmlpi",
        "xmlroot", "xmlserialize", "xmlagg", "xmlattributes", "xmlnamespaces", "json_object", "json_array", "json_arrayagg",
        "json_objectagg", "json", "json_scalar", "json_serialize", "is_json",
    }
)  # fmt: skip


def _curated(name: str) -> tuple[str, str] | None:
    found = WRITE_FUNCTIONS.get(name)
    if found is not None:
        return found
    for prefix, kind, reason in WRITE_PREFIXES:
        if name.startswith(prefix):
            return kind, reason
    return None


def primary_function_patterns(policy: Policy) -> list[str]:
    """SQL ``LIKE`` patterns of the functions that are not VOLATILE in ``pg_proc`` yet
    must run on the primary (curated, or the policy's ``write_functions``): a view
    calling one is such a call (``pg_current_xact_id()`` is STABLE)."""

    def like(text: str) -> str:
        return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    names = [*WRITE_FUNCTIONS, *(name.rpartition(".")[2] for name in policy.write_functions)]
    return [*map(like, names), *(like(prefix) + "%" for prefix, _, _ in WRITE_PREFIXES)]


def is_temp_schema(schema: str) -> bool:
    """Whether *schema* (as PostgreSQL resolves it) is a session's temporary schema."""
    lowered = schema.lower()
    return lowered == "pg_temp" or lowered.startswith("pg_temp_")


def relation_verdict(name: str, schema: str | None, policy: Policy) -> Verdict | None:
    """The verdict for a read of ``[schema.]name``; ``None`` when a replica may read it.

    Only the policy's ``relation_catalog`` knows such relations. An unqualified
    name matches whichever schema holds it (the search path is the session's):
    a replica is not asked to read any relation of that name.
    """
    catalog = policy.relation_catalog
    if not catalog:
        return None
    lname = name.lower()
    key = f"{schema.lower()}.{lname}" if schema else lname
    why = catalog.get(key)
    if why is None:
        return None
    shown = f"{schema}.{name}" if schema else name
    return hard(f"reads {shown}, which {why}")


def function_verdict(name: str, schema: str | None, policy: Policy) -> Verdict | None:
    """The verdict for a call of ``[schema.]name()``; ``None`` when it is replica-safe.

    ``name`` is as PostgreSQL resolves it: lower case unless it was quoted.
    """
    lname = name.lower()
    qualified = f"{schema.lower()}.{lname}" if schema else None
    shown = f"{schema}.{name}()" if schema else f"{name}()"
    if schema is not None and is_temp_schema(schema):
        return hard(f"calls {shown}, a temporary function of the session", session=True)
    writes = policy.write_functions
    if lname in writes or (qualified is not None and qualified in writes):
        return hard(f"calls {shown}, a write function of the policy")
    builtin_scope = schema is None or schema.lower() == "pg_catalog"
    if builtin_scope:
        curated = _curated(name)
        if curated is not None:
            kind, why = curated
            reason = f"calls {shown}, which {why}"
            if kind == _N:
                return soft(reason)
            return hard(reason, session=kind == _S)
    reads = policy.read_functions
    if lname in reads or (qualified is not None and qualified in reads):
        return None
    if builtin_scope and (name in READ_SAFE_VOLATILE or name in SYNTAX_FUNCTIONS):
        return None
    catalog = policy.function_catalog
    if catalog is not None:
        vol = catalog.get(qualified) if qualified is not None else None
        if vol is None and (schema is None or builtin_scope):
            vol = catalog.get(lname)
        if vol is not None:
            if vol == "v":
                return soft(f"calls {shown}, which is VOLATILE in the catalog")
            return None
    if schema is None or builtin_scope or schema.lower() == "public":
        known = BUILTIN.get(name)
        if known is not None and (builtin_scope or known[1]):
            vol, ext = known
            if vol == "v":
                origin = f" ({ext})" if ext else ""
                return soft(f"calls {shown}{origin}, a VOLATILE function")
            return None
        if builtin_scope and name in TYPES:
            # A function-style cast (regproc('now'), txid_snapshot(x)): PostgreSQL
            # casts when no function has the name; the type's input function
            # (what a cast of a literal runs) is not VOLATILE (tools/gen_builtin_functions.py).
            return None
    if policy.unknown_functions is Target.REPLICA:
        return None
    return soft(f"calls {shown}, an unknown function")
