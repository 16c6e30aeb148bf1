"""Status allocation with a known list size: one guarded statement, the full path on any miss."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage import Database, StatusListRepository

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class _Rollback(Exception):
    """Ends a test transaction without committing (the allocations have no credential rows)."""


def _scripted(values: list[int]) -> Callable[[int], int]:
    it: Iterator[int] = iter(values)
    return lambda n: next(it)


@pytest.fixture
def list_id(db: Database) -> str:
    with db.transaction() as conn:
        StatusListRepository(conn).create("k", "revocation", now=NOW, size=64)
    return "k"


def test_known_size_claims_the_drawn_index(db: Database, list_id: str) -> None:
    with pytest.raises(_Rollback), db.transaction() as conn:
        repo = StatusListRepository(conn)
        assert repo.allocate(list_id, "urn:uuid:a", now=NOW, choose=_scripted([5]), size=64) == 5
        allocation = repo.allocation(list_id, 5)
        assert allocation is not None and allocation.credential_id == "urn:uuid:a"
        raise _Rollback


def test_known_size_unknown_list_refused(db: Database) -> None:
    # The list another transaction has not committed: not found, nothing inserted.
    with db.transaction() as conn, pytest.raises(NotFoundError) as exc:
        StatusListRepository(conn).allocate("missing", "urn:uuid:a", now=NOW, size=64)
    assert exc.value.reason == "status_list_not_found"


def test_taken_index_draws_again(db: Database, list_id: str) -> None:
    with pytest.raises(_Rollback), db.transaction() as conn:
        repo = StatusListRepository(conn)
        repo.allocate(list_id, "urn:uuid:a", now=NOW, choose=_scripted([3]), size=64)
        # The fast claim of 3 conflicts; the full path draws 3 again, then 9.
        assert repo.allocate(list_id, "urn:uuid:b", now=NOW, choose=_scripted([3, 3, 9]), size=64) == 9
        raise _Rollback


def test_already_allocated_refused_with_known_size(db: Database, list_id: str) -> None:
    with pytest.raises(_Rollback), db.transaction() as conn:
        repo = StatusListRepository(conn)
        repo.allocate(list_id, "urn:uuid:a", now=NOW, choose=_scripted([3]), size=64)
        with pytest.raises(ConflictError) as exc:
            repo.allocate(list_id, "urn:uuid:a", now=NOW, choose=_scripted([4, 4]), size=64)
        assert exc.value.reason == "status_already_allocated"
        raise _Rollback


def test_wrong_size_hint_stays_inside_the_list(db: Database, list_id: str) -> None:
    # A hint larger than the list: the guarded claim of 100 inserts nothing and
    # the full path draws within the real size.
    with pytest.raises(_Rollback), db.transaction() as conn:
        repo = StatusListRepository(conn)
        assert repo.allocate(list_id, "urn:uuid:a", now=NOW, choose=_scripted([100, 7]), size=128) == 7
        assert repo.allocation(list_id, 100) is None
        raise _Rollback
