"""The local harness against real servers: what only LocalCluster and TcpProxy do.

What every backend must do (kill, pause, stop, promote, follow) is in test_nodes.py,
which `make test` runs on local servers too.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import psycopg.errors
import pytest

from pgcluster.testing import HarnessError, LocalCluster, TcpProxy, find_bindir


@pytest.fixture
def proxy(local_cluster: LocalCluster) -> Iterator[TcpProxy]:
    """A proxy in front of the shared primary."""
    with TcpProxy(local_cluster.primary.host, local_cluster.primary.port) as proxy:
        yield proxy


def _table() -> str:
    """A table name of this test's own, so tests sharing `local_cluster` never collide."""
    return f"t_{uuid.uuid4().hex[:12]}"


def test_each_node_has_a_data_directory_of_its_own(local_cluster: LocalCluster) -> None:
    assert len({node.data_dir for node in local_cluster.nodes}) == 3
    assert all(node.data_dir.is_dir() for node in local_cluster.nodes)


def test_a_row_written_on_the_primary_reaches_every_replica(local_cluster: LocalCluster) -> None:
    table = _table()
    local_cluster.primary.execute(f"CREATE TABLE {table} AS SELECT 42 AS answer")
    local_cluster.wait_replicated(timeout=10)
    for replica in local_cluster.replicas:
        assert replica.execute(f"SELECT answer FROM {table}") == [(42,)]
    local_cluster.primary.execute(f"DROP TABLE {table}")


def test_a_write_on_a_replica_fails_read_only(local_cluster: LocalCluster) -> None:
    for replica in local_cluster.replicas:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as info:
            replica.execute(f"CREATE TABLE {_table()} (id int)")
        assert info.value.sqlstate == "25006"


def test_kill_is_a_crash_that_says_no_goodbye(fresh_cluster: LocalCluster) -> None:
    # Every process dies at once: an open connection finds its socket closed,
    # with no FATAL from an orphaned backend (a dead machine sends none).
    replica = fresh_cluster.replicas[0]
    with replica.connect() as conn:
        conn.execute("SELECT 1")
        replica.kill()
        with pytest.raises(psycopg.OperationalError) as info:
            conn.execute("SELECT 1")
    assert info.value.sqlstate is None, f"the server spoke: {info.value!r}"
    assert replica.pid is None


def test_pause_hangs_open_connections_too(fresh_cluster: LocalCluster) -> None:
    # A hung machine hangs every backend, not only the postmaster: a statement on
    # a connection opened before the pause gets no answer until the resume.
    replica = fresh_cluster.replicas[0]
    answered = threading.Event()
    with replica.connect() as conn:
        conn.execute("SELECT 1")
        replica.pause()

        def ask() -> None:
            conn.execute("SELECT 1")
            answered.set()

        worker = threading.Thread(target=ask)
        worker.start()
        assert not answered.wait(1.0), "a paused server answered"
        replica.resume()
        assert answered.wait(10), "no answer after the resume"
        worker.join()


def test_exit_removes_the_directory_and_every_server() -> None:
    with LocalCluster(replicas=1) as cluster:
        root = cluster.root
        assert root is not None
        assert root.is_dir()
        nodes = cluster.nodes
        nodes[1].pause()  # a paused server must not survive the exit either
    assert not root.exists()
    assert not any(node.is_running for node in nodes)


def test_exit_after_a_failing_test_still_cleans_up() -> None:
    cluster = LocalCluster(replicas=0)
    roots: list[Path | None] = []

    def failing_test() -> None:
        with cluster:
            roots.append(cluster.root)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_test()
    assert not cluster.primary.is_running
    assert roots[0] is not None
    assert not roots[0].exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the servers as another user")
