"""Finding the PostgreSQL server binaries, and the OS account that runs them.

PostgreSQL refuses to run as root, so when the tests run as root (a CI
container, typically) every server process runs as an unprivileged account.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Account", "HarnessError", "find_bindir", "server_account"]

# The programs the harness runs; a directory missing one of them is not usable.
REQUIRED_PROGRAMS = ("postgres", "initdb", "pg_basebackup")

_INSTALL_HINT = (
    "install the PostgreSQL server (Debian/Ubuntu: `apt-get install postgresql`;"
    " Red Hat/Fedora: `dnf install postgresql-server`), or set PG_BIN to the"
    " directory holding `postgres` and `initdb`"
)


class HarnessError(RuntimeError):
    """The test harness could not do what was asked (missing binaries, a server that won't start)."""


@dataclass(frozen=True)
class Account:
    """An OS account that server processes run as."""

    name: str
    uid: int
    gid: int
    home: str


def _missing(bindir: Path) -> list[str]:
    return [p for p in REQUIRED_PROGRAMS if not os.access(bindir / p, os.X_OK)]


def _version_key(path: Path, pattern: str) -> tuple[int, ...]:
    match = re.fullmatch(pattern, path.name)
    return tuple(int(n) for n in match.group(1).split(".")) if match else ()


def _newest(parent: Path, glob: str, pattern: str, sub: str) -> list[Path]:
    """Versioned install dirs under *parent*, newest first (so ``16`` beats ``9.6``)."""
    found = [p for p in parent.glob(glob) if _version_key(p, pattern)]
    found.sort(key=lambda p: _version_key(p, pattern), reverse=True)
    return [p / sub for p in found]


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out else None


def find_bindir(env: Mapping[str, str] | None = None) -> Path:
    """Return the directory holding the PostgreSQL server binaries.

    Looked for in order: ``$PG_BIN``; ``pg_config --bindir``; the newest
    ``/usr/lib/postgresql/<N>/bin`` (Debian); the newest ``/usr/pgsql-<N>/bin``
    (Red Hat). Raise `HarnessError` saying how to fix it when none is usable.
    """
    env = os.environ if env is None else env
    explicit = env.get("PG_BIN")
    if explicit:
        # An explicit choice that is wrong must fail, not fall back silently.
        missing = _missing(Path(explicit))
        if missing:
            raise HarnessError(
                f"PG_BIN={explicit} does not contain {', '.join(missing)}:"
                f" point PG_BIN at PostgreSQL's bin directory, or {_INSTALL_HINT}"
            )
        return Path(explicit)

    candidates: list[Path] = []
    from_pg_config = _pg_config_bindir()
    if from_pg_config is not None:
        candidates.append(from_pg_config)
    candidates += _newest(Path("/usr/lib/postgresql"), "*", r"(\d+(?:\.\d+)?)", "bin")
    candidates += _newest(Path("/usr"), "pgsql-*", r"pgsql-(\d+(?:\.\d+)?)", "bin")
    for bindir in candidates:
        if not _missing(bindir):
            return bindir
    looked = ", ".join(str(c) for c in candidates) or "nowhere (no pg_config on PATH)"
    raise HarnessError(
        f"PostgreSQL server binaries ({', '.join(REQUIRED_PROGRAMS)}) not found"
        f" (looked in: {looked}): {_INSTALL_HINT}"
    )


def server_account(env: Mapping[str, str] | None = None) -> Account | None:
    """The account to run servers as, or None to run them as the current user.

    Only root needs another account: ``$PGCLUSTER_PG_USER`` if set, else ``postgres``.
    """
    if os.geteuid() != 0:
        return None
    env = os.environ if env is None else env
    name = env.get("PGCLUSTER_PG_USER") or "postgres"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise HarnessError(
            f"running as root, and PostgreSQL refuses to run as root, but there is no"
            f" OS user {name!r} to run it as: create one (`useradd --system postgres`)"
            f" or set PGCLUSTER_PG_USER to an existing unprivileged user"
        ) from None
    if entry.pw_uid == 0:
        raise HarnessError(
            f"PGCLUSTER_PG_USER={name} is root (uid 0), and PostgreSQL refuses to run"
            " as root: name an unprivileged user"
        )
    return Account(name, entry.pw_uid, entry.pw_gid, entry.pw_dir)
