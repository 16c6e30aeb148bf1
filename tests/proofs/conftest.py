"""Shared fixtures for the Data Integrity tests: vector files, keys, a resolver, a frozen clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from did_agents.clock import FixedClock
from did_agents.did.resolver import DIDResolver

VECTORS = Path(__file__).parent.parent / "vectors"
EDDSA = VECTORS / "vc-di-eddsa"
ECDSA = VECTORS / "vc-di-ecdsa"

#: `created` of every W3C vector proof.
VECTOR_CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def read_hex(path: Path) -> bytes:
    return bytes.fromhex(path.read_text("ascii").strip())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def resolver() -> DIDResolver:
    return DIDResolver()


@pytest.fixture
def vector_clock() -> FixedClock:
    """A clock at the W3C vectors' `created` instant."""
    return FixedClock(VECTOR_CREATED)
