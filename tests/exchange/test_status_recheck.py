"""``DatabaseStatusRecheck`` (SECURITY FLT-04): the status bits the mint transaction reads again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from did_agents.errors import VerificationError
from did_agents.exchange.status_lists import DatabaseStatusRecheck, StatusReference, status_references
from did_agents.storage.database import Database
from did_agents.storage.schema import status_lists
from did_agents.storage.status_lists import StatusListRepository

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PREFIX = "https://issuer.example/status/"


def _set(db: Database, list_id: str, index: int) -> None:
    # The issuer sets bits of allocated entries (set_bit); here the bit is written directly.
    with db.transaction() as conn:
        bits = bytearray(StatusListRepository(conn).get(list_id).bitstring)
        bits[index // 8] |= 0x80 >> (index % 8)
        conn.execute(update(status_lists).where(status_lists.c.id == list_id).values(bitstring=bytes(bits)))


@pytest.fixture
def lists(db: Database) -> Database:
    with db.transaction() as conn:
        repo = StatusListRepository(conn)
        repo.create("rev", "revocation", now=NOW, size=64)
        repo.create("sus", "suspension", now=NOW, size=64)
    _set(db, "sus", 5)
    return db


def _check(db: Database, *refs: StatusReference) -> None:
    with db.transaction() as conn:
        DatabaseStatusRecheck(PREFIX)(conn, refs)


def ref(list_id: str, index: int, purpose: str = "revocation") -> StatusReference:
    return StatusReference(PREFIX + list_id, index, purpose, "urn:uuid:c")


def test_clear_bits_pass(lists: Database) -> None:
    _check(lists, ref("rev", 5), ref("rev", 6))


@pytest.mark.parametrize(
    ("refs", "reason"),
    [
        ((ref("sus", 5, "suspension"),), "suspended"),
        ((ref("rev", 70),), "status_unavailable"),  # beyond the list
        ((ref("gone", 1),), "status_unavailable"),  # no such list here
    ],
)
def test_set_bits_and_missing_entries_refuse(
    lists: Database, refs: tuple[StatusReference, ...], reason: str
) -> None:
    with pytest.raises(VerificationError) as refused:
        _check(lists, *refs)
    assert refused.value.reason == reason


def test_a_revocation_bit_is_revoked(lists: Database) -> None:
    _set(lists, "rev", 5)
    with pytest.raises(VerificationError) as refused:
        _check(lists, ref("rev", 5))
    assert refused.value.reason == "revoked"


def test_other_hosts_lists_are_left_to_the_cache(lists: Database) -> None:
    _check(lists, StatusReference("https://elsewhere.example/status/sus", 5, "suspension", "c"))


def test_status_references_of_verified_credentials() -> None:
    documents = [
        {
            "id": "urn:uuid:a",
            "credentialStatus": [
                {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                    "statusListIndex": "17",
                    "statusListCredential": PREFIX + "rev",
                },
                {
                    "statusPurpose": "suspension",
                    "statusListIndex": "²",
                    "statusListCredential": PREFIX + "sus",
                },
            ],
        },
        {
            "credentialStatus": {
                "statusPurpose": "suspension",
                "statusListIndex": "3",
                "statusListCredential": "x",
            }
        },
        None,
        {"id": "urn:uuid:no-status"},
    ]
    assert status_references(documents) == (
        StatusReference(PREFIX + "rev", 17, "revocation", "urn:uuid:a"),
        StatusReference("x", 3, "suspension", "credential #1"),
    )
