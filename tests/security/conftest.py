"""Fixtures of the security tests: the issuer harness (tests/issuer/conftest.py) on SQLite and PostgreSQL."""

from tests.issuer.conftest import agent_key, harness

__all__ = ["agent_key", "harness"]
