"""pgcluster: one pool's API over a PostgreSQL primary and its read replicas."""

# No `from __future__ import annotations` here: it would make `annotations` a
# name of the package (tests/docs/test_docs.py checks the public names).
from . import errors
from ._async.cluster import AsyncCluster
from ._async.pool import AsyncPool
from ._async.session import AsyncSession
from ._core.health import (
    Change,
    ChangeKind,
    Status,
)
from ._core.result import Result
from ._sync.cluster import Cluster
from ._sync.pool import Pool
from ._sync.session import Session
from .classifier import Policy, Route, Target, classify

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncCluster",
    "AsyncPool",
    "AsyncSession",
    "Change",
    "ChangeKind",
    "Cluster",
    "Policy",
    "Pool",
    "Result",
    "Route",
    "Session",
    "Status",
    "Target",
    "__version__",
    "classify",
    "errors",
]
