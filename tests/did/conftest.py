"""Fixtures for DID tests: the anyio backend and a connection guard."""

from __future__ import annotations

from typing import Any

import pytest

from tests.servers import guard_connections


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every outgoing TCP connection attempt fails and is recorded here."""
    return guard_connections(monkeypatch)
