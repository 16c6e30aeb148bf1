"""The organization's identity: its ``did:web`` DID, its signing keys and its DID document.

did:web (W3C CCG did:web Method Specification §3.1 "Method-specific identifier",
§3.2.1 "Create"): ``did:web:<host>`` where a port is percent-encoded
(``did:web:localhost%3A8000``); the DID document is served at
``https://<host>/.well-known/did.json``.

Private keys live in the encrypted key store (:mod:`did_agents.keystore`),
public halves in the ``org_keys`` table, from which the DID document is built.
A missing or corrupt key store, a database without an organization, or a key
store that does not hold the organization's active key refuse start-up
(DESIGN §9; SECURITY FLT-07): a new identity is only ever made by
:func:`init_organization` (``did-agents init``).

Rotation (SECURITY FLT-08): :func:`rotate_signing_key` adds a new active key;
the previous one is marked ``retired`` — it signs nothing more but stays in the
DID document so credentials it signed keep verifying — until
:func:`remove_signing_key` unpublishes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from did_agents.clock import Clock
from did_agents.errors import ConfigurationError, ConflictError, KeyStoreError, NotFoundError
from did_agents.keys import KeyType, PrivateKey, PublicKey, generate
from did_agents.keystore import KeyStore
from did_agents.storage.database import Database
from did_agents.storage.organization import OrganizationRepository, OrgKey

__all__ = [
    "DID_V1_CONTEXT",
    "MULTIKEY_V1_CONTEXT",
    "SIGNING_PURPOSE",
    "OrganizationIdentity",
    "did_web_for",
    "init_organization",
    "load_organization",
    "remove_signing_key",
    "rotate_signing_key",
]

DID_V1_CONTEXT: Final = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1_CONTEXT: Final = "https://w3id.org/security/multikey/v1"
#: Key-store purpose of the key that signs credentials and status lists.
SIGNING_PURPOSE: Final = "assertionMethod"


def did_web_for(base_url: str) -> tuple[str, str]:
    """``(did, host)`` for an origin: ``https://issuer.example:8443`` → ``did:web:issuer.example%3A8443``.

    did:web §3.1: the host (and port, ``:`` percent-encoded) of the origin; a path is not used here.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigurationError("base_url must be an origin like https://issuer.example", reason="base_url")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError("base_url must be a bare origin", reason="base_url")
    host = parts.hostname.lower()
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return "did:web:" + netloc.replace(":", "%3A"), netloc


@dataclass(frozen=True)
class OrganizationIdentity:
    """The loaded identity: who signs (``did``, ``signing_kid``) and what is published (``keys``)."""

    did: str
    base_url: str
    host: str
    signing_kid: str
    signing_key: PrivateKey
    keys: tuple[OrgKey, ...]

    def __repr__(self) -> str:
        return f"OrganizationIdentity(did={self.did!r}, signing_kid={self.signing_kid!r})"

    def did_document(self) -> dict[str, Any]:
        """The DID document served at ``/.well-known/did.json`` (DID Core §5; did:web §3.2.2).

        Every published key (active and retired) is an ``assertionMethod``
        (VC Data Integrity §2.2: credential and status-list proofs use that purpose).
        """
        methods = [
            {
                "id": key.kid,
                "type": "Multikey",
                "controller": self.did,
                "publicKeyMultibase": PublicKey.from_jwk(dict(key.public_jwk)).to_multikey(),
            }
            for key in self.keys
        ]
        return {
            "@context": [DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods],
        }


def _kid_for(did: str, public_key: PublicKey) -> str:
    # A fragment that names the key itself (RFC 7638 thumbprint), so a rotated key never reuses an id.
    return f"{did}#{public_key.thumbprint()}"


