"""Connection strings: resolving, checking and showing them without secrets."""

from __future__ import annotations

import pytest

from pgcluster._core.conninfo import (
    describe,
    redact,
    resolve,
)
from pgcluster.errors import ConfigurationError


def test_resolve_prefers_the_argument_then_database_url() -> None:
    assert resolve("host=a", env={"DATABASE_URL": "host=b"}) == "host=a"
    assert resolve(None, env={"DATABASE_URL": "host=b"}) == "host=b"
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        resolve(None, env={})
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        resolve(None, env={"DATABASE_URL": ""})


def test_resolve_refuses_non_strings() -> None:
    with pytest.raises(ConfigurationError, match="bytes"):
        resolve(b"host=a")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://app:s3cret@db1:5432/app",
        "host=db1 password=s3cret user=app",
        "host=db1 password='s3 cret' sslpassword=s3cret",
    ],
)
def test_redact_hides_every_secret(dsn: str) -> None:
    shown = redact(dsn)
    assert "s3" not in shown
    assert "db1" in shown
    assert "***" in shown


def test_describe_is_short_and_secret_free() -> None:
    assert describe("postgresql://app:s3cret@db1:6432/app") == "db1:6432/app"
    assert describe("host=db1") == "db1"
    assert describe("dbname=x") == "localhost/x"
