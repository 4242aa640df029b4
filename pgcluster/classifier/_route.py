"""The classifier's public value types: `Target`, `Statement`, `Route` and `Policy`."""

from __future__ import annotations

import enum
import threading
import types
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import ConfigurationError

__all__ = ["Policy", "Route", "Statement", "Target"]


class Target(str, enum.Enum):
    """Where a statement must run."""

    PRIMARY = "primary"
    REPLICA = "replica"

    def __str__(self) -> str:
        return self.value


class Statement(str, enum.Enum):
    """What kind of statement a SQL string is, for the callers that need one kind.

    - ``QUERY``: exactly one statement that ``DECLARE ... CURSOR FOR`` accepts,
      so a server-side cursor can stream it: SELECT, VALUES, TABLE or WITH ...
      SELECT, without ``INTO`` and without a data-modifying CTE (``FOR UPDATE``
      is accepted);
    - ``TRANSACTION``: transaction control: BEGIN, START TRANSACTION, COMMIT,
      END, ROLLBACK [TO SAVEPOINT], ABORT, SAVEPOINT, RELEASE, PREPARE
      TRANSACTION (not COMMIT / ROLLBACK PREPARED, which act on a prepared
      transaction and cannot run inside a transaction block);
    - ``COPY``: a COPY with the client (``FROM STDIN``, ``TO STDOUT``), which
      needs psycopg's ``cursor.copy()``; a COPY with a server file or PROGRAM
      is ``OTHER``;
    - ``OTHER``: everything else, EXPLAIN included.

    A string of several statements is ``TRANSACTION`` if any of them is, else
    ``COPY`` if any is, else ``OTHER``: never ``QUERY``.
    """

    QUERY = "query"
    TRANSACTION = "transaction"
    COPY = "copy"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Route:
    """The classifier's decision for one SQL string.

    ``reason`` is a short human sentence naming the rule that decided, and
    ``session`` is true when the statement reads or changes state that lives
    on one connection (SET, PREPARE, cursors, transaction control, temporary
    tables, ``set_config()``, ``currval()``, ...). ``statement`` says what
    kind of statement the string is (see `Statement`); a hint comment does not
    change it.

    ``movable`` is true when a replica may run the statement if asked to (a
    ``/* pgcluster:replica */`` hint, ``target="replica"``): a read, or a
    statement that only an unknown or volatile function or a node probe keeps
    on the primary; never one that writes, locks, or reads or changes session
    state. The classifier decides it once, with the route; a route made by
    hand is not movable unless it says so.
    """

    target: Target
    reason: str
    session: bool = False
    statement: Statement = Statement.OTHER
    movable: bool = False


_RANK = {"i": 0, "s": 1, "v": 2}
_VOLATILITIES = frozenset(_RANK)


def _names(value: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(value, str):
        raise ConfigurationError(f"Policy.{what} must be a collection of names, not a string")
    out = set()
    for name in value:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"Policy.{what}: {name!r} is not a function name")
        out.add(name.strip().lower())
    return frozenset(out)


@dataclass(frozen=True)
class Policy:
    """Site-specific knowledge the classifier cannot guess.

    - ``write_functions``: functions that must run on the primary (names,
      optionally schema-qualified, case-insensitive);
    - ``read_functions``: functions known to be safe on a replica even though
      they are volatile or unknown (the curated write/node functions such as
      ``nextval`` cannot be declared read-safe);
    - ``unknown_functions``: where a statement calling a function nobody knows
      goes (default: the primary);
    - ``function_catalog``: ``name -> provolatile`` ("v", "s" or "i") as read from
      ``pg_proc`` (keys may be ``name`` or ``schema.name``); STABLE and IMMUTABLE
      functions in it are replica-safe, VOLATILE ones go to the primary;
      ``None`` means the built-in knowledge only;
    - ``relation_catalog``: ``name -> why`` for the relations a replica must not
      be asked to read (keys ``name`` or ``schema.name``; *why* completes "reads
      x, which ..."): UNLOGGED tables and sequences, which a standby cannot
      read, and views over them or calling functions that must run on the
      primary; a cluster fills it at open (``load_catalog``);
    - ``cache_size``: how many classified statements the policy remembers (0: none);
    - ``max_parse_size``: statements longer than this many characters are not
      parsed but classified by a linear token scan (and never cached).

    Each policy owns its LRU cache, so a policy is cheap to use as the key of a
    classification and two policies never see each other's results.
    """

    write_functions: Iterable[str] = frozenset()
    read_functions: Iterable[str] = frozenset()
    unknown_functions: Target = Target.PRIMARY
    cache_size: int = 4096
    function_catalog: Mapping[str, str] | None = field(default=None, hash=False)
    max_parse_size: int = 65536
    relation_catalog: Mapping[str, str] | None = field(default=None, hash=False)
    # Keyed by the exact text, or by (shape,) for a plain SELECT (_classify.shape_key).
    _cache: OrderedDict[str | tuple[str], Route] = field(
        default_factory=OrderedDict, init=False, repr=False, compare=False, hash=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "write_functions", _names(self.write_functions, "write_functions"))
        setattr_(self, "read_functions", _names(self.read_functions, "read_functions"))
        try:
            setattr_(self, "unknown_functions", Target(self.unknown_functions))
        except ValueError:
            raise ConfigurationError(
                f"Policy.unknown_functions must be 'primary' or 'replica', "
                f"not {self.unknown_functions!r}"
            ) from None
        for name in ("cache_size", "max_parse_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigurationError(f"Policy.{name} must be an int >= 0, not {value!r}")
        if self.function_catalog is not None:
            catalog: dict[str, str] = {}
            for key, vol in self.function_catalog.items():
                if not isinstance(key, str) or vol not in _VOLATILITIES:
                    raise ConfigurationError(
                        f"Policy.function_catalog: {key!r} -> {vol!r} is not name -> 'v'|'s'|'i'"
                    )
                key = key.strip().lower()
                old = catalog.get(key)
                # Overloads with different volatilities: keep the least safe.
                if old is None or _RANK[vol] > _RANK[old]:
                    catalog[key] = vol
            setattr_(self, "function_catalog", types.MappingProxyType(catalog))
        if self.relation_catalog is not None:
            relations: dict[str, str] = {}
            for key, why in self.relation_catalog.items():
                if not isinstance(key, str) or not key.strip() or not isinstance(why, str):
                    raise ConfigurationError(
                        f"Policy.relation_catalog: {key!r} -> {why!r} is not name -> reason"
                    )
                relations[key.strip().lower()] = why
            setattr_(self, "relation_catalog", types.MappingProxyType(relations))

    def clear_cache(self) -> None:
        """Forget every cached classification."""
        with self._lock:
            self._cache.clear()
