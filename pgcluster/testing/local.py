"""A real primary and streaming replicas, started from the server binaries on this machine.

Each server is a ``postgres`` process started directly (not through
``pg_ctl``), leading its own process group, so the harness knows its pid and
can signal the whole group: stop it, kill it (a crashed machine), pause it
(a hung server), resume it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ._binaries import Account, HarnessError, find_bindir, server_account
from ._ports import free_port
from .nodes import LOG_TAIL, SUPERUSER, NodeGroup, SqlNode, StopMode, deadline_loop, tail

__all__ = ["LocalCluster", "LocalNode", "StopMode", "stop_detached"]

_STOP_SIGNALS: dict[str, signal.Signals] = {
    "smart": signal.SIGTERM,
    "fast": signal.SIGINT,
    "immediate": signal.SIGQUIT,
}

HOST = "127.0.0.1"
# Written in every LocalCluster's directory: `stop_detached` removes only directories holding it.
MARKER = "pgcluster-local-cluster"
# The postmasters that `LocalCluster.detach` left running, referenced for as long as
# this process lives: a Popen collected while its process runs is a ResourceWarning.
# `stop_detached` reaps the ones it stops.
_DETACHED: dict[int, subprocess.Popen[bytes]] = {}

# Fast and throwaway, but keeping synchronous_commit on: fsync=off survives a
# process kill (the OS keeps written data), synchronous_commit=off would lose
# commits already acknowledged, and failover tests count acknowledged writes.
DEFAULT_SETTINGS: dict[str, str] = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "max_connections": "100",
    "shared_buffers": "16MB",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "on",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "wal_keep_size": "256MB",  # replicas never fall behind what the primary keeps
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    # A standby whose primary went away retries every 5 s by default: too slow for tests.
    "wal_retrieve_retry_interval": "100ms",
    # DSM files live in the data directory, so a killed server leaks nothing in /dev/shm.
    "dynamic_shared_memory_type": "mmap",
    "logging_collector": "off",
}


def _signal_tree(postmaster: int, sig: signal.Signals) -> None:
    """Send *sig* to a postmaster and every process it started.

    Each backend and auxiliary process calls setsid(), so signalling the
    postmaster's group would reach the postmaster alone: its children would go
    on serving (a "hung" server still answering its open connections) or,
    orphaned, send FATAL 57P01 to their clients (a "crashed" machine saying
    goodbye). Freezing the postmaster first keeps it from forking while its
    children are looked up.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(postmaster, signal.SIGSTOP)
    pids = [postmaster, *_descendants(postmaster)]
    if sig is signal.SIGKILL:  # freeze them all first: none may outlive the others
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
    elif sig is signal.SIGCONT:
        pids.reverse()  # the children first: the postmaster wakes to a whole server
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _descendants(pid: int) -> list[int]:
    """Every process below *pid* in the process tree (from /proc, else from ps)."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _parents() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every process on the machine."""
    proc = Path("/proc")
    if not proc.is_dir():
        listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True)
        for line in listing.stdout.splitlines():
            pid, ppid = line.split()
            yield int(pid), int(ppid)
        return
    for entry in proc.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                # The command name in parentheses may hold spaces: split after it.
                yield (
                    int(entry.name),
                    int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]),
                )


def _conf_value(value: object) -> str:
    """Quote a value for postgresql.conf (quoting is always allowed there)."""
    if isinstance(value, bool):
        value = "on" if value else "off"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


