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

from . import _conninfo
from .errors import ConfigurationError, RoleMismatchError

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

    - *primary* defaults to ``$DATABASE_URL``; *replicas* to the comma separated
      ``$DATABASE_REPLICA_URLS`` (none if unset);
    - a multi-host *primary* (``postgresql://h1:5432,h2:5432/db``) given with no
      replicas is a set of hosts whose roles are probed when the cluster opens.
    """
    env = os.environ if env is None else env
    primary = _conninfo.resolve(primary, env)
    if replicas is None:
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
    """Name each node ``host:port/db``; a name seen twice gets ``#2``, ``#3``..."""
    seen: dict[str, int] = {}
    specs = []
    for conninfo in conninfos:
        name = _conninfo.describe(conninfo)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}#{seen[name]}"
        specs.append(NodeSpec(name, conninfo))
    return specs


def assign_roles(
    config: Layout, in_recovery: Mapping[str, bool | None]
) -> tuple[NodeSpec, list[NodeSpec]]:
    """The primary and the replicas, given each node's ``pg_is_in_recovery()``.

    *in_recovery* maps node names to the probe's answer, None when the node
    could not be reached. Roles that contradict the configuration raise
    `RoleMismatchError`; an unreachable node keeps its configured role (the
    health checks deal with it), and is logged.
    """
    for name, answer in in_recovery.items():
        if answer is None:
            logger.warning("node %r could not be reached to check its role", name)

    if config.primary is None:  # discover
        primaries = [n for n in config.replicas if in_recovery.get(n.name) is False]
        if len(primaries) != 1:
            found = ", ".join(n.name for n in primaries) or "none"
            raise RoleMismatchError(
                f"a multi-host URL needs exactly one reachable primary among its hosts;"
                f" found {found} ({_describe_probes(in_recovery)})"
            )
        return primaries[0], [n for n in config.replicas if n is not primaries[0]]

    if in_recovery.get(config.primary.name) is True:
        raise RoleMismatchError(
            f"the primary {config.primary.name!r} is a standby (in recovery): check the"
            " primary= connection string, or pass every host in one multi-host URL to"
            " let the cluster find the primary"
        )
    for node in config.replicas:
        if in_recovery.get(node.name) is False:
            raise RoleMismatchError(
                f"the replica {node.name!r} is not in recovery: it is a primary (the"
                " primary's own DSN given as a replica?); writes sent there would be lost"
                " to the other replicas"
            )
    return config.primary, list(config.replicas)


def _describe_probes(in_recovery: Mapping[str, bool | None]) -> str:
    words = {True: "standby", False: "primary", None: "unreachable"}
    return ", ".join(f"{name}: {words[answer]}" for name, answer in in_recovery.items())
