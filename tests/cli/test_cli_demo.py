"""``pgcluster demo`` runs end to end and tells where the statements went."""

from __future__ import annotations

import io
import re
from pathlib import Path

import psycopg
import pytest

from pgcluster.cli import build_parser, demo, main
from pgcluster.testing.pytest_plugin import cluster_target


def _demo(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = demo.run(build_parser().parse_args(["demo", *argv]), out)
    return code, out.getvalue()


def test_demo_routes_a_workload_and_survives_a_failover() -> None:
    code, text = _demo("--statements", "70")
    assert code == 0
    assert "Where the statements went" in text
    # Reads were spread over both replicas, named as the harness names them.
    for name in ("replica1", "replica2"):
        row = re.search(rf"{name}\s+replica\s+(\d+)", text)
        assert row, text
        assert int(row[1]) > 0
    assert "calls nextval(), which advances a sequence" in text
    assert "promoted (replica -> primary)" in text
    assert "the first write landed on replica1" in text
    assert "reads now go to: replica2" in text
    assert "the servers are stopped and removed" in text


@pytest.mark.skipif(
    cluster_target() != "compose", reason="with PGCLUSTER_TEST_TARGET=compose (make test-compose)"
)
def test_demo_on_compose_nodes() -> None:
    code, text = _demo("--statements", "70", "--compose")
    assert code == 0, text
    assert "Starting a docker compose PostgreSQL primary" in text
    assert "the first write landed on replica1" in text
    assert "reads now go to: replica2" in text
    assert "the servers are stopped and removed" in text


def test_compose_and_keep_do_not_go_together() -> None:
    code, text = _demo("--compose", "--keep")
    assert code == 2
    assert "docker compose up -d" in text


def test_demo_is_in_the_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_keep_leaves_the_cluster_running_until_stop() -> None:
    code, text = _demo("--statements", "70", "--keep")
    assert code == 0
    primary_url = re.search(r"export DATABASE_URL='(.+)'", text)
    replica_urls = re.search(r"export DATABASE_REPLICA_URLS='(.+)'", text)
    root = re.search(r"pgcluster demo --stop (\S+)", text)
    assert primary_url, text
    assert replica_urls, text
    assert root, text
    try:
        with psycopg.connect(primary_url[1]) as conn:  # the promoted replica1 takes writes
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
            assert conn.execute("SELECT current_setting('cluster_name')").fetchone() == (
                "replica1",
            )
        for url in replica_urls[1].split(","):
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    finally:
        code, text = _demo("--stop", root[1])
    assert code == 0, text
    assert not Path(root[1]).exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(primary_url[1], connect_timeout=2)


def test_stop_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious").write_text("keep me")
    code, text = _demo("--stop", str(tmp_path))
    assert code == 1
    assert "not made by LocalCluster" in text
    assert (tmp_path / "precious").read_text() == "keep me"


def test_stop_of_a_missing_directory_says_so(tmp_path: Path) -> None:
    code, text = _demo("--stop", str(tmp_path / "gone"))
    assert code == 1
    assert "is not a directory" in text


@pytest.mark.parametrize("value", ["0", "many"])
def test_a_bad_statement_count_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--statements", value])
    assert "--statements" in capsys.readouterr().err
