"""The cluster layout from arguments or environment, and the roles the probes confirm."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from psycopg.conninfo import conninfo_to_dict

from pgcluster._core.topology import (
    Layout,
    NodeSpec,
    Seen,
    assign_roles,
    cluster_identity,
    layout,
)
from pgcluster.errors import ConfigurationError, RoleMismatchError

NO_ENV: dict[str, str] = {}


def names(specs: Sequence[NodeSpec]) -> list[str]:
    return [spec.name for spec in specs]


def params(config: Layout) -> list[dict[str, str | int | None]]:
    return [conninfo_to_dict(node.conninfo) for node in config.nodes]


# layout(): explicit arguments and the environment


def test_explicit_arguments_win_over_the_environment() -> None:
    env = {"DATABASE_URL": "host=envp", "DATABASE_REPLICA_URLS": "host=envr"}
    config = layout("host=p port=5433 dbname=app", ["host=r1 dbname=app", "host=r2"], env)
    assert config.primary is not None
    assert config.primary.name == "p:5433/app"
    assert config.primary.conninfo == "host=p port=5433 dbname=app"
    assert names(config.replicas) == ["r1/app", "r2"]
    assert names(config.nodes) == ["p:5433/app", "r1/app", "r2"]


def test_an_empty_replica_list_means_no_replicas_even_if_the_environment_has_some() -> None:
    config = layout("host=p", [], {"DATABASE_REPLICA_URLS": "host=r1"})
    assert config.replicas == ()


def test_the_environment_gives_the_primary_and_the_replicas() -> None:
    env = {
        "DATABASE_URL": "postgresql://app@p:5432/app",
        "DATABASE_REPLICA_URLS": " postgresql://app@r1:5432/app, ,postgresql://app@r2:5432/app,",
    }
    config = layout(None, None, env)
    assert names(config.nodes) == ["p:5432/app", "r1:5432/app", "r2:5432/app"]
    assert [n.conninfo for n in config.replicas] == [
        "postgresql://app@r1:5432/app",
        "postgresql://app@r2:5432/app",
    ]


def test_no_replica_variable_means_no_replicas() -> None:
    assert layout(None, None, {"DATABASE_URL": "host=p"}).replicas == ()


@pytest.mark.parametrize("env", [NO_ENV, {"DATABASE_URL": ""}, {"DATABASE_REPLICA_URLS": "host=r"}])
def test_a_missing_database_url_is_an_error(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        layout(None, None, env)


@pytest.mark.parametrize("replicas", ["host=r1", b"host=r1"])
def test_replicas_as_a_single_string_are_refused(replicas: str) -> None:
    with pytest.raises(ConfigurationError, match="a list of connection strings"):
        layout("host=p", replicas, NO_ENV)


@pytest.mark.parametrize(
    ("primary", "replicas", "env"),
    [
        ("host='unterminated", [], NO_ENV),
        ("host=p", ["host=r1", "nonsense"], NO_ENV),
        (None, None, {"DATABASE_URL": "host=p", "DATABASE_REPLICA_URLS": "postgresql://[r1"}),
    ],
)
def test_a_malformed_connection_string_is_an_error(
    primary: str | None, replicas: list[str] | None, env: dict[str, str]
) -> None:
    with pytest.raises(ConfigurationError, match="malformed connection string"):
        layout(primary, replicas, env)


# layout(): a multi-host URL is a set of hosts to probe


@pytest.mark.parametrize(
    ("url", "ports"),
    [
        ("postgresql://app:pw@h1:5433,h2:5434,h3:5435/app", ["5433", "5434", "5435"]),
        ("host=h1,h2,h3 port=6432 dbname=app user=app password=pw", ["6432"] * 3),
        ("postgresql://app:pw@h1,h2,h3/app", [None] * 3),
    ],
    ids=["port_per_host", "shared_port", "default_port"],
)
def test_a_multi_host_url_gives_one_conninfo_per_host(url: str, ports: list[str | None]) -> None:
    config = layout(url, None, NO_ENV)
    assert config.primary is None
    assert [(p["host"], p.get("port")) for p in params(config)] == list(
        zip(["h1", "h2", "h3"], ports, strict=True)
    )
    for p in params(config):  # everything but the host and port is kept
        assert (p["dbname"], p["user"], p["password"]) == ("app", "app", "pw")


def test_a_multi_host_url_from_the_environment_is_split_too() -> None:
    config = layout(None, None, {"DATABASE_URL": "postgresql://h1,h2/app"})
    assert config.primary is None
    assert names(config.replicas) == ["h1/app", "h2/app"]


def test_target_session_attrs_is_dropped_from_each_host() -> None:
    config = layout(
        "postgresql://h1,h2/app?target_session_attrs=read-write&connect_timeout=3", None, NO_ENV
    )
    for p in params(config):
        assert "target_session_attrs" not in p
        assert p["connect_timeout"] == "3"


def test_each_host_keeps_its_own_hostaddr() -> None:
    config = layout("host=h1,h2 hostaddr=10.0.0.1,10.0.0.2", None, NO_ENV)
    assert [p["hostaddr"] for p in params(config)] == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://h1,h2,h3/app?port=5432,5433", "3 hosts but 2 ports"),
        ("host=h1,h2 port=1,2,3", "2 hosts but 3 ports"),
    ],
)
def test_hosts_and_ports_must_match(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        layout(url, None, NO_ENV)


def test_hosts_and_hostaddrs_must_match() -> None:
    with pytest.raises(ConfigurationError, match="2 hosts but 1 hostaddrs"):
        layout("host=h1,h2 hostaddr=10.0.0.1", None, NO_ENV)


def test_a_multi_hostaddr_url_is_a_set_of_hosts_to_probe() -> None:
    config = layout("hostaddr=10.0.0.1,10.0.0.2 port=5433 dbname=app", None, NO_ENV)
    assert config.primary is None
    assert [n.name for n in config.replicas] == ["10.0.0.1:5433/app", "10.0.0.2:5433/app"]


def test_a_replica_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="NoneType"):
        layout("host=p", [None], {"DATABASE_URL": "host=elsewhere"})  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("primary", "replicas", "env"),
    [
        ("postgresql://h1,h2/app", ["host=r1"], NO_ENV),
        (
            None,
            None,
            {"DATABASE_URL": "postgresql://h1,h2/app", "DATABASE_REPLICA_URLS": "host=r1"},
        ),
    ],
    ids=["argument", "environment"],
)
def test_a_multi_host_url_with_replicas_is_refused(
    primary: str | None, replicas: list[str] | None, env: dict[str, str]
) -> None:
    with pytest.raises(ConfigurationError, match="give no replicas="):
        layout(primary, replicas, env)


# Node names and secrets


@pytest.mark.parametrize(
    ("primary", "replicas"),
    [
        ("host=db dbname=app", ["host=r dbname=app", "host=db dbname=app"]),
        ("host=db dbname=app", ["host=r dbname=app", "host=r dbname=app"]),
        ("host=db,db,other port=5432 dbname=app", None),
    ],
    ids=["primary_as_replica", "replica_twice", "multi_host"],
)
def test_the_same_server_twice_is_refused(primary: str, replicas: list[str] | None) -> None:
    with pytest.raises(ConfigurationError, match="is given twice"):
        layout(primary, replicas, NO_ENV)


def test_an_explicit_primary_takes_no_replicas_from_the_environment() -> None:
    env = {"DATABASE_URL": "host=a", "DATABASE_REPLICA_URLS": "host=other-cluster"}
    assert layout("host=p dbname=app", None, env).replicas == ()
    assert names(layout(None, None, env).replicas) == ["other-cluster"]


@pytest.mark.parametrize(
    ("primary", "replicas"),
    [
        ("postgresql://app:s3cret@p/app", ["postgresql://app:s3cret@r1/app"]),
        ("host=p password=s3cret", ["host=r1 password='s3cret' sslpassword=s3cret"]),
        ("postgresql://app:s3cret@h1:5432,h2:5433/app", None),
    ],
)
def test_no_password_in_any_repr_or_name(primary: str, replicas: list[str] | None) -> None:
    config = layout(primary, replicas, NO_ENV)
    assert "s3cret" in config.nodes[0].conninfo  # the connection still needs it
    shown = [repr(config), str(config)]
    for node in config.nodes:
        shown += [repr(node), str(node), node.name]
    assert all("s3cret" not in text for text in shown)
    assert all("***" in repr(node) for node in config.nodes)


# assign_roles(): configured roles are hints

PRIMARY, STANDBY = Seen(False, 1), Seen(True, 1)


@pytest.fixture
def declared() -> Layout:
    return layout("host=p dbname=app", ["host=r1 dbname=app", "host=r2 dbname=app"], NO_ENV)


def test_declared_roles_confirmed(declared: Layout) -> None:
    primary, replicas = assign_roles(
        declared, {"p/app": PRIMARY, "r1/app": STANDBY, "r2/app": STANDBY}
    )
    assert primary == declared.primary
    assert replicas == list(declared.replicas)


def test_after_a_failover_the_promoted_replica_is_the_primary(
    declared: Layout, caplog: pytest.LogCaptureFixture
) -> None:
    # Yesterday's primary= is a replica now: the application still starts.
    primary, replicas = assign_roles(
        declared, {"p/app": Seen(True, 2), "r1/app": Seen(False, 2), "r2/app": Seen(True, 2)}
    )
    assert primary.name == "r1/app"
    assert names(replicas) == ["p/app", "r2/app"]
    assert "the configured primary 'p/app' is not the primary: 'r1/app' is" in caplog.text


def test_with_no_primary_the_configured_one_keeps_the_seat(
    declared: Layout, caplog: pytest.LogCaptureFixture
) -> None:
    primary, replicas = assign_roles(
        declared, {"p/app": None, "r1/app": STANDBY, "r2/app": STANDBY}
    )
    assert primary == declared.primary
    assert replicas == list(declared.replicas)
    assert "no node answers as the primary (p/app: unreachable, r1/app: standby" in caplog.text


def test_of_two_primaries_the_newest_timeline_takes_the_seat(
    declared: Layout, caplog: pytest.LogCaptureFixture
) -> None:
    # The old primary thawed after a promotion: it is fenced, not chosen.
    primary, _ = assign_roles(
        declared, {"p/app": Seen(False, 1), "r1/app": STANDBY, "r2/app": Seen(False, 2)}
    )
    assert primary.name == "r2/app"
    assert "'p/app', 'r2/app' answer as primaries" in caplog.text
    # On one timeline (the same server twice?), the configured primary wins.
    primary, _ = assign_roles(declared, {"p/app": PRIMARY, "r1/app": PRIMARY, "r2/app": STANDBY})
    assert primary == declared.primary


def test_unreachable_nodes_keep_their_role_and_are_logged(
    declared: Layout, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pgcluster")
    primary, replicas = assign_roles(
        declared, {"p/app": PRIMARY, "r1/app": None, "r2/app": STANDBY}
    )
    assert primary == declared.primary
    assert replicas == list(declared.replicas)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == ["node 'r1/app' could not be reached to check its role"]


# assign_roles(): discovery among the hosts of a multi-host URL


@pytest.fixture
def hosts() -> Layout:
    return layout("postgresql://h1,h2,h3/app", None, NO_ENV)


def test_discovery_picks_the_one_primary(hosts: Layout, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pgcluster")
    primary, replicas = assign_roles(hosts, {"h1/app": STANDBY, "h2/app": PRIMARY, "h3/app": None})
    assert primary.name == "h2/app"
    assert names(replicas) == ["h1/app", "h3/app"]
    assert "'h3/app' could not be reached" in caplog.text


def test_discovery_with_no_primary_opens_for_reads(hosts: Layout) -> None:
    primary, replicas = assign_roles(hosts, {"h1/app": None, "h2/app": STANDBY, "h3/app": None})
    assert primary.name == "h1/app"  # holds the seat until a promotion is seen
    assert names(replicas) == ["h2/app", "h3/app"]


# cluster_identity(): every node of one cluster shares pg_control_system()'s identifier


def test_the_identity_is_the_primarys() -> None:
    assert cluster_identity({"p/app": 7, "r1/app": None, "r2/app": 7}, "p/app") == 7
    assert cluster_identity({"p/app": None, "r1/app": 7}, "p/app") == 7
    assert cluster_identity({"p/app": None}, "p/app") is None


def test_a_node_of_another_cluster_is_refused_naming_both_identifiers() -> None:
    with pytest.raises(RoleMismatchError) as info:
        cluster_identity({"p/app": 7, "r1/app": 7, "r2/app": 9}, "p/app")
    assert isinstance(info.value, ConfigurationError)
    message = str(info.value)
    assert "'r2/app' belongs to another cluster" in message
    assert "system_identifier is 9" in message
    assert "'p/app''s is 7" in message
