"""WAL positions, timelines and read-your-writes tokens. Pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigurationError

# -- WAL positions ------------------------------------------------------------

MAX_LSN = 2**64 - 1
MAX_TIMELINE = 2**32 - 1  # PostgreSQL's TimeLineID is a uint32; timelines start at 1

# What the server's pg_lsn input accepts: 1 to 8 hex digits, a slash, 1 to 8 hex digits.
_LSN_TEXT = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


def parse_lsn(text: str) -> int:
    """PostgreSQL's text form of a WAL position (``16/B374D848``) as a byte offset."""
    match = _LSN_TEXT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a WAL position such as '16/B374D848': {_preview(text)}")
    return int(match[1], 16) << 32 | int(match[2], 16)


def format_lsn(lsn: int) -> str:
    """A byte offset in PostgreSQL's text form, as the server prints it (``16/B374D848``)."""
    _check_lsn(lsn)
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def _check_lsn(lsn: int) -> None:
    if isinstance(lsn, bool) or not isinstance(lsn, int) or not 0 <= lsn <= MAX_LSN:
        raise ValueError(f"a WAL position is an int from 0 to 2**64 - 1, not {lsn!r}")


def _check_timeline(timeline: int) -> None:
    if isinstance(timeline, bool) or not isinstance(timeline, int):
        raise ValueError(f"a timeline is an int, not {timeline!r}")
    if not 1 <= timeline <= MAX_TIMELINE:
        raise ValueError(f"a timeline is from 1 to 2**32 - 1, not {timeline!r}")


# -- read-your-writes tokens ----------------------------------------------------
#
# "1.<lsn hex>[.<timeline hex>]": short, cookie- and URL-safe, one spelling per
# value (lowercase, no leading zeros). Tokens come back from browsers, so
# decoding trusts nothing: a forged token can only send its bearer's reads to
# the primary or to a replica older than it asked for.

TOKEN_VERSION = 1
_TOKEN = re.compile(r"1\.(0|[1-9a-f][0-9a-f]{0,15})(?:\.([1-9a-f][0-9a-f]{0,7}))?")
_TOKEN_MAX_LENGTH = 2 + 16 + 1 + 8


@dataclass(frozen=True)
class Position:
    """A WAL position a read must see: the LSN, and the timeline it belongs to if known."""

    lsn: int
    timeline: int | None = None

    def __str__(self) -> str:
        where = "" if self.timeline is None else f" on timeline {self.timeline}"
        return f"{format_lsn(self.lsn)}{where}"


def later(old: Position | None, new: Position) -> Position:
    """The position to wait for: the newer one (a newer timeline wins)."""
    if old is None or (new.timeline or 0) > (old.timeline or 0):
        return new
    if (new.timeline or 0) < (old.timeline or 0):
        return old
    return new if new.lsn >= old.lsn else old


def encode_token(lsn: int, timeline: int | None = None) -> str:
    """A read-your-writes token for *lsn* (on *timeline*), to restore with `decode_token`."""
    _check_lsn(lsn)
    if timeline is None:
        return f"{TOKEN_VERSION}.{lsn:x}"
    _check_timeline(timeline)
    return f"{TOKEN_VERSION}.{lsn:x}.{timeline:x}"


def decode_token(token: str) -> Position:
    """The position a token from `encode_token` holds; `ConfigurationError` if malformed."""
    if not isinstance(token, str) or not token:
        raise ConfigurationError(
            f"a consistency token is a non-empty string, not {_preview(token)}"
        )
    if len(token) > _TOKEN_MAX_LENGTH:  # before any parsing: untrusted input may be huge
        raise ConfigurationError(
            f"malformed consistency token ({len(token)} characters, at most"
            f" {_TOKEN_MAX_LENGTH}): {_preview(token)}"
        )
    version = token.partition(".")[0]
    if version != str(TOKEN_VERSION) and re.fullmatch("[0-9]+", version):
        raise ConfigurationError(
            f"consistency token version {version} is not supported (this pgcluster reads"
            f" version {TOKEN_VERSION}): {_preview(token)}"
        )
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise ConfigurationError(
            f"malformed consistency token (expected '1.<lsn>[.<timeline>]' in lowercase"
            f" hex, as consistency_token() makes): {_preview(token)}"
        )
    timeline = int(match[2], 16) if match[2] else None
    return Position(int(match[1], 16), timeline)


def _preview(value: object) -> str:
    """A short repr of untrusted input for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
