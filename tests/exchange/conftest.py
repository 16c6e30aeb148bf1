from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from did_agents.storage.database import Database
from tests.exchange.harness import Harness


@pytest.fixture
def h(db: Database, tmp_path: Path) -> Iterator[Harness]:
    yield Harness(db, tmp_path)
