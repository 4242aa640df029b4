"""The catalog: what the primary's own catalog tells the classifier.

- Functions: the volatility of the database's own functions, so that the
  classifier reads a STABLE function on replicas and sends a VOLATILE one
  to the primary.
- Relations: the ones a replica must not be asked to read. A standby
  refuses UNLOGGED tables and sequences ("cannot access temporary or
  unlogged relations during recovery"), so any view over one; and a view
  that calls a function that must run on the primary (``pg_current_xact_id()``,
  a VOLATILE function of the catalog) is that call, hidden behind a name.

Both are read with one query each, cheap on a schema of 10,000 tables and
views (bench: ``python -m bench.catalog``): a view's definition is
classified only when its rule calls a VOLATILE function, which the server
finds in the stored rule without decompiling it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from ..classifier import Policy, Target, classify
from ..classifier._knowledge import primary_function_patterns

# The volatility of every function outside the built-in schemas, by name and by
# schema.name; overloads fold to the least safe ("v" beats "s" beats "i").
CATALOG_QUERY = """\
SELECT name,
       CASE WHEN bool_or(v = 'v') THEN 'v' WHEN bool_or(v = 's') THEN 's' ELSE 'i' END
FROM (
    SELECT p.proname AS name, p.provolatile AS v, n.nspname AS nsp
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    UNION ALL
    SELECT n.nspname || '.' || p.proname, p.provolatile, n.nspname
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
) AS f
WHERE nsp NOT IN ('pg_catalog', 'information_schema')
GROUP BY name
"""


# Every UNLOGGED relation a query can name ("u"), and every view ("v") outside the
# built-in schemas with the relations its rule reads (pg_depend) and, when the
# rule calls (directly or through an operator) a VOLATILE function or one of
# `relations_params`' names, its definition, for the classifier to decide.
RELATIONS_QUERY = """\
SELECT c.oid, n.nspname, c.relname, 'u', NULL::oid[], NULL::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relpersistence = 'u' AND c.relkind IN ('r', 'p', 'S', 'm')
UNION ALL
SELECT c.oid, n.nspname, c.relname, 'v',
       ARRAY(
           SELECT DISTINCT d.refobjid FROM pg_depend d
           WHERE d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
             AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid
       ),
       CASE WHEN EXISTS (
           SELECT FROM regexp_matches(r.ev_action::text, ':(?:op)?funcid (\\d+)', 'g') AS m
           JOIN pg_proc p ON p.oid = m[1]::oid
           WHERE p.provolatile = 'v' OR p.proname LIKE ANY (%(functions)s)
       ) THEN pg_get_viewdef(c.oid) END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


def relations_params(policy: Policy) -> dict[str, list[str]]:
    """The parameters of `RELATIONS_QUERY` for *policy*."""
    return {"functions": primary_function_patterns(policy)}


# One row of RELATIONS_QUERY: oid, schema, name, kind, what a view reads, its definition.
RelationRow = tuple[int, str, str, str, Sequence[int] | None, str | None]


def with_catalog(
    policy: Policy,
    functions: Iterable[tuple[str, str]],
    relations: Iterable[RelationRow] = (),
) -> Policy:
    """*policy* with the catalogs that `CATALOG_QUERY` and `RELATIONS_QUERY` returned."""
    with_functions = dataclasses.replace(policy, function_catalog=dict(functions))
    unreadable = replica_unreadable(relations, with_functions)
    return dataclasses.replace(with_functions, relation_catalog=unreadable or None)


def replica_unreadable(relations: Iterable[RelationRow], policy: Policy) -> dict[str, str]:
    """``name -> why`` (and ``schema.name -> why``) for every relation of *relations*
    that a replica must not be asked to read, deciding views with *policy*."""
    rows = list(relations)
    names = {oid: f"{schema}.{name}" for oid, schema, name, *_ in rows}
    why: dict[int, str] = {}
    for oid, _, _, kind, _, definition in rows:
        if kind == "u":
            why[oid] = "is UNLOGGED: a standby cannot read it"
        elif definition is not None:
            route = classify(definition, policy)
            if route.target is Target.PRIMARY:
                why[oid] = f"is a view whose definition {route.reason}"
    # A view over such a relation is one too, however deep: until nothing changes.
    views = [(oid, refs) for oid, _, _, kind, refs, _ in rows if kind == "v" and refs]
    changed = True
    while changed:
        changed = False
        for oid, refs in views:
            if oid in why:
                continue
            hidden = next((ref for ref in refs if ref in why), None)
            if hidden is not None:
                why[oid] = f"is a view over {names[hidden]}, which {why[hidden]}"
                changed = True
    catalog: dict[str, str] = {}
    for oid, schema, name, *_ in rows:
        if oid in why:
            catalog[f"{schema}.{name}".lower()] = why[oid]
            catalog.setdefault(name.lower(), why[oid])
    return catalog
