"""The compose backend's own logic, without Docker (the suite itself runs it for real)."""

from __future__ import annotations

import pytest

from pgcluster.testing import ComposeCluster
from pgcluster.testing.compose import _settings_line, compose_command
from pgcluster.testing.pytest_plugin import cluster_target


def test_settings_become_postgresql_conf_lines_for_the_entry_script() -> None:
    line = _settings_line({"fsync": False, "shared_buffers": "16MB", "search_path": "a, 'b'"})
    assert line == "fsync = 'off'; shared_buffers = '16MB'; search_path = 'a, ''b'''"
    with pytest.raises(ValueError, match="cannot be passed"):
        _settings_line({"archive_command": "cp %p /x; rm -rf /"})


def test_the_compose_command_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGCLUSTER_COMPOSE", "docker compose")
    assert compose_command() == ["docker", "compose"]


def test_projects_are_named_uniquely_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGCLUSTER_COMPOSE_PREFIX", "pgclusterci42x")
    first, second = ComposeCluster(), ComposeCluster()
    assert first.project.startswith("pgclusterci42x")
    assert first.project != second.project
    assert first.project == first.project.lower()


def test_the_target_is_local_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGCLUSTER_TEST_TARGET", raising=False)
    assert cluster_target() == "local"
    monkeypatch.setenv("PGCLUSTER_TEST_TARGET", "compose")
    assert cluster_target() == "compose"
    monkeypatch.setenv("PGCLUSTER_TEST_TARGET", "kubernetes")
    with pytest.raises(pytest.UsageError, match="local, compose"):
        cluster_target()
