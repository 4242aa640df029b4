"""``pgcluster status`` against real servers: what an operator reads off it, and its exit codes."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from pgcluster.cli import build_parser, status
from pgcluster.testing import LocalCluster

ENV_VARS = ("DATABASE_URL", "DATABASE_REPLICA_URLS")


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def _status(*argv: str, snapshots: int | None = None) -> tuple[int, str, str]:
    args = build_parser().parse_args(["status", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = status.run(args, out, err, snapshots=snapshots)
    return code, out.getvalue(), err.getvalue()


def _flags(cluster: LocalCluster) -> list[str]:
    flags = ["--primary", cluster.primary.url]
    for replica in cluster.replicas:
        flags += ["--replica", replica.url]
    return flags


def _name(node: Any) -> str:
    return f"127.0.0.1:{node.port}/postgres"


def test_a_healthy_cluster_shows_one_row_per_node(local_cluster: LocalCluster) -> None:
    code, out, err = _status(*_flags(local_cluster))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["node", "role", "state"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert rows[_name(local_cluster.primary)][1:3] == ["primary", "primary"]
    for replica in local_cluster.replicas:
        assert rows[_name(replica)][1:3] == ["replica", "replica"]
    assert f"primary: {_name(local_cluster.primary)}   timeline: 1" in out


def test_json_has_the_lag_timeline_and_pool_of_each_node(local_cluster: LocalCluster) -> None:
    code, out, _ = _status("--json", *_flags(local_cluster))
    assert code == 0
    doc = json.loads(out)
    assert doc["primary"] == _name(local_cluster.primary)
    nodes = {node["node"]: node for node in doc["nodes"]}
    assert len(nodes) == 3
    for replica in local_cluster.replicas:
        node = nodes[_name(replica)]
        assert node["state"] == "replica"
        assert node["lag_bytes"] >= 0
        assert isinstance(node["lag_seconds"], float)
        assert node["timeline"] == 1
        assert node["pool"]["max"] >= 1
    assert nodes[_name(local_cluster.primary)]["lag_bytes"] is None


def test_the_environment_is_read_when_no_flag_is_given(
    local_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", local_cluster.primary.url)
    monkeypatch.setenv("DATABASE_REPLICA_URLS", ",".join(r.url for r in local_cluster.replicas))
    code, out, _ = _status("--json")
    assert code == 0
    assert len(json.loads(out)["nodes"]) == 3


def test_watch_prints_a_snapshot_per_interval(local_cluster: LocalCluster) -> None:
    code, out, _ = _status("--json", "--watch", "0.1", *_flags(local_cluster), snapshots=3)
    assert code == 0
    snapshots = [json.loads(line) for line in out.splitlines()]
    assert len(snapshots) == 3
    assert {s["primary"] for s in snapshots} == {_name(local_cluster.primary)}


def test_a_dead_primary_exits_1_and_shows_why(fresh_cluster: LocalCluster) -> None:
    fresh_cluster.primary.kill()
    code, out, _ = _status("--timeout", "1", *_flags(fresh_cluster))
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith(_name(fresh_cluster.primary)))
    assert "unavailable" in row
    assert "refused" in row  # the last error, so the operator knows why
    assert "NONE: writes have nowhere to go" in out


def test_a_replica_that_refuses_shows_the_servers_message(local_cluster: LocalCluster) -> None:
    nope = local_cluster.replicas[0].url.rsplit("/", 1)[0] + "/nope"
    code, out, _ = _status(
        "--timeout", "1", "--primary", local_cluster.primary.url, "--replica", nope
    )
    assert code == 0
    row = next(line for line in out.splitlines() if "/nope" in line)
    # Neither the exception class nor libpq's "connection to server at ... failed:"
    # preamble, which the node column says already; one space after "FATAL:".
    assert row.endswith('FATAL: database "nope" does not exist')


def test_no_connection_string_is_a_clear_error() -> None:
    code, out, err = _status()
    assert (code, out) == (2, "")
    assert "DATABASE_URL" in err


def test_a_replica_without_a_primary_is_a_clear_error() -> None:
    code, _, err = _status("--replica", "postgresql://localhost/x")
    assert code == 2
    assert "--replica needs --primary" in err


def test_a_malformed_connection_string_is_a_clear_error() -> None:
    code, _, err = _status("--primary", "host=localhost port")
    assert code == 2
    assert "pgcluster status:" in err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--primary", "postgresql://app@db1:abc/app"], 'port "abc" is not a port number'),
        (["--primary", "host=db1 port=70000"], 'port "70000" is not a port number'),
        (["--primary", "host=db1 port=5432,5433"], "lists 2 ports for one host"),
        (["--primary", "host=db1 connect_timeout=soon"], 'connect_timeout "soon" is not a whole'),
        (["--primary", "host=db1 sslmode=always"], 'sslmode "always" is not one of disable'),
        (["--primary", "hostaddr=db1"], 'hostaddr "db1" is not an IP address'),
        (["--primary", "host=db1", "--replica", "host=db2 port=x"], 'db2:x: port "x"'),
        (["--primary", ""], "--primary is empty"),
        (["--primary", "host=db1", "--replica", " "], "--replica is empty"),
    ],
)
def test_a_value_libpq_would_refuse_is_a_clear_error(argv: list[str], complaint: str) -> None:
    # libpq checks these only when it connects: the cluster would open with the
    # node down (exit 1, "no primary") instead of saying the string is wrong.
    code, out, err = _status(*argv)
    assert (code, out) == (2, "")
    assert complaint in err


def test_a_bad_port_in_the_environment_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db1:5432/app")
    monkeypatch.setenv(
        "DATABASE_REPLICA_URLS", "postgresql://app@db2:5432/app,postgresql://db3:x/app"
    )
    code, _, err = _status()
    assert code == 2
    assert 'db3:x/app: port "x"' in err


def test_swapped_roles_are_hints_and_status_shows_the_real_ones(
    local_cluster: LocalCluster,
) -> None:
    code, out, _ = _status(
        "--primary", local_cluster.replicas[0].url, "--replica", local_cluster.primary.url
    )
    assert code == 0
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:] if line.strip()}
    assert rows[f"127.0.0.1:{local_cluster.primary.port}/postgres"] == "primary"
    assert rows[f"127.0.0.1:{local_cluster.replicas[0].port}/postgres"] == "replica"


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_interval_is_refused_by_the_parser(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["status", "--watch", value])
    assert info.value.code == 2
    assert "--watch" in capsys.readouterr().err


def _down(last_error: str) -> dict[str, Any]:
    """The statistics of a cluster whose one node is down with *last_error*."""
    health = {"status": "unavailable", "health": "down", "last_error": last_error}
    node = {"role": "primary", "pool": {}, "health": health}
    return {"primary": None, "timeline": None, "nodes": {"db1:5432/app": node}}


HOST = "h" * 154  # a long name: its error is cut right after "': ["


@pytest.mark.parametrize(
    ("last_error", "shown"),
    [
        (
            'OperationalError: connection failed: connection to server at "10.0.0.1", port 5432'
            ' failed: FATAL:  password authentication failed for user "app"',
            'FATAL: password authentication failed for user "app"',
        ),
        (
            'OperationalError: connection is bad: connection to server on socket "/run/pg/.s.PGSQL'
            '.5432" failed: No such file or directory',
            "No such file or directory",
        ),
        (
            # As the health monitor keeps it: 200 characters. Its last ": " clause is "[".
            f"OperationalError: failed to resolve host '{HOST}': [Errno -2] Name or service"[:200],
            "failed to resolve host '" + "h" * 33 + "...",
        ),
        (
            "PoolTimeout: couldn't get a connection after 3.00 sec",
            "couldn't get a connection after 3.00 sec",
        ),
        ("probe timed out", "probe timed out"),
    ],
)
def test_the_last_error_column_shows_the_message(last_error: str, shown: str) -> None:
    row = status.render(_down(last_error)).splitlines()[1]
    assert row.endswith(f"  {shown}")
    assert len(shown) <= status.ERROR_WIDTH


def test_render_formats_missing_figures_and_long_errors() -> None:
    stats = {
        "primary": None,
        "timeline": None,
        "nodes": {
            "db1:5432/app": {
                "role": "primary",
                "pool": {"pool_size": 0, "pool_max": 4},
                "health": {
                    "status": "unavailable",
                    "health": "down",
                    "lag_bytes": None,
                    "lag_seconds": None,
                    "timeline": None,
                    "lsn": None,
                    "last_error": "OperationalError: connection failed: " + "x" * 100,
                },
            },
            "db2:5432/app": {
                "role": "replica",
                "pool": {"pool_size": 2, "pool_max": 4, "pool_available": 1},
                "health": {
                    "status": "lagging",
                    "health": "up",
                    "lag_bytes": 5 * 2**20,
                    "lag_seconds": 12.345,
                    "timeline": 3,
                    "lsn": "0/3000000",
                },
            },
        },
    }
    text = status.render(stats)
    db1, db2 = (line for line in text.splitlines() if line.startswith("db"))
    assert "unavailable (down)" in db1
    assert "x" * 57 + "..." in db1
    assert "0/4 (0 idle, 0 waiting)" in db1
    assert "5.0 MB  12.35  3" in db2
    assert "NONE: writes have nowhere to go" in text
