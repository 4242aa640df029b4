"""The function catalog: the volatility of the database's own functions, read from
the primary, so that the classifier reads a STABLE function on replicas and
sends a VOLATILE one to the primary."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..classifier import Policy

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


def with_catalog(policy: Policy, rows: Iterable[tuple[str, str]]) -> Policy:
    """*policy* with the catalog that `CATALOG_QUERY` returned."""
    return dataclasses.replace(policy, function_catalog=dict(rows))
