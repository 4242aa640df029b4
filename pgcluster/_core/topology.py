"""Which node is the primary and which are replicas: from the configuration and the probes.

Pure functions, no I/O. The shells probe each node with ``pg_is_in_recovery()``
and hand the answers here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..errors import (
    ConfigurationError,
    RoleMismatchError,
)
from . import conninfo as _conninfo

logger = logging.getLogger("pgcluster")

DATABASE_REPLICA_URLS = "DATABASE_REPLICA_URLS"


@dataclass(frozen=True)
class NodeSpec:
    """A configured node: its name (for stats and logs) and its connection string."""

    name: str
    conninfo: str

    def __repr__(self) -> str:
        return f"NodeSpec({self.name!r}, {_conninfo.redact(self.conninfo)!r})"


@dataclass(frozen=True)
class Layout:
    """The configured cluster: a declared primary and replicas, or hosts to discover."""

    primary: NodeSpec | None  # None: probe the roles of `replicas` and pick the primary
    replicas: tuple[NodeSpec, ...]

    @property
    def nodes(self) -> tuple[NodeSpec, ...]:
        return ((self.primary,) if self.primary else ()) + self.replicas


def layout(
    primary: str | None,
    replicas: Sequence[str] | None,
    env: Mapping[str, str] | None = None,
) -> Layout:
    """Resolve the constructor's arguments (and the environment) into a `Layout`.

    - *primary* defaults to ``$DATABASE_URL``; *replicas*, when *primary* is
      not given either, to the comma separated ``$DATABASE_REPLICA_URLS``
      (none if unset): an explicit primary never picks up replicas from the
      environment, which may belong to another cluster;
    - the same server (host, port, database) given twice is refused;
    - a multi-host *primary* (``postgresql://h1:5432,h2:5432/db``) given with no
      replicas is a set of hosts whose roles are probed when the cluster opens.
    """
    env = os.environ if env is None else env
    explicit = primary is not None
    primary = _conninfo.resolve(primary, env)
    if replicas is None and explicit:
        replicas = []
    elif replicas is None:
        replicas = [url.strip() for url in env.get(DATABASE_REPLICA_URLS, "").split(",")]
        replicas = [url for url in replicas if url]
    elif isinstance(replicas, (str, bytes)):
        raise ConfigurationError(
            "replicas must be a list of connection strings, not a single string"
        )
    for replica in replicas:
        if not isinstance(replica, str):
            raise ConfigurationError(
                f"each replica must be a connection string, not {type(replica).__name__}"
            )
    replicas = [_conninfo.resolve(r, env) for r in replicas]

    hosts = split_hosts(primary)
    if len(hosts) > 1:
        if replicas:
            raise ConfigurationError(
                "a multi-host primary URL lists the whole cluster: give no replicas= with it"
            )
        return Layout(None, tuple(_named(hosts)))
    named = _named([primary, *replicas])
    return Layout(named[0], tuple(named[1:]))


def split_hosts(conninfo: str) -> list[str]:
    """One connection string per host of a multi-host connection string.

    Hosts may be listed in ``host``, in ``hostaddr`` or in both (then one for
    one, as libpq requires); ``port`` gives one port per host or one for all.
    """
    params = _conninfo.parse(conninfo)
    hosts = params["host"].split(",") if "host" in params else None
    addrs = params["hostaddr"].split(",") if "hostaddr" in params else None
    if hosts and addrs and len(hosts) != len(addrs):
        raise ConfigurationError(
            f"the connection string lists {len(hosts)} hosts but {len(addrs)} hostaddrs"
        )
    count = len(hosts or addrs or [""])
    if count < 2:
        return [conninfo]
    ports = params.get("port", "").split(",")
    if len(ports) == 1:
        ports = ports * count
    if len(ports) != count:
        raise ConfigurationError(
            f"the connection string lists {count} hosts but {len(ports)} ports"
        )
    base = {k: v for k, v in conninfo_to_dict(conninfo).items() if k != "target_session_attrs"}
    out = []
    for i in range(count):
        one = {**base, "port": ports[i] or None}
        if hosts:
            one["host"] = hosts[i]
        if addrs:
            one["hostaddr"] = addrs[i]
        out.append(make_conninfo("", **one))
    return out


def _named(conninfos: Sequence[str]) -> list[NodeSpec]:
    """Name each node ``host:port/db``; the same server twice is refused (two "nodes"
    that are one server would be read from as a replica and written to as a primary)."""
    specs: dict[str, NodeSpec] = {}
    for conninfo in conninfos:
        name = _conninfo.describe(conninfo)
        if name in specs:
            raise ConfigurationError(
                f"the server {name!r} is given twice: list each node once"
                " (the primary's own DSN given as a replica?)"
            )
        specs[name] = NodeSpec(name, conninfo)
    return list(specs.values())


@dataclass(frozen=True)
class Seen:
    """What a probe at open said of a node's role."""

    in_recovery: bool
    timeline: int | None


def assign_roles(
    config: Layout, seen: Mapping[str, Seen | None]
) -> tuple[NodeSpec, list[NodeSpec]]:
    """The node holding the primary's seat, and the others, from what the probes saw.

    Configured roles are hints: after a failover yesterday's ``primary=`` is
    a replica, and the application must still start. The seat goes to the
    node that answers as a primary, the newest timeline first (an old primary
    that came back is fenced by the health checks), the configured primary
    breaking ties. With none answering as one, the configured primary (or
    the first host) keeps the seat: reads go on, writes wait for a promotion.
    *seen* maps node names to a probe's answer, None when it was unreachable.
    """
    for name, answer in seen.items():
        if answer is None:
            logger.warning("node %r could not be reached to check its role", name)
    nodes = list(config.nodes)
    claims = [
        (answer.timeline or 0, -index, node)
        for index, node in enumerate(nodes)
        if (answer := seen.get(node.name)) is not None and not answer.in_recovery
    ]
    if claims:
        primary = max(claims, key=lambda claim: claim[:2])[2]
        if len(claims) > 1:
            logger.error(
                "%s answer as primaries; %r, on the newest timeline, takes writes and the"
                " others are fenced",
                ", ".join(repr(node.name) for _, _, node in claims),
                primary.name,
            )
    else:
        primary = nodes[0]
        logger.warning(
            "no node answers as the primary (%s): reads go to the replicas, writes wait"
            " up to failover_timeout for one to be promoted",
            _describe_probes(seen),
        )
    if config.primary is not None and primary is not config.primary and claims:
        logger.warning(
            "the configured primary %r is not the primary: %r is (the roles changed since"
            " the configuration was written, a failover?)",
            config.primary.name,
            primary.name,
        )
    return primary, [node for node in nodes if node is not primary]


def cluster_identity(identities: Mapping[str, int | None], primary: str) -> int | None:
    """The cluster's ``system_identifier``: the primary's (else the first known), or
    `RoleMismatchError` when a node reports another one (it belongs to another cluster)."""
    known = {name: ident for name, ident in identities.items() if ident is not None}
    if not known:
        return None
    ours = known.get(primary, next(iter(known.values())))
    owner = primary if primary in known else next(iter(known))
    for name, ident in known.items():
        if ident != ours:
            raise RoleMismatchError(
                f"{name!r} belongs to another cluster: its system_identifier is {ident},"
                f" {owner!r}'s is {ours} (a replica DSN of another database cluster, or"
                " $DATABASE_REPLICA_URLS of another application?)"
            )
    return ours


def _describe_probes(seen: Mapping[str, Seen | None]) -> str:
    def word(answer: Seen | None) -> str:
        if answer is None:
            return "unreachable"
        return "standby" if answer.in_recovery else "primary"

    return ", ".join(f"{name}: {word(answer)}" for name, answer in seen.items())
