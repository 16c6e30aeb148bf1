"""Claiming a revocation and a suspension index in one statement (``claim_pair``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from did_agents.storage import Database, StatusListRepository

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class _Rollback(Exception):
    """Ends a test transaction without committing (the allocations have no credential rows)."""


def _scripted(values: list[int]) -> Callable[[int], int]:
    it: Iterator[int] = iter(values)
    return lambda n: next(it)


@pytest.fixture
def lists(db: Database) -> tuple[str, str]:
    with db.transaction() as conn:
        StatusListRepository(conn).create("r", "revocation", now=NOW, size=64)
        StatusListRepository(conn).create("s", "suspension", now=NOW, size=64)
    return "r", "s"


def test_both_claims_land(db: Database, lists: tuple[str, str]) -> None:
    with pytest.raises(_Rollback), db.transaction() as conn:
        repo = StatusListRepository(conn)
        claimed = repo.claim_pair(
            (lists[0], 64), (lists[1], 64), "urn:uuid:a", now=NOW, choose=_scripted([5, 7])
        )
        assert claimed == (5, 7)
        assert (
            allocation := repo.allocation("r", 5)
        ) is not None and allocation.credential_id == "urn:uuid:a"
        assert (
            allocation := repo.allocation("s", 7)
        ) is not None and allocation.credential_id == "urn:uuid:a"
        raise _Rollback


def test_taken_index_misses_and_the_other_is_kept(db: Database, lists: tuple[str, str]) -> None:
    with pytest.raises(_Rollback), db.transaction() as conn:
        repo = StatusListRepository(conn)
        repo.allocate("r", "urn:uuid:a", now=NOW, choose=_scripted([3]), size=64)
        claimed = repo.claim_pair(
            (lists[0], 64), (lists[1], 64), "urn:uuid:b", now=NOW, choose=_scripted([3, 9])
        )
        assert claimed == (None, 9)
        assert (
            allocation := repo.allocation("r", 3)
        ) is not None and allocation.credential_id == "urn:uuid:a"
        assert (
            allocation := repo.allocation("s", 9)
        ) is not None and allocation.credential_id == "urn:uuid:b"
        raise _Rollback


def test_unknown_list_and_out_of_range_size_miss(db: Database, lists: tuple[str, str]) -> None:
    with pytest.raises(_Rollback), db.transaction() as conn:
        repo = StatusListRepository(conn)
        # A wrong (too large) size: index 100 is outside list "r"; "missing" does not exist.
        claimed = repo.claim_pair(
            ("r", 128), ("missing", 64), "urn:uuid:a", now=NOW, choose=_scripted([100, 1])
        )
        assert claimed == (None, None)
        assert repo.allocated_count("r") == 0
        raise _Rollback


def test_same_list_twice_claims_nothing(db: Database, lists: tuple[str, str]) -> None:
    with pytest.raises(_Rollback), db.transaction() as conn:
        repo = StatusListRepository(conn)
        assert repo.claim_pair(("r", 64), ("r", 64), "urn:uuid:a", now=NOW) == (None, None)
        assert repo.allocated_count("r") == 0
        raise _Rollback
