"""pgcluster: one pool's API over a PostgreSQL primary and its read replicas."""

from __future__ import annotations

from . import errors

__version__ = "0.1.0.dev0"

__all__ = ["__version__", "errors"]
