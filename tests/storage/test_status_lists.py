"""Status-list storage: random unique allocation, bits that are never lost (SECURITY FLT-06)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage import (
    CredentialRepository,
    Database,
    IssuedCredential,
    StatusListRepository,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _credential(credential_id: str) -> IssuedCredential:
    return IssuedCredential(
        id=credential_id,
        type="DelegationCredential",
        issuer_did="did:key:z6MkUser",
        subject_did="did:key:z6MkAgent",
        format="application/vc",
        body="{}",
        issued_at=NOW,
    )


def _issue(db: Database, list_id: str, credential_id: str, choose: Callable[[int], int] | None = None) -> int:
    """What the issuer does: allocate, then store the credential carrying the index."""
    with db.transaction() as conn:
        statuses = StatusListRepository(conn)
        index = (
            statuses.allocate(list_id, credential_id, now=NOW)
            if choose is None
            else statuses.allocate(list_id, credential_id, now=NOW, choose=choose)
        )
        CredentialRepository(conn).add(_credential(credential_id))
        return index


def _scripted(values: list[int]) -> Callable[[int], int]:
    it: Iterator[int] = iter(values)
    return lambda n: next(it)


@pytest.fixture
def list_id(db: Database) -> str:
    with db.transaction() as conn:
        StatusListRepository(conn).create("1", "revocation", now=NOW, size=64)
    return "1"


class TestCreate:
    def test_new_list_is_all_zero_at_version_0(self, db: Database) -> None:
        with db.transaction() as conn:
            StatusListRepository(conn).create("r1", "revocation", now=NOW)
        with db.read() as conn:
            stored = StatusListRepository(conn).get("r1")
        # Bitstring Status List §6.1: 131,072 entries by default.
        assert (stored.size, stored.version, stored.bitstring) == (131_072, 0, bytes(16_384))

    def test_duplicate_id_refused(self, db: Database, list_id: str) -> None:
        with pytest.raises(ConflictError) as exc, db.transaction() as conn:
            StatusListRepository(conn).create(list_id, "suspension", now=NOW, size=64)
        assert exc.value.reason == "status_list_exists"

    @pytest.mark.parametrize("size", [0, -8, 12])
    def test_size_must_be_positive_multiple_of_8(self, db: Database, size: int) -> None:
        with pytest.raises(ValueError), db.transaction() as conn:
            StatusListRepository(conn).create("x", "revocation", now=NOW, size=size)


class TestAllocation:
    def test_index_is_the_chosen_random_one(self, db: Database, list_id: str) -> None:
        assert _issue(db, list_id, "urn:uuid:a", _scripted([41])) == 41

    def test_collision_draws_again(self, db: Database, list_id: str) -> None:
        assert _issue(db, list_id, "urn:uuid:a", _scripted([5])) == 5
        assert _issue(db, list_id, "urn:uuid:b", _scripted([5, 5, 9])) == 9

    def test_crowded_list_falls_back_to_free_indexes(self, db: Database, list_id: str) -> None:
        for i in range(63):
            _issue(db, list_id, f"urn:uuid:{i}", _scripted([i]))
        # Random draws keep hitting taken indexes; the fallback finds index 63.
        assert _issue(db, list_id, "urn:uuid:last", lambda n: 0) == 63

    def test_full_list_refused(self, db: Database, list_id: str) -> None:
        for i in range(64):
            _issue(db, list_id, f"urn:uuid:{i}", _scripted([i]))
        with pytest.raises(ConflictError) as exc:
            _issue(db, list_id, "urn:uuid:more")
        assert exc.value.reason == "status_list_full"

    def test_one_entry_per_credential_per_list(self, db: Database, list_id: str) -> None:
        with pytest.raises(ConflictError) as exc, db.transaction() as conn:
            statuses = StatusListRepository(conn)
            statuses.allocate(list_id, "urn:uuid:a", now=NOW)
            statuses.allocate(list_id, "urn:uuid:a", now=NOW)
        assert exc.value.reason == "status_already_allocated"

    def test_allocation_without_a_stored_credential_fails_at_commit(self, db: Database, list_id: str) -> None:
        # The foreign key is deferred to commit, then enforced.
        with pytest.raises(ConflictError), db.transaction() as conn:
            StatusListRepository(conn).allocate(list_id, "urn:uuid:never-stored", now=NOW)
        with db.read() as conn:
            assert StatusListRepository(conn).allocated_count(list_id) == 0

    def test_unknown_list(self, db: Database) -> None:
        with pytest.raises(NotFoundError) as exc, db.transaction() as conn:
            StatusListRepository(conn).allocate("nope", "urn:uuid:a", now=NOW)
        assert exc.value.reason == "status_list_not_found"

    def test_status_entries_of_a_credential(self, db: Database, list_id: str) -> None:
        with db.transaction() as conn:
            StatusListRepository(conn).create("s1", "suspension", now=NOW, size=64)
            StatusListRepository(conn).allocate(list_id, "urn:uuid:a", now=NOW, choose=lambda n: 3)
            StatusListRepository(conn).allocate("s1", "urn:uuid:a", now=NOW, choose=lambda n: 7)
            CredentialRepository(conn).add(_credential("urn:uuid:a"))
        with db.read() as conn:
            entries = CredentialRepository(conn).status_entries("urn:uuid:a")
        assert [(e.list_id, e.purpose, e.index) for e in entries] == [
            ("1", "revocation", 3),
            ("s1", "suspension", 7),
        ]

    def test_concurrent_allocations_are_unique_and_none_lost(self, db: Database) -> None:
        # FLT-06: 200 issuances from 8 threads on one list.
        with db.transaction() as conn:
            StatusListRepository(conn).create("big", "revocation", now=NOW, size=1024)
        barrier = threading.Barrier(8)

        def worker(n: int) -> list[int]:
            barrier.wait()
            return [_issue(db, "big", f"urn:uuid:{n}-{i}") for i in range(25)]

        with ThreadPoolExecutor(8) as pool:
            indexes = list(itertools.chain.from_iterable(pool.map(worker, range(8))))
        assert len(indexes) == 200 and len(set(indexes)) == 200
        with db.read() as conn:
            assert StatusListRepository(conn).allocated_count("big") == 200

    def test_concurrent_allocations_with_forced_collisions(self, db: Database) -> None:
        # Every thread draws from the same tiny range, so most inserts collide.
        with db.transaction() as conn:
            StatusListRepository(conn).create("tight", "revocation", now=NOW, size=64)
        barrier = threading.Barrier(8)

        def worker(n: int) -> list[int]:
            barrier.wait()
            return [
                _issue(db, "tight", f"urn:uuid:{n}-{i}", lambda size: min(n % 3, size - 1)) for i in range(8)
            ]

        with ThreadPoolExecutor(8) as pool:
            indexes = list(itertools.chain.from_iterable(pool.map(worker, range(8))))
        assert sorted(indexes) == list(range(64))


class TestBits:
    def test_bit_order_is_msb_first(self, db: Database, list_id: str) -> None:
        # Bitstring Status List: index 0 is the left-most bit of the first byte.
        for i in (0, 9, 63):
            _issue(db, list_id, f"urn:uuid:{i}", _scripted([i]))
        with db.transaction() as conn:
            for i in (0, 9, 63):
                StatusListRepository(conn).set_bit(list_id, i, True, now=NOW)
        with db.read() as conn:
            stored = StatusListRepository(conn).get(list_id)
        assert stored.bitstring[:2] == bytes([0b1000_0000, 0b0100_0000])
        assert stored.bitstring[7] == 0b0000_0001
        assert [stored.bit(i) for i in (0, 1, 9, 63)] == [True, False, True, True]

    def test_version_counts_changes_only(self, db: Database, list_id: str) -> None:
        _issue(db, list_id, "urn:uuid:a", _scripted([4]))
        with db.transaction() as conn:
            statuses = StatusListRepository(conn)
            assert statuses.set_bit(list_id, 4, True, now=NOW) == 1
            assert statuses.set_bit(list_id, 4, True, now=NOW) == 1  # no change
            assert statuses.set_bit(list_id, 4, False, now=NOW) == 2  # resume after suspension
            assert statuses.get_bit(list_id, 4) is False

    @pytest.mark.parametrize("index", [5, 64, -1])
    def test_unallocated_index_refused(self, db: Database, list_id: str, index: int) -> None:
        with pytest.raises(NotFoundError) as exc, db.transaction() as conn:
            StatusListRepository(conn).set_bit(list_id, index, True, now=NOW)
        assert exc.value.reason == "status_index_unallocated"

    def test_concurrent_bit_sets_are_never_lost(self, db: Database) -> None:
        # FLT-06: 200 revocations from 8 threads; every bit reads set afterwards.
        with db.transaction() as conn:
            StatusListRepository(conn).create("rev", "revocation", now=NOW, size=256)
        with db.transaction() as conn:
            statuses, credentials = StatusListRepository(conn), CredentialRepository(conn)
            indexes = [statuses.allocate("rev", f"urn:uuid:{i}", now=NOW) for i in range(200)]
            for i in range(200):
                credentials.add(_credential(f"urn:uuid:{i}"))
        barrier = threading.Barrier(8)

        def worker(chunk: list[int]) -> None:
            barrier.wait()
            for index in chunk:
                with db.transaction() as conn:
                    StatusListRepository(conn).set_bit("rev", index, True, now=NOW)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(worker, [indexes[i::8] for i in range(8)]))
        with db.read() as conn:
            stored = StatusListRepository(conn).get("rev")
        assert all(stored.bit(i) for i in indexes)
        assert sum(stored.bit(i) for i in range(256)) == 200
        assert stored.version == 200


class TestSignedCache:
    def test_cache_is_served_only_for_the_version_it_was_signed_at(self, db: Database, list_id: str) -> None:
        _issue(db, list_id, "urn:uuid:a", _scripted([1]))
        with db.transaction() as conn:
            statuses = StatusListRepository(conn)
            assert statuses.store_signed(list_id, "signed-v0", version=0)
            assert statuses.get(list_id).current_signed_credential == "signed-v0"
            statuses.set_bit(list_id, 1, True, now=NOW)
            assert statuses.get(list_id).current_signed_credential is None

    def test_stale_signature_is_not_stored(self, db: Database, list_id: str) -> None:
        _issue(db, list_id, "urn:uuid:a", _scripted([1]))
        with db.transaction() as conn:
            statuses = StatusListRepository(conn)
            statuses.set_bit(list_id, 1, True, now=NOW)  # version 1
            assert statuses.store_signed(list_id, "signed-over-v0", version=0) is False
            assert statuses.get(list_id).signed_credential is None
