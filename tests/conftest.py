"""Shared pytest configuration: the real-PostgreSQL fixtures come from our own plugin."""

pytest_plugins = ["pgcluster.testing.pytest_plugin", "pytester"]
