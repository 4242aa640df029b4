"""The internal verdict on one statement, and how verdicts combine.

Both ways of classifying build their verdicts from here: the parse
(`_analyze`) and the linear token scan (`_scan`), which the parse falls back
to. Neither imports the other's rules for combining them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ._route import Statement


class EmptyStatement(Exception):
    """The string holds no statement (only whitespace, comments or semicolons)."""


class Verdict(NamedTuple):
    """The internal result for one statement, before hints and caching.

    ``hard`` is true for a statement that writes, locks or needs its own
    connection: a ``/* pgcluster:replica */`` hint cannot move it. A "soft"
    primary (an unknown or volatile function, a node probe) can be moved.
    """

    primary: bool
    reason: str
    session: bool = False
    hard: bool = False
    unknown: bool = False  # not recognised or not parsed
    statement: Statement = Statement.OTHER


def read(reason: str) -> Verdict:
    return Verdict(False, reason)


def soft(reason: str, session: bool = False) -> Verdict:
    return Verdict(True, reason, session, False)


def hard(reason: str, session: bool = False) -> Verdict:
    return Verdict(True, reason, session, True)


def unknown(reason: str) -> Verdict:
    return hard(reason)._replace(unknown=True)


def combine(verdicts: Sequence[Verdict], multi: bool = False) -> Verdict:
    """Several verdicts into one: the primary if any needs it, hard before soft."""
    session = any(v.session for v in verdicts)
    first = next((v for v in verdicts if v.hard), None) or next(
        (v for v in verdicts if v.primary), None
    )
    if first is None:
        return read("multi-statement string of reads only" if multi else verdicts[0].reason)
    reason = f"multi-statement string: {first.reason}" if multi else first.reason
    return Verdict(True, reason, session, first.hard, first.unknown)


# A string of several statements is the first of these that one of them is, else
# OTHER; never QUERY, as a cursor streams one statement.
_MULTI_KINDS = (Statement.TRANSACTION, Statement.COPY)


def combine_statements(verdicts: Sequence[Verdict]) -> Verdict:
    """The verdict of a whole string from those of its statements."""
    if len(verdicts) == 1:
        return verdicts[0]
    kinds = {v.statement for v in verdicts}
    kind = next((k for k in _MULTI_KINDS if k in kinds), Statement.OTHER)
    return combine(verdicts, multi=True)._replace(statement=kind)
