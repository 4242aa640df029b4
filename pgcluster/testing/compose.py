"""A primary and streaming replicas started by docker compose from the project's compose.yaml.

`ComposeCluster` brings a compose project up under a name of its own, with a
free 127.0.0.1 port for each node, and takes it down again with its volumes.
Each `ComposeNode` is one container, controlled as a container: `kill` is
``docker kill`` (SIGKILL: a crashed machine), `pause` is ``docker pause``
(the cgroup freezer: a hung machine), `stop` sends the postmaster PostgreSQL's
shutdown signal, `start` is ``docker start``, `promote` runs the node's entry
script (``pg-node promote``: ``pg_ctl promote``) inside the container.

Which compose files: those of ``COMPOSE_FILE`` (compose reads it itself), else
compose.yaml and compose.override.yaml of the project directory (the current
one, or ``PGCLUSTER_COMPOSE_DIR``, unless given). Which compose:
``PGCLUSTER_COMPOSE`` (e.g. ``docker compose``), else ``docker-compose``, else
``docker compose``. Project names start with ``PGCLUSTER_COMPOSE_PREFIX``
(``pgclustertest`` by default), so leftovers of a killed run can be found.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._binaries import HarnessError
from ._ports import free_port
from .nodes import LOG_TAIL, SUPERUSER, NodeGroup, SqlNode, StopMode, deadline_loop, tail

__all__ = ["ComposeCluster", "ComposeNode", "compose_command"]

HOST = "127.0.0.1"
SERVICES = ("primary", "replica1", "replica2")

_PROJECT_LABEL = "com.docker.compose.project"
_SERVICE_LABEL = "com.docker.compose.service"
_STOP_SIGNALS = {"smart": "SIGTERM", "fast": "SIGINT", "immediate": "SIGQUIT"}

# As LocalCluster's: fast and throwaway, but with synchronous_commit on.
TEST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "on",
    "shared_buffers": "16MB",
    "max_connections": "100",
}


def compose_command() -> list[str]:
    """The compose program to run: ``$PGCLUSTER_COMPOSE``, docker-compose, or docker compose."""
    configured = os.environ.get("PGCLUSTER_COMPOSE", "").strip()
    if configured:
        return shlex.split(configured)
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    raise HarnessError(
        "neither docker-compose nor `docker compose` is installed (tools/compose-env"
        " installs docker-compose and starts a Docker engine on a Debian machine)"
    )


def _settings_line(settings: Mapping[str, object]) -> str:
    """PGCLUSTER_SETTINGS for compose/pg-node: postgresql.conf lines separated by ';'."""
    lines = []
    for key, value in settings.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        if ";" in text or "\n" in text or "$" in text:
            raise ValueError(f"setting {key}: {text!r} cannot be passed to a compose node")
        lines.append(f"{key} = '" + text.replace("\\", "\\\\").replace("'", "''") + "'")
    return "; ".join(lines)


class _Runner:
    """Runs docker and compose commands for one project, raising `HarnessError` on failure."""

    def __init__(
        self,
        compose: list[str],
        project: str,
        project_dir: Path,
        files: Sequence[str | os.PathLike[str]],
        env: dict[str, str],
    ) -> None:
        self.compose_cmd = [*compose, "-p", project]
        for file in files:
            self.compose_cmd += ["-f", str(file)]
        self.project_dir = project_dir
        self.env = env

    def run(self, cmd: list[str], timeout: float, *, check: bool = True) -> str:
        try:
            done = subprocess.run(
                cmd,
                cwd=self.project_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HarnessError(f"{shlex.join(cmd)} did not finish within {timeout:g}s") from None
        except FileNotFoundError as ex:
            raise HarnessError(f"{shlex.join(cmd)}: {ex}") from None
        if check and done.returncode != 0:
            raise HarnessError(
                f"{shlex.join(cmd)} failed with exit code {done.returncode}:\n"
                f"{tail(done.stdout + done.stderr)}"
            )
        return done.stdout

    def compose(self, *args: str, timeout: float = 60.0, check: bool = True) -> str:
        return self.run([*self.compose_cmd, *args], timeout, check=check)

    def docker(self, *args: str, timeout: float = 30.0, check: bool = True) -> str:
        return self.run(["docker", *args], timeout, check=check)


class ComposeNode(SqlNode):
    """One node of a `ComposeCluster`: a container running compose/pg-node."""

    def __init__(self, runner: _Runner, service: str, container: str) -> None:
        self.service = service
        self.container = container
        self._runner = runner
        info: dict[str, Any] = json.loads(runner.docker("inspect", container))[0]
        env = dict(item.split("=", 1) for item in info["Config"]["Env"] or [] if "=" in item)
        self.name = env.get("PGCLUSTER_NAME", service)
        server_port = int(env.get("PGCLUSTER_PORT", "5432"))
        self.entrypoint: list[str] = list(info["Config"]["Entrypoint"] or [])
        self.host_network = info["HostConfig"]["NetworkMode"] == "host"
        if self.host_network:
            # Each node on the host's network, on a port of its own.
            self.host, self.port = HOST, server_port
            self.peer_host, self.peer_port = HOST, server_port
        else:
            # A network of the project's own: tests come in through the published
            # port, the other nodes by service name.
            published = (info["NetworkSettings"]["Ports"] or {}).get(f"{server_port}/tcp")
            if not published:
                raise HarnessError(
                    f"{service}: port {server_port} of container {container[:12]} is not"
                    f" published (with a bridge network, compose.override.yaml publishes it)"
                )
            host_ip = published[0].get("HostIp") or HOST
            self.host = HOST if host_ip in ("0.0.0.0", "::", "") else host_ip
            self.port = int(published[0]["HostPort"])
            self.peer_host, self.peer_port = service, server_port

    def __repr__(self) -> str:
        state = self._state()
        status = "paused" if state.get("Paused") else state.get("Status", "?")
        return f"<ComposeNode {self.name} {self.host}:{self.port} {status}>"

    def _state(self) -> dict[str, Any]:
        out = self._runner.docker("inspect", "-f", "{{json .State}}", self.container, check=False)
        try:
            state: dict[str, Any] = json.loads(out)
        except ValueError:
            return {}
        return state

    @property
    def is_running(self) -> bool:
        """Whether the container runs (a paused container is running)."""
        return bool(self._state().get("Running"))

    @property
    def is_paused(self) -> bool:
        state = self._state()
        return bool(state.get("Running") and state.get("Paused"))

    def log_tail(self, lines: int = LOG_TAIL) -> str:
        """The last *lines* lines of the container's log (for error messages)."""
        try:
            # The server logs to stderr, which docker logs keeps apart: take both.
            done = subprocess.run(
                ["docker", "logs", "--tail", str(lines), self.container],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as ex:
            return f"(no log: {ex})"
        return tail(done.stdout + done.stderr, lines) or "(empty log)"

    def _fail(self, what: str) -> HarnessError:
        return HarnessError(
            f"{self.name} (container {self.container[:12]}): {what};"
            f" last lines of its log:\n{self.log_tail()}"
        )

    def _wait_stopped(self, timeout: float) -> bool:
        return any(not self.is_running for _ in deadline_loop(timeout))

    # -- process control -----------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """``docker start`` the container and wait until the server accepts connections."""
        if self.is_running:
            raise HarnessError(f"{self.name} is already running")
        self._runner.docker("start", self.container, timeout=timeout)
        self.wait_accepting(timeout)

    def stop(self, mode: StopMode = "fast", timeout: float = 30.0) -> None:
        """Send the postmaster *mode*'s shutdown signal (through the container's init) and wait."""
        if mode not in _STOP_SIGNALS:
            raise ValueError(f"mode must be one of {sorted(_STOP_SIGNALS)}, not {mode!r}")
        if not self.is_running:
            return
        self.resume()  # a frozen process would never see the signal
        self._runner.docker("kill", "--signal", _STOP_SIGNALS[mode], self.container, check=False)
        if not self._wait_stopped(timeout):
            self.kill()
            raise self._fail(f"did not stop ({mode}) within {timeout:g}s; killed it")

    def kill(self) -> None:
        """``docker kill``: SIGKILL every process of the container. `start` recovers it."""
        if not self.is_running:
            return
        self._runner.docker("kill", self.container, check=False)
        if not self._wait_stopped(30):
            raise self._fail("still running 30 s after docker kill")

    def pause(self) -> None:
        """``docker pause``: freeze every process (connections hang, none fail)."""
        if not self.is_running:
            raise HarnessError(f"cannot pause {self.name}: it is not running")
        self._runner.docker("pause", self.container)

    def resume(self) -> None:
        """``docker unpause`` a paused container."""
        if self.is_paused:
            self._runner.docker("unpause", self.container)

    # -- replication -----------------------------------------------------------

    def promote(self, timeout: float = 30.0) -> None:
        """``pg_ctl promote`` in the container (through its entry script); wait for writes."""
        self._runner.docker(
            "exec", self.container, *self.entrypoint, "promote", timeout=timeout + 10
        )
        for _ in deadline_loop(timeout):
            if not self.in_recovery():
                return
        raise self._fail(f"still in recovery {timeout:g}s after pg_ctl promote")

    def _conninfo_from(self, other: SqlNode) -> str:
        if not isinstance(other, ComposeNode):
            raise HarnessError(f"{self.name} can only follow a node of its own compose project")
        return f"host={other.peer_host} port={other.peer_port} user={SUPERUSER}"

    def _restart_as_standby(self, conninfo: str, timeout: float) -> None:
        """Stop, mark the data directory a standby (a one-off container on its volume), start."""
        self.stop()
        self._runner.compose(
            "run", "--rm", "--no-deps", "-T", self.service, "standby", conninfo, timeout=timeout
        )
        self.start(timeout)


class ComposeCluster(NodeGroup[ComposeNode]):
    """A compose project of a primary and streaming replicas, on free 127.0.0.1 ports.

    Use it as a context manager (or call `start` and `stop`): the project is
    taken down with its volumes on exit. The services are *services*, the
    primary first; each gets its port from ``PGCLUSTER_<SERVICE>_PORT``, which
    compose.override.yaml publishes on 127.0.0.1 and compose.local.yaml makes
    the server's own port. *settings* add to or override postgresql.conf.
    """

    def __init__(
        self,
        *,
        project_dir: str | os.PathLike[str] | None = None,
        files: Sequence[str | os.PathLike[str]] = (),
        project: str | None = None,
        services: Sequence[str] = SERVICES,
        settings: Mapping[str, object] | None = None,
        ready_timeout: float = 120.0,
        compose: Sequence[str] | None = None,
    ) -> None:
        if len(services) < 1:
            raise ValueError("services must name the primary at least")
        self.project_dir = Path(
            project_dir or os.environ.get("PGCLUSTER_COMPOSE_DIR") or Path.cwd()
        )
        self.files = list(files)
        prefix = os.environ.get("PGCLUSTER_COMPOSE_PREFIX", "").strip() or "pgclustertest"
        self.project = project or f"{prefix}{uuid.uuid4().hex[:10]}"
        self.services = list(services)
        self.settings: dict[str, object] = {**TEST_SETTINGS, **(settings or {})}
        self.ready_timeout = ready_timeout
        self.compose = list(compose) if compose else None
        self._runner: _Runner | None = None
        self._nodes: list[ComposeNode] = []  # primary first; kept after stop for inspection
        self._atexit: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"<ComposeCluster {self.project} {self.nodes!r}>"

    def start(self) -> None:
        """``up -d`` the project; return once each replica is streaming."""
        if self._runner is not None:
            raise HarnessError("this ComposeCluster is already started")
        env = dict(os.environ)
        for service in self.services:
            env[f"PGCLUSTER_{service.upper()}_PORT"] = str(free_port())
        env["PGCLUSTER_SETTINGS"] = _settings_line(self.settings)
        env["PGCLUSTER_NO_SYNC"] = "1"  # thrown away after the test: initdb --no-sync & co
        compose = self.compose or compose_command()
        self._runner = runner = _Runner(compose, self.project, self.project_dir, self.files, env)
        # Registered first, so even a half-started project is taken down on exit.
        self._atexit = self.stop
        atexit.register(self._atexit)
        try:
            self._start(runner)
        except BaseException:
            self.stop()
            raise

    def _start(self, runner: _Runner) -> None:
        timeout = self.ready_timeout
        try:
            runner.compose("up", "-d", *self.services, timeout=timeout)
        except HarnessError as ex:
            logs = runner.compose("logs", "--no-color", "--tail", "20", timeout=30, check=False)
            raise HarnessError(f"{ex}\nthe nodes' logs:\n{tail(logs, 60)}") from None
        # Compose labels its containers (1.x and 2.x alike): one docker call finds them all.
        listing = runner.docker(
            *("ps", "-a", "--no-trunc", "--filter", f"label={_PROJECT_LABEL}={self.project}"),
            *("--format", f'{{{{.ID}}}} {{{{.Label "{_SERVICE_LABEL}"}}}}'),
        )
        containers = {
            service: container
            for container, _, service in (line.partition(" ") for line in listing.splitlines())
        }
        for service in self.services:
            if service not in containers:
                raise HarnessError(f"compose started no container for service {service!r}")
            self._nodes.append(ComposeNode(runner, service, containers[service]))
        deadline = time.monotonic() + timeout
        for node in self._nodes:
            node.wait_accepting(max(1.0, deadline - time.monotonic()))
        self.primary.wait_streaming(
            [r.name for r in self.replicas], max(1.0, deadline - time.monotonic())
        )

    def stop(self) -> None:
        """Take the project down: its containers (paused ones too) and its volumes."""
        if self._atexit is not None:
            atexit.unregister(self._atexit)
            self._atexit = None
        runner, self._runner = self._runner, None
        if runner is None:
            return
        # The servers are thrown away: SIGKILL them all at once (paused ones too),
        # then let compose remove the rest of the project, its volumes included.
        containers = [node.container for node in self._nodes]
        if containers:
            runner.docker("rm", "-f", *containers, timeout=60, check=False)
        runner.compose("down", "-v", "--remove-orphans", timeout=120)
