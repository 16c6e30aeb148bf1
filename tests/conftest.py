"""Shared pytest configuration."""

pytest_plugins = ["tests.db_fixtures"]
