"""Fixtures of the OAuth / MCP security tests (SECURITY.md SEC-01…24, SEC-55…58, FLT-05/08/12/13).

``live``: the real verifier app on uvicorn over the Urban Bites world, on SQLite and
PostgreSQL (tests/verifier/conftest.py). ``stack``: the Urban Bites MCP server behind the
MCP kit on uvicorn with a JWKS server we control (tests/mcp/conftest.py). Every test here
also runs under :func:`no_secrets_in_logs` (FLT-13): log records of the services are
captured and must not contain any token registered with :func:`checks.remember_secret`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.mcp.conftest import anyio_backend, stack
from tests.security_oauth import checks
from tests.verifier.conftest import live

__all__ = ["anyio_backend", "live", "no_secrets_in_logs", "stack"]


@pytest.fixture(autouse=True)
def no_secrets_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """FLT-13 / NEG-INV 3: no raw token, VP or key material in any service log record."""
    checks.SECRETS.clear()
    caplog.set_level(logging.DEBUG)
    yield
    leaks = checks.leaked_secrets(caplog.records)
    checks.SECRETS.clear()
    assert not leaks, leaks