class _Runner:
    """Runs server programs from one bin directory, as the right OS account."""

    def __init__(self, bindir: Path, account: Account | None) -> None:
        self.bindir = bindir
        self.account = account
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if account is not None:
            # Keep libpq from looking for root's ~/.pgpass and the like.
            env.update(HOME=account.home, USER=account.name, LOGNAME=account.name)
        self.env = env

    def _user_kwargs(self) -> dict[str, Any]:
        if self.account is None:
            return {}
        return {"user": self.account.uid, "group": self.account.gid, "extra_groups": []}

    def check_reachable(self, path: Path) -> None:
        """Raise `HarnessError` if the server account cannot enter *path* (a 0700 root dir, say)."""
        if self.account is None:
            return
        for directory in [path, *path.parents]:
            st = directory.stat()
            if st.st_uid == self.account.uid:
                ok = bool(st.st_mode & stat.S_IXUSR)
            elif st.st_gid == self.account.gid:
                ok = bool(st.st_mode & stat.S_IXGRP)
            else:
                ok = bool(st.st_mode & stat.S_IXOTH)
            if not ok:
                raise HarnessError(
                    f"the servers run as OS user {self.account.name!r} (PostgreSQL refuses"
                    f" root), which cannot enter {directory} (mode"
                    f" {stat.S_IMODE(st.st_mode):04o}): choose a base_dir it can reach"
                    f" or `chmod o+x {directory}`"
                )

    def chown(self, path: Path) -> None:
        """Give *path* to the server account (when there is one)."""
        if self.account is not None:
            os.chown(path, self.account.uid, self.account.gid)

    def run(self, program: str, *args: str, cwd: Path, timeout: float) -> None:
        """Run a program to completion; raise `HarnessError` quoting its output on failure."""
        cmd = [str(self.bindir / program), *args]
        try:
            done = subprocess.run(
                cmd,
                cwd=cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
                **self._user_kwargs(),
            )
        except subprocess.TimeoutExpired as ex:
            output = ex.output if isinstance(ex.output, str) else ""
            raise HarnessError(
                f"{' '.join(cmd)} did not finish within {timeout:g}s; its output:\n{tail(output)}"
            ) from None
        if done.returncode != 0:
            raise HarnessError(
                f"{' '.join(cmd)} failed with exit code {done.returncode}; its output:\n"
                f"{tail(done.stdout)}"
            )

    def spawn(self, program: str, *args: str, cwd: Path, log_path: Path) -> subprocess.Popen[bytes]:
        """Start a long-running program leading its own process group, logging to *log_path*."""
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                [str(self.bindir / program), *args],
                cwd=cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the postmaster leads a group we can signal
                **self._user_kwargs(),
            )


