"""pgpool-II in front of a `LocalCluster`: installed if missing, configured, started, stopped.

pgpool-II (Debian's ``pgpool2``) is the proxy pgcluster is compared with: the
same read/write split, done by a separate process on the way to the servers.
It runs in streaming replication mode with load balancing, every file in a
temporary directory, as the unprivileged account that runs the servers when
the bench runs as root (pgpool, like PostgreSQL, is not meant to run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

from pgcluster.testing import LocalNode
from pgcluster.testing._binaries import server_account

HOST = "127.0.0.1"
_CANDIDATES = ("/usr/sbin/pgpool", "/usr/bin/pgpool")


class PgpoolError(RuntimeError):
    """pgpool-II is missing and cannot be installed, or does not start."""


def find_pgpool() -> str | None:
    """The pgpool executable, or None when it is not installed."""
    found = shutil.which("pgpool")
    if found:
        return found
    return next((p for p in _CANDIDATES if os.access(p, os.X_OK)), None)


def ensure_installed() -> str:
    """The pgpool executable, installing Debian's ``pgpool2`` with apt-get if it is missing.

    Raise `PgpoolError` saying what to do when it is missing and this process
    cannot install it (not root, or no apt-get).
    """
    found = find_pgpool()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PgpoolError(
            "pgpool-II is not installed and this process cannot install it (needs root and"
            " apt-get): run `sudo apt-get install pgpool2`, or pass --no-pgpool"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "pgpool2"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:  # maybe a stale package list: refresh it once
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    found = find_pgpool()
    if found is None:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        raise PgpoolError(f"`apt-get install pgpool2` did not give a pgpool executable:\n{tail}")
    return found


def version(executable: str) -> str:
    """``pgpool --version``'s line, e.g. ``pgpool-II version 4.3.5 (tamahomeboshi)``."""
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def config(
    backends: Sequence[LocalNode], *, port: int, pcp_port: int, run_dir: Path, children: int
) -> str:
    """pgpool.conf for *backends* (the primary first), balancing reads over the replicas only.

    The primary's weight is 0 so that reads go where pgcluster sends them
    (the replicas): only the path differs. Reads are balanced per session,
    pgpool's default and its cheapest mode.
    """
    user = "postgres"  # LocalCluster's superuser; every node trusts local connections
    settings: dict[str, object] = {
        "backend_clustering_mode": "streaming_replication",
        "listen_addresses": HOST,
        "port": port,
        "pcp_listen_addresses": HOST,
        "pcp_port": pcp_port,
        "socket_dir": str(run_dir),
        "pcp_socket_dir": str(run_dir),
        "wd_ipc_socket_dir": str(run_dir),
        "pid_file_name": str(run_dir / "pgpool.pid"),
        "logdir": str(run_dir),
        "memqcache_oiddir": str(run_dir / "oiddir"),
        "enable_pool_hba": False,
        "pool_passwd": "",
        "num_init_children": children,
        "max_pool": 1,
        "connection_cache": True,
        "load_balance_mode": True,
        "statement_level_load_balance": False,
        "sr_check_period": 1,
        "sr_check_user": user,
        "sr_check_database": "postgres",
        "health_check_period": 1,
        "health_check_user": user,
        "health_check_database": "postgres",
        "failover_on_backend_error": False,
        "use_watchdog": False,
        "log_destination": "stderr",
        "log_min_messages": "warning",
    }
    for i, node in enumerate(backends):
        settings[f"backend_hostname{i}"] = node.host
        settings[f"backend_port{i}"] = node.port
        settings[f"backend_weight{i}"] = 0 if i == 0 else 1
        settings[f"backend_flag{i}"] = "DISALLOW_TO_FAILOVER"
        settings[f"backend_application_name{i}"] = node.name
    return "".join(f"{key} = {_value(value)}\n" for key, value in settings.items())


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class Pgpool:
    """One pgpool-II process over *backends* (the primary first), on a free port.

    ``with Pgpool(nodes) as pgpool: psycopg.connect(pgpool.dsn)``; `start()`
    returns once every backend shows up in ``SHOW pool_nodes``, within
    *ready_timeout* seconds.
    """

    def __init__(
        self, backends: Sequence[LocalNode], *, children: int = 12, ready_timeout: float = 30.0
    ) -> None:
        self.backends = list(backends)
        self.children = children
        self.ready_timeout = ready_timeout
        self.port = 0
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def dsn(self) -> str:
        return f"host={HOST} port={self.port} user=postgres dbname=postgres"

    def start(self) -> None:
        executable = ensure_installed()
        account = server_account()
        self._dir = Path(tempfile.mkdtemp(prefix="pgcluster-pgpool-"))
        (self._dir / "oiddir").mkdir()
        self.port = _free_port()
        files = {
            "pgpool.conf": config(
                self.backends,
                port=self.port,
                pcp_port=_free_port(),
                run_dir=self._dir,
                children=self.children,
            ),
            "pcp.conf": "",
            "pool_hba.conf": "host all all 127.0.0.1/32 trust\n",
        }
        for name, text in files.items():
            (self._dir / name).write_text(text)
        user: dict[str, Any] = {}
        if account is not None:
            for path in [self._dir, *self._dir.iterdir()]:
                os.chown(path, account.uid, account.gid)
            user = {"user": account.uid, "group": account.gid, "extra_groups": []}
        log = open(self._dir / "pgpool.log", "ab")  # noqa: SIM115 (kept by the child)
        with log:
            self._proc = subprocess.Popen(
                [
                    *(executable, "-n", "-D"),  # foreground, discard any old node status
                    *("-f", str(self._dir / "pgpool.conf")),
                    *("-F", str(self._dir / "pcp.conf")),
                    *("-a", str(self._dir / "pool_hba.conf")),
                ],
                cwd=self._dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its children share its process group: stop them all
                **user,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise PgpoolError(f"pgpool exited while starting:\n{self.log_tail()}")
            try:
                nodes = self.pool_nodes()
                if len(nodes) == len(self.backends) and all(
                    n["status"] in ("up", "waiting") for n in nodes
                ):
                    return
                last = f"pool_nodes: {[(n['node_id'], n['status']) for n in nodes]}"
            except psycopg.Error as ex:
                last = str(ex).strip()
            time.sleep(0.1)
        raise PgpoolError(
            f"pgpool not ready after {self.ready_timeout:g} s ({last}):\n{self.log_tail()}"
        )

    def pool_nodes(self) -> list[dict[str, Any]]:
        """``SHOW pool_nodes``: each backend's status, role and ``select_cnt``."""
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=2) as conn:
            cur = conn.execute("SHOW pool_nodes")
            names = [c.name for c in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def log_tail(self, lines: int = 20) -> str:
        if self._dir is None:
            return "(no log)"
        try:
            text = (self._dir / "pgpool.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Fast shutdown (SIGINT), then SIGKILL whatever is left; remove the directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Pgpool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
