"""`Result`: the rows a statement returned, plus what the server said about it."""

from __future__ import annotations

from typing import Generic, TypeVar

RowT = TypeVar("RowT")


class Result(list[RowT], Generic[RowT]):
    """The rows of a statement (a plain list), with its `rowcount` and `statusmessage`.

    >>> result = pool.query("UPDATE item SET qty = 0 WHERE qty < 0")
    >>> result.rowcount, result.statusmessage
    (3, 'UPDATE 3')

    A statement that returns no rows (an UPDATE without RETURNING) gives an
    empty list; `rowcount` still says how many rows it touched.
    """

    __slots__ = ("rowcount", "statusmessage")

    def __init__(self, rows: list[RowT], rowcount: int, statusmessage: str | None) -> None:
        super().__init__(rows)
        self.rowcount = rowcount
        self.statusmessage = statusmessage

    def __repr__(self) -> str:
        return f"Result({list.__repr__(self)}, rowcount={self.rowcount}, statusmessage={self.statusmessage!r})"