class LocalNode(SqlNode):
    """One PostgreSQL server of a `LocalCluster`: a primary or a streaming standby."""

    def __init__(self, name: str, base_dir: Path, port: int, runner: _Runner) -> None:
        self.name = name
        self.host = HOST
        self.port = port
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.log_path = base_dir / "server.log"
        self._runner = runner
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False
        self._killed = False  # killed and not restarted since: may leave shared memory behind

    def __repr__(self) -> str:
        state = "paused" if self._paused else "running" if self.is_running else "stopped"
        return f"<LocalNode {self.name} {self.host}:{self.port} {state}>"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid, or None when the server is not running."""
        return self._proc.pid if self.is_running and self._proc is not None else None

    @property
    def is_running(self) -> bool:
        """Whether the postmaster process is alive (a paused server is running)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def is_paused(self) -> bool:
        return self._paused and self.is_running

    def log_tail(self, lines: int = LOG_TAIL) -> str:
        """The last *lines* lines of the server log (for error messages)."""
        try:
            return tail(self.log_path.read_text(errors="replace"), lines)
        except OSError:
            return "(no server log)"

    def _fail(self, what: str) -> HarnessError:
        return HarnessError(
            f"{self.name} ({self._runner.bindir / 'postgres'} -D {self.data_dir}): {what};"
            f" last lines of {self.log_path}:\n{self.log_tail()}"
        )

    # -- configuration -----------------------------------------------------

    def _write_conf(self, settings: Mapping[str, object]) -> None:
        """Append settings to postgresql.conf; later lines override earlier ones."""
        lines = [f"{key} = {_conf_value(value)}" for key, value in settings.items()]
        with open(self.data_dir / "postgresql.conf", "a") as f:
            f.write("\n# pgcluster.testing\n" + "\n".join(lines) + "\n")

    def _set_auto_conf(self, key: str, value: str) -> None:
        """Set a setting in postgresql.auto.conf of a stopped server (what ALTER SYSTEM does)."""
        path = self.data_dir / "postgresql.auto.conf"
        old = path.read_text().splitlines() if path.exists() else []
        kept = [line for line in old if not line.strip().startswith(f"{key} ")]
        kept = [line for line in kept if not line.strip().startswith(f"{key}=")]
        path.write_text("\n".join([*kept, f"{key} = {_conf_value(value)}"]) + "\n")
        self._runner.chown(path)

    # -- process control -----------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it accepts connections."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        """Start the server without waiting for it (see `wait_ready`)."""
        if self.is_running:
            raise HarnessError(f"{self.name} is already running (pid {self.pid})")
        self._proc = self._runner.spawn(
            "postgres", "-D", str(self.data_dir), cwd=self.base_dir, log_path=self.log_path
        )
        self._paused = False
        self._killed = False

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the server accepts connections; raise `HarnessError` if it exits or stalls."""
        self.wait_accepting(timeout)

    def _exit_reason(self) -> str:
        code = self._proc.returncode if self._proc is not None else None
        return f"server exited with code {code} while starting"

    def _signal_all(self, sig: signal.Signals) -> None:
        if self._proc is not None and self._proc.poll() is None:
            _signal_tree(self._proc.pid, sig)

    def stop(self, mode: StopMode = "fast", timeout: float = 30.0) -> None:
        """Shut the server down (PostgreSQL's smart, fast or immediate mode) and wait for it.

        If it has not exited within *timeout*, kill it and raise `HarnessError`.
        """
        if mode not in _STOP_SIGNALS:
            raise ValueError(f"mode must be one of {sorted(_STOP_SIGNALS)}, not {mode!r}")
        if self._proc is None or not self.is_running:
            return
        self.resume()  # a stopped process would never see the shutdown signal
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(_STOP_SIGNALS[mode])
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise self._fail(f"did not stop ({mode}) within {timeout:g}s; killed it") from None
        # A postmaster that exited cleanly has waited for its children.

    def kill(self) -> None:
        """SIGKILL every process of the server at once: a crashed machine. `start` recovers it."""
        if self._proc is None or not self.is_running:
            return
        self._signal_all(signal.SIGKILL)
        self._proc.wait()
        self._paused = False
        self._killed = True

    def pause(self) -> None:
        """SIGSTOP every process of the server: a hung machine (connections hang, none fail)."""
        if not self.is_running:
            raise HarnessError(f"cannot pause {self.name}: it is not running")
        self._signal_all(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """SIGCONT every process of a paused server."""
        if self.is_running:
            self._signal_all(signal.SIGCONT)
        self._paused = False

    def release_shared_memory(self) -> None:
        """Remove the SysV segment a killed server left behind (best effort).

        A restart would reuse it, but a cluster torn down after a kill would
        leak one segment per kill, and the kernel's limit is finite.
        """
        if not self._killed or self.is_running:
            return
        self._killed = False
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            shmid = lines[6].split()[1]
        except (OSError, IndexError):
            return
        ipcrm = shutil.which("ipcrm")
        if ipcrm is not None:
            subprocess.run([ipcrm, "-m", shmid], capture_output=True, check=False)

    # -- replication -----------------------------------------------------------

    def promote(self, timeout: float = 30.0) -> None:
        """Promote this standby to a primary; return once it accepts writes."""
        self.execute("SELECT pg_promote(true, %s)", (max(1, int(timeout)),))
        for _ in deadline_loop(timeout):
            if not self.in_recovery():
                return
        raise self._fail(f"still in recovery {timeout:g}s after pg_promote()")

    def _restart_as_standby(self, conninfo: str, timeout: float) -> None:
        """Start this node (stopped first if running) as a standby streaming from *conninfo*."""
        self.stop()
        self._set_auto_conf("primary_conninfo", conninfo)
        signal_file = self.data_dir / "standby.signal"
        signal_file.touch()
        self._runner.chown(signal_file)
        self.start(timeout)


class LocalCluster(NodeGroup[LocalNode]):
    """A primary and *replicas* streaming hot standbys on free 127.0.0.1 ports.

    Use it as a context manager (or call `start` and `stop`): everything lives
    in a temporary directory that is removed, and every server killed, on exit.
    *settings* add to or override the postgresql.conf settings of every node.
    """

    def __init__(
        self,
        replicas: int = 2,
        *,
        base_dir: str | os.PathLike[str] | None = None,
        settings: Mapping[str, object] | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        if replicas < 0:
            raise ValueError("replicas must be >= 0")
        self.replica_count = replicas
        self.base_dir = base_dir
        self.settings: dict[str, object] = {**DEFAULT_SETTINGS, **(settings or {})}
        self.ready_timeout = ready_timeout
        self.root: Path | None = None
        self._nodes: list[LocalNode] = []  # primary first; kept after stop for inspection
        self._atexit: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"<LocalCluster {self.nodes!r}>"

    def start(self) -> None:
        """Create and start every node; return once each replica is streaming."""
        if self.root is not None:
            raise HarnessError("this LocalCluster is already started")
        runner = _Runner(find_bindir(), server_account())
        runner.check_reachable(Path(self.base_dir or tempfile.gettempdir()))
        self.root = Path(tempfile.mkdtemp(prefix="pgcluster-", dir=self.base_dir))
        (self.root / MARKER).write_text("made by pgcluster.testing.LocalCluster\n")
        # Registered first, so even a half-started cluster is cleaned up on exit.
        self._atexit = self.stop
        atexit.register(self._atexit)
        try:
            self._start(runner, self.root)
        except BaseException:
            self.stop()
            raise

    def _new_node(self, name: str, runner: _Runner, root: Path) -> LocalNode:
        node_dir = root / name
        node_dir.mkdir()
        runner.chown(node_dir)
        node = LocalNode(name, node_dir, free_port(), runner)
        node.log_path.touch()
        runner.chown(node.log_path)
        return node

    def _start(self, runner: _Runner, root: Path) -> None:
        runner.chown(root)
        timeout = self.ready_timeout
        names = ["primary", *(f"replica{i}" for i in range(1, self.replica_count + 1))]
        for name in names:
            self._nodes.append(self._new_node(name, runner, root))
        primary = self.primary
        runner.run(
            "initdb",
            *("-D", str(primary.data_dir), "-U", SUPERUSER, "--auth=trust"),
            *("-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"),
            cwd=primary.base_dir,
            timeout=timeout,
        )
        primary._write_conf({**self.settings, "port": primary.port, "cluster_name": "primary"})
        primary.start(timeout)

        # One base backup per replica (cheap on a fresh cluster); each gets its own
        # primary_conninfo (-R) and then its own port and name.
        for replica in self.replicas:
            runner.run(
                "pg_basebackup",
                *("-h", HOST, "-p", str(primary.port), "-U", SUPERUSER),
                *("-D", str(replica.data_dir), "-R", "-X", "stream", "-c", "fast", "-N"),
                cwd=replica.base_dir,
                timeout=timeout,
            )
            replica._write_conf({"port": replica.port, "cluster_name": replica.name})
            replica.spawn()
        for replica in self.replicas:
            replica.wait_ready(timeout)
        primary.wait_streaming([r.name for r in self.replicas], timeout)

    def detach(self) -> Path:
        """Leave the servers running when this process exits; return their directory.

        Nothing stops them afterwards but `stop_detached` on that directory
        (``pgcluster demo --stop DIR``).
        """
        if self.root is None:
            raise HarnessError("the LocalCluster is not started")
        if self._atexit is not None:
            atexit.unregister(self._atexit)
            self._atexit = None
        for node in self._nodes:
            node.resume()  # a paused server left behind would hang its clients for ever
            if node._proc is not None and node._proc.poll() is None:
                _DETACHED[node._proc.pid] = node._proc
        root, self.root = self.root, None  # stop() is now a no-op
        return root

    def stop(self) -> None:
        """Kill every server (paused ones too) and remove the temporary directory."""
        if self._atexit is not None:
            atexit.unregister(self._atexit)
            self._atexit = None
        if self.root is None:
            return
        for node in self._nodes:
            # Immediate shutdown is quick and, unlike SIGKILL, frees shared memory.
            with contextlib.suppress(HarnessError):
                node.stop("immediate", timeout=10)
            node.release_shared_memory()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def stop_detached(root: str | os.PathLike[str], timeout: float = 10.0) -> list[str]:
    """Stop the servers of a `LocalCluster.detach`-ed cluster and remove its directory.

    Return the names of the nodes that were still running. Refuse (with
    `HarnessError`) a directory that a LocalCluster did not make.
    """
    path = Path(root)
    if not path.is_dir():
        raise HarnessError(f"{path} is not a directory")
    if not (path / MARKER).is_file():
        raise HarnessError(
            f"{path} was not made by LocalCluster (it has no {MARKER} file): not touching it"
        )
    stopped = []
    for pid_file in sorted(path.glob("*/data/postmaster.pid")):
        pid = _postmaster_pid(pid_file)
        if pid is None:
            continue
        _signal_tree(pid, signal.SIGCONT)  # a paused server would never see the next signal
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, _STOP_SIGNALS["immediate"])
        for _ in deadline_loop(timeout):
            if not _alive(pid):
                break
        else:
            _signal_tree(pid, signal.SIGKILL)
        if (proc := _DETACHED.pop(pid, None)) is not None:
            proc.wait(timeout)  # detached by this process: reap it
        stopped.append(pid_file.parent.parent.name)
    shutil.rmtree(path)
    return stopped


def _postmaster_pid(pid_file: Path) -> int | None:
    """The pid in a ``postmaster.pid`` if that process is alive and is a postgres server."""
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    if not _alive(pid):
        return None
    try:  # pids are reused: only a postgres process is ours to stop
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc here: trust the file
    return pid if b"postgres" in command else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (an exited child of ours not yet reaped) counts as gone.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    return True
