"""``pgcluster route``: target and reason, --json, and statements from stdin."""

from __future__ import annotations

import io
import json

import pytest

from pgcluster.cli import main


def test_route_prints_target_and_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "SELECT nextval('s')", "SELECT 1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("primary\t")
    assert "nextval()" in lines[0]
    assert lines[1].startswith("replica\t")


def test_route_marks_session_statements(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "SET search_path TO app"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("[session]")


def test_route_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "--json", "DELETE FROM t", "LISTEN c"]) == 0
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert objs[0] == {
        "sql": "DELETE FROM t",
        "target": "primary",
        "reason": "DELETE writes rows",
        "session": False,
    }
    assert objs[1]["session"] is True


def test_route_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT 1\n\nUPDATE t SET x = 1\n"))
    assert main(["route", "--json", "-"]) == 0
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["target"] for o in objs] == ["replica", "primary"]
    assert objs[1]["sql"] == "UPDATE t SET x = 1"


def test_route_invalid_statement(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "/* nothing */", "SELECT 1"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("error\t")
    assert out[1].startswith("replica\t")
    assert main(["route", "--json", " "]) == 1
    assert "error" in json.loads(capsys.readouterr().out)


def test_route_needs_a_statement(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["route"])
    capsys.readouterr()
