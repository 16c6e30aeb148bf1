"""Issued credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage import CredentialRepository, Database, IssuedCredential

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
VC = IssuedCredential(
    id="urn:uuid:0f3c0000-0000-4000-8000-000000000001",
    type="DelegationCredential",
    issuer_did="did:key:z6MkSmith",
    subject_did="did:key:z6MkOrdering",
    format="application/vc+jwt",
    body="eyJhbGciOiJFZERTQSJ9.e30.sig",
    issued_at=NOW,
    valid_from=NOW,
    valid_until=NOW + timedelta(hours=8),
)


def test_round_trip_and_unique_id(db: Database) -> None:
    with db.transaction() as conn:
        CredentialRepository(conn).add(VC)
    with pytest.raises(ConflictError) as exc, db.transaction() as conn:
        CredentialRepository(conn).add(VC)
    assert exc.value.reason == "credential_exists"
    with db.read() as conn:
        repo = CredentialRepository(conn)
        assert repo.get(VC.id) == VC
        assert repo.by_subject(VC.subject_did) == [VC]


def test_mark_revoked_once(db: Database) -> None:
    with db.transaction() as conn:
        repo = CredentialRepository(conn)
        repo.add(VC)
        assert repo.mark_revoked(VC.id, now=NOW) is True
        assert repo.mark_revoked(VC.id, now=NOW + timedelta(1)) is False
        assert repo.get(VC.id).revoked_at == NOW
        with pytest.raises(NotFoundError):
            repo.mark_revoked("urn:uuid:unknown", now=NOW)


def test_agent_must_exist(db: Database) -> None:
    from dataclasses import replace

    with pytest.raises(ConflictError), db.transaction() as conn:
        CredentialRepository(conn).add(replace(VC, agent_id="no-such-agent"))


def test_format_is_a_media_type(db: Database) -> None:
    from dataclasses import replace

    with pytest.raises(ConflictError), db.transaction() as conn:
        CredentialRepository(conn).add(replace(VC, format="jwt"))  # type: ignore[arg-type]
