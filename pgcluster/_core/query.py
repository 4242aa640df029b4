"""Checking what callers pass as a statement, before any connection is taken.

The check lives with the classifier, which needs it too (one rule, one place).
"""

from __future__ import annotations

from ..classifier._query import Query, check_query

__all__ = ["Query", "check_query"]
