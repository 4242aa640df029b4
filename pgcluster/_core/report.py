"""What the health core knows, in words and numbers: for logs, errors and
``get_stats()``. Pure, no I/O; formatting only, no decisions."""

from __future__ import annotations

from typing import Any

from .health import ClusterHealth
from .node_health import DOWN, UP
from .positions import format_lsn


def describe(health: ClusterHealth, now: float) -> str:
    """What was last seen of every node, for logs and ``NoPrimaryError``."""
    head = f"primary: {health.primary() or 'none usable'}"
    if health.timeline is not None:
        head += f" (timeline {health.timeline})"
    return "; ".join([head, *(_describe(health, name, now) for name in health.nodes)])


def stats(health: ClusterHealth, now: float) -> dict[str, Any]:
    """For ``get_stats()``: the primary, the changes so far by kind, and each node."""
    nodes = {}
    for name in health.nodes:
        status, reason = health.status_of(name)
        view = health.view(name)
        lag = health.lag(name)
        seen = view.seen
        nodes[name] = {
            "status": status.value,
            "reason": reason,
            "health": view.health.state.value,
            "failures": view.health.failures,
            "retry_in": max(0.0, view.health.retry_at - now) if view.health.state is DOWN else 0.0,
            "last_error": view.error or None,
            "timeline": seen.timeline if seen else None,
            "system_identifier": view.identity,
            "lsn": format_lsn(seen.lsn) if seen else None,
            "lag_bytes": lag.bytes if lag else None,
            "lag_seconds": lag.seconds if lag else None,
        }
    return {
        "primary": health.primary(),
        "timeline": health.timeline,
        "reads_on_primary": health.read_plan().on_primary,
        "changes": {kind.value: count for kind, count in health.counts().items()},
        "nodes": nodes,
    }


def _describe(health: ClusterHealth, name: str, now: float) -> str:
    status, reason = health.status_of(name)
    view = health.view(name)
    text = f"{name}: {status.value} ({reason})"
    if view.health.state is not UP:
        text += f", {view.health.failures} failures in a row"
    seen = view.seen
    if seen is None:
        return text + ", never answered a probe"
    role = "a replica" if seen.in_recovery else "a primary"
    return (
        f"{text}, last seen {now - seen.at:.1f} s ago as {role} on timeline"
        f" {seen.timeline} at {format_lsn(seen.lsn)}"
    )