def init_organization(
    database: Database,
    keystore: KeyStore,
    base_url: str,
    *,
    clock: Clock,
    key_type: KeyType = KeyType.ED25519,
    token_algorithm: Literal["EdDSA", "ES256"] = "EdDSA",  # noqa: S107 - an algorithm name
) -> OrganizationIdentity:
    """Create the organization (once): its DID, a first signing key, the public key row,
    and the verifier's first ``access-token`` signing key (``token_algorithm``).

    Refuses (``ConflictError`` ``organization_exists``) when the database already
    has an organization: identities are never replaced silently.
    """
    did, host = did_web_for(base_url)
    key = generate(key_type)
    kid = _kid_for(did, key.public_key)
    now = clock.now()

    def work(conn: Any) -> None:
        repo = OrganizationRepository(conn)
        repo.create(did, host, now=now)
        repo.add_key(
            OrgKey(
                kid=kid,
                organization_did=did,
                purpose=SIGNING_PURPOSE,
                public_jwk=key.public_key.to_jwk(),
                status="active",
                created_at=now,
            )
        )

    with database.transaction() as conn:
        if OrganizationRepository(conn).get() is not None:
            raise ConflictError("the organization is already set up", reason="organization_exists")
    # Key store first: a crash between the two writes leaves an unused private key, never a
    # published key without its private half.
    keystore.put(kid, key.to_jwk(), purpose=SIGNING_PURPOSE)
    from did_agents.exchange.access_token import create_first_key

    create_first_key(keystore, token_algorithm)
    database.run(work)
    return load_organization(database, keystore, base_url)


def load_organization(database: Database, keystore: KeyStore, base_url: str) -> OrganizationIdentity:
    """Load the identity for start-up; every inconsistency refuses to start.

    Raises ``ConfigurationError`` (``organization_missing`` / ``organization_mismatch``)
    and ``KeyStoreError`` (``key_missing`` / ``key_mismatch``).
    """
    did, host = did_web_for(base_url)
    with database.read() as conn:
        repo = OrganizationRepository(conn)
        organization = repo.get()
        if organization is None:
            raise ConfigurationError(
                "no organization in the database: run `did-agents init` first",
                reason="organization_missing",
            )
        if organization.did != did:
            raise ConfigurationError(
                f"the database belongs to {organization.did}, not {did} (check DID_AGENTS_BASE_URL)",
                reason="organization_mismatch",
            )
        try:
            active = repo.active_key(SIGNING_PURPOSE)
        except NotFoundError as exc:
            raise ConfigurationError(
                "the organization has no active signing key", reason="key_missing"
            ) from exc
        keys = tuple(repo.keys())
    if active.kid not in keystore:
        raise KeyStoreError(
            "the key store does not hold the organization's signing key", reason="key_missing"
        )
    private = PrivateKey.from_jwk(keystore.get(active.kid))
    if private.public_key.to_jwk() != PublicKey.from_jwk(dict(active.public_jwk)).to_jwk():
        raise KeyStoreError(
            "the key store's signing key differs from the published one", reason="key_mismatch"
        )
    return OrganizationIdentity(
        did=did,
        base_url=base_url.rstrip("/"),
        host=host,
        signing_kid=active.kid,
        signing_key=private,
        keys=keys,
    )


def rotate_signing_key(
    database: Database,
    keystore: KeyStore,
    organization: OrganizationIdentity,
    *,
    clock: Clock,
    key_type: KeyType = KeyType.ED25519,
) -> OrganizationIdentity:
    """Add a new active signing key; the previous one is retired but stays published."""
    key = generate(key_type)
    kid = _kid_for(organization.did, key.public_key)
    now = clock.now()
    keystore.put(kid, key.to_jwk(), purpose=SIGNING_PURPOSE)  # retires the old one in the store

    def work(conn: Any) -> None:
        repo = OrganizationRepository(conn)
        repo.retire_key(repo.active_key(SIGNING_PURPOSE).kid, now=now)
        repo.add_key(
            OrgKey(
                kid=kid,
                organization_did=organization.did,
                purpose=SIGNING_PURPOSE,
                public_jwk=key.public_key.to_jwk(),
                status="active",
                created_at=now,
            )
        )

    database.run(work)
    return load_organization(database, keystore, organization.base_url)


def remove_signing_key(
    database: Database, keystore: KeyStore, organization: OrganizationIdentity, kid: str
) -> OrganizationIdentity:
    """Unpublish a retired key: credentials it signed stop verifying. Active keys are refused."""
    if kid == organization.signing_kid:
        raise ConflictError("the active signing key cannot be removed; rotate first", reason="key_active")

    def work(conn: Any) -> bool:
        return OrganizationRepository(conn).delete_key(kid)

    if not database.run(work):
        raise NotFoundError("no retired key with this kid", reason="key_not_found")
    if kid in keystore:
        keystore.delete(kid)
    return load_organization(database, keystore, organization.base_url)
