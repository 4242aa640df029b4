"""Connection strings: where they come from, checking them, showing them safely.

Pure functions, no I/O. Everything that prints a connection string (a repr,
a log line, an error message) goes through `redact()`, so a password can
never reach the user's logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..errors import ConfigurationError

DATABASE_URL = "DATABASE_URL"

# Keys that may hold a secret; their values are never shown.
_SECRET_KEYS = frozenset({"password", "sslpassword", "sslkey"})


def resolve(conninfo: str | None, env: Mapping[str, str] | None = None) -> str:
    """Return the connection string to use: *conninfo*, else ``$DATABASE_URL``.

    Raise `ConfigurationError` when neither is given, when the string is
    empty (libpq would silently use its defaults), or when it is malformed. The error never quotes the string itself (it may hold a password).
    """
    if conninfo is None:
        conninfo = (os.environ if env is None else env).get(DATABASE_URL) or None
        if conninfo is None:
            raise ConfigurationError(
                "no connection string given, and the DATABASE_URL environment variable"
                " is not set (e.g. DATABASE_URL=postgresql://user@host:5432/dbname)"
            )
    if not isinstance(conninfo, str):
        raise ConfigurationError(
            f"conninfo must be a str such as 'postgresql://user@host/db',"
            f" not {type(conninfo).__name__}"
        )
    if not conninfo.strip():
        # libpq would take "" as "all defaults" (a local socket, $PGHOST, ...): almost
        # always a variable left empty by mistake, so it is not accepted silently.
        raise ConfigurationError(
            "empty connection string: give the server's, e.g. 'postgresql://user@host:5432/db'"
            " (or None to use $DATABASE_URL); for libpq's defaults and PG* environment"
            " variables, name one parameter at least, e.g. 'dbname=app'"
        )
    parse(conninfo)
    return conninfo


def parse(conninfo: str) -> dict[str, str]:
    """Parse *conninfo* with libpq's rules; a malformed one raises `ConfigurationError`."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as ex:
        # libpq's message may quote the string, password included: scrub it.
        raise ConfigurationError(
            f"malformed connection string: {_scrub(str(ex), conninfo)}"
        ) from None
    return {k: str(v) for k, v in params.items() if v is not None}


def redact(conninfo: str) -> str:
    """Return *conninfo* as a keyword string with every secret replaced by ``***``."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<malformed connection string>"
    shown = {k: ("***" if k in _SECRET_KEYS else v) for k, v in params.items()}
    return make_conninfo("", **shown)


def describe(conninfo: str) -> str:
    """A short human name for a server: ``host:port/dbname`` (never a secret)."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<malformed connection string>"
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = params.get("port")
    dbname = params.get("dbname")
    name = f"{host}:{port}" if port else host
    return f"{name}/{dbname}" if dbname else name


def _scrub(message: str, conninfo: str) -> str:
    """Remove from *message* any fragment of *conninfo* that could hold a secret."""
    if not conninfo:
        return message
    return message.replace(conninfo, "<connection string>")
