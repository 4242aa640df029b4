"""The statement classifier: does a SQL string go to the primary or to a replica?

    >>> from pgcluster.classifier import classify
    >>> classify("SELECT nextval('s')")
    Route(target=<Target.PRIMARY: 'primary'>, reason='calls nextval(), which advances a sequence', session=False, statement=<Statement.QUERY: 'query'>, movable=False)

Layout:

- `_route`: `Target`, `Statement`, `Route`, `Policy` (which owns the LRU cache);
- `_query`: `check_query()`, the one check of what callers pass as a statement;
- `_classify`: `classify()`: input checks, cache, hints, parse or scan;
- `_verdict`: the internal `Verdict` and how verdicts combine, for the parse
  and the scan alike;
- `_analyze`: the leading keyword from sqlglot's tokens, then SHOW / EXPLAIN /
  COPY by their tokens and reads by their parsed tree;
- `_fast`: the plain ``SELECT cols FROM t WHERE col = %s ...`` of ORMs, read from
  their tokens with no parse, where the parse would say the same (else it declines);
- `_rules`: the table of statements decided by their leading keyword;
- `_knowledge`: what is known of functions and relations (curated lists);
- `_builtin_functions`: volatility of PostgreSQL's functions, generated from
  ``pg_proc`` by ``tools/gen_builtin_functions.py``;
- `_scan`: the linear token scan for statements too large to parse;
- `_sqlglot`: the only module that talks to sqlglot (and silences its logger);
  the same with or without sqlglotc, its compiled modules
  (tests/classifier/test_sqlglotc.py).

Imports go one way, no cycle: `_classify` -> `_analyze` -> `_fast`, `_scan` ->
`_rules`, `_knowledge` -> `_verdict` -> `_route` (tests/classifier/test_route_movable.py).
"""

from __future__ import annotations

from ._classify import classify
from ._route import Policy, Route, Statement, Target

__all__ = ["Policy", "Route", "Statement", "Target", "classify"]
