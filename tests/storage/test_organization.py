"""The organization and its public keys (one active key per purpose)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage import Database, OrganizationRepository, OrgKey

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ORG = "did:web:issuer.example"
JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}


def _key(kid: str, status: str = "active") -> OrgKey:
    return OrgKey(
        kid=kid,
        organization_did=ORG,
        purpose="assertion",
        public_jwk=JWK,
        status=status,
        created_at=NOW,  # type: ignore[arg-type]
    )


@pytest.fixture
def org_db(db: Database) -> Database:
    with db.transaction() as conn:
        OrganizationRepository(conn).create(ORG, "issuer.example", now=NOW)
    return db


def test_only_one_organization(org_db: Database) -> None:
    with pytest.raises(ConflictError) as exc, org_db.transaction() as conn:
        OrganizationRepository(conn).create("did:web:other.example", "other.example", now=NOW)
    assert exc.value.reason == "organization_exists"
    with org_db.read() as conn:
        org = OrganizationRepository(conn).get()
    assert org is not None and org.did == ORG


def test_second_active_key_for_a_purpose_refused(org_db: Database) -> None:
    with org_db.transaction() as conn:
        OrganizationRepository(conn).add_key(_key("k1"))
    with pytest.raises(ConflictError) as exc, org_db.transaction() as conn:
        OrganizationRepository(conn).add_key(_key("k2"))
    assert exc.value.reason == "active_key_exists"


def test_rotation_retire_then_add(org_db: Database) -> None:
    with org_db.transaction() as conn:
        repo = OrganizationRepository(conn)
        repo.add_key(_key("k1"))
        repo.retire_key("k1", now=NOW)
        repo.add_key(_key("k2"))
        assert repo.active_key("assertion").kid == "k2"
        assert [k.kid for k in repo.keys(status="retired")] == ["k1"]
        assert dict(repo.keys()[0].public_jwk) == JWK


def test_only_retired_keys_can_be_deleted(org_db: Database) -> None:
    with org_db.transaction() as conn:
        repo = OrganizationRepository(conn)
        repo.add_key(_key("k1"))
        assert repo.delete_key("k1") is False
        repo.retire_key("k1", now=NOW)
        assert repo.delete_key("k1") is True
        with pytest.raises(NotFoundError) as exc:
            repo.active_key("assertion")
    assert exc.value.reason == "no_active_key"


def test_key_needs_the_organization(db: Database) -> None:
    with pytest.raises(ConflictError), db.transaction() as conn:
        OrganizationRepository(conn).add_key(_key("k1"))