def test_a_base_dir_the_server_user_cannot_enter_is_named(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(HarnessError, match="cannot enter"):
        LocalCluster(replicas=0, base_dir=private).start()
    assert list(private.iterdir()) == []


def test_a_server_that_cannot_start_is_reported_with_its_log() -> None:
    cluster = LocalCluster(replicas=0, settings={"shared_buffers": "lots"}, ready_timeout=20)
    with pytest.raises(HarnessError, match=r"(?s)primary.*exited.*shared_buffers"):
        cluster.start()
    assert cluster.root is None  # cleaned up all the same


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs another user for the servers")
def test_running_as_root_without_a_server_user_names_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGCLUSTER_PG_USER", "no-such-user-pgcluster")
    with pytest.raises(HarnessError, match=r"useradd --system postgres.*PGCLUSTER_PG_USER"):
        LocalCluster(replicas=0).start()


def test_missing_binaries_raise_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    with pytest.raises(
        HarnessError, match=r"does not contain postgres.*apt-get install postgresql"
    ):
        find_bindir()
    with pytest.raises(HarnessError, match="PG_BIN"):
        LocalCluster(replicas=0).start()


def test_proxy_forwards_traffic(proxy: TcpProxy, local_cluster: LocalCluster) -> None:
    dsn = proxy.dsn(local_cluster.primary)
    assert f"port={proxy.port}" in dsn
    assert "user=postgres" in dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT current_setting('cluster_name')").fetchall() == [("primary",)]
        assert conn.execute("SELECT repeat('x', 1000000)").fetchall() == [("x" * 1000000,)]


def test_proxy_cut_fails_open_and_new_connections_fast(
    proxy: TcpProxy, local_cluster: LocalCluster
) -> None:
    conn = psycopg.connect(proxy.dsn(local_cluster.primary), autocommit=True)
    conn.execute("SELECT 1")
    proxy.cut()
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(proxy.dsn(local_cluster.primary), connect_timeout=10)
    assert time.monotonic() - started < 2  # failed at once, not by a timeout
    conn.close()

    proxy.restore()
    with psycopg.connect(proxy.dsn(local_cluster.primary)) as conn:
        assert conn.execute("SELECT 1").fetchall() == [(1,)]


def test_proxy_blackhole_makes_a_new_connection_hang_until_its_timeout(
    proxy: TcpProxy, local_cluster: LocalCluster
) -> None:
    proxy.blackhole()
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(proxy.dsn(local_cluster.primary), connect_timeout=2)
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 10  # hung for the client's own timeout, then failed

    proxy.restore()
    with psycopg.connect(proxy.dsn(local_cluster.primary)) as conn:
        assert conn.execute("SELECT 1").fetchall() == [(1,)]


def test_proxy_blackhole_holds_an_open_connections_query_until_restore(
    proxy: TcpProxy, local_cluster: LocalCluster
) -> None:
    with psycopg.connect(proxy.dsn(local_cluster.primary), autocommit=True) as conn:
        proxy.blackhole()
        rows: list[tuple[int]] = []
        query = threading.Thread(target=lambda: rows.extend(conn.execute("SELECT 7").fetchall()))
        query.start()
        query.join(0.5)
        assert query.is_alive()  # no answer while partitioned
        proxy.restore()
        query.join(10)
        assert rows == [(7,)]


def test_proxy_delay_adds_latency_and_restore_removes_it(
    proxy: TcpProxy, local_cluster: LocalCluster
) -> None:
    with psycopg.connect(proxy.dsn(local_cluster.primary), autocommit=True) as conn:
        proxy.delay(0.2)
        started = time.monotonic()
        conn.execute("SELECT 1")
        assert time.monotonic() - started >= 0.2
        proxy.restore()
        started = time.monotonic()
        conn.execute("SELECT 1")
        assert time.monotonic() - started < 0.2


def test_proxy_close_stops_listening(local_cluster: LocalCluster) -> None:
    with TcpProxy(local_cluster.primary.host, local_cluster.primary.port) as proxy:
        conn = psycopg.connect(proxy.dsn(local_cluster.primary))
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((proxy.host, proxy.port), timeout=2).close()


def test_a_failing_test_reports_each_servers_log(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGCLUSTER_TEST_TARGET", "local")
    pytester.makeconftest('pytest_plugins = ["pgcluster.testing.pytest_plugin"]')
    pytester.makepyfile(
        """
        def test_fails(fresh_cluster):
            fresh_cluster.primary.execute("DO $$BEGIN RAISE LOG 'marker-7f3a'; END$$")
            assert False
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*server log: fresh_cluster primary*",
            "*marker-7f3a*",
            "*server log: fresh_cluster replica1*",
        ]
    )
