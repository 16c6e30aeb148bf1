"""The tables (SQLAlchemy Core). The migrations in ``migrations/versions`` create
exactly this schema; ``tests/storage/test_migrations.py`` checks they agree.

Unique constraints do the concurrency work: a status-list index, a challenge
spend, an actor-token ``jti``, an access-token ``jti`` and an audit ``seq`` can
each be claimed once, whatever the interleaving.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import DateTime, TypeDecorator

__all__ = [
    "AGENT_KINDS",
    "AGENT_STATUSES",
    "AUDIT_DECISIONS",
    "CREDENTIAL_FORMATS",
    "KEY_STATUSES",
    "OPERATOR_ROLES",
    "STATUS_PURPOSES",
    "USER_STATUSES",
    "UTCDateTime",
    "access_tokens",
    "agents",
    "audit_chain_head",
    "audit_events",
    "challenges",
    "issued_credentials",
    "metadata",
    "operators",
    "org_keys",
    "organization",
    "replay_cache",
    "status_allocations",
    "status_lists",
    "users",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall time as text
    (lexically ordered, so ``<``/``>`` in SQL are correct). Naive datetimes are
    refused: they are always a bug here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError("expected a datetime from the database")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Closed sets, enforced with CHECK constraints.
OPERATOR_ROLES: Final = ("admin", "auditor")
KEY_STATUSES: Final = ("active", "retired")
AGENT_KINDS: Final = ("delegated", "autonomous")
AGENT_STATUSES: Final = ("active", "suspended", "offboarded")
USER_STATUSES: Final = ("active", "suspended", "removed")
# VCDM 2.0 §6.3 / VC-JOSE-COSE §6.1.1 media types of a secured credential.
CREDENTIAL_FORMATS: Final = ("application/vc", "application/vc+jwt")
STATUS_PURPOSES: Final = ("revocation", "suspension")
AUDIT_DECISIONS: Final = ("allowed", "denied", "info")

DID = String(2048)
SHORT = String(200)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


operators = Table(
    "operators",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", SHORT, nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    # SHA-256 (hex) of a 256-bit random token; the token itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    _one_of("role", OPERATOR_ROLES),
)

# One organization per deployment: the CHECK makes a second row impossible.
organization = Table(
    "organization",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("did", DID, nullable=False, unique=True),
    Column("host", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# Public halves of the organization's keys; private keys stay in the key store.
org_keys = Table(
    "org_keys",
    metadata,
    Column("kid", String(256), primary_key=True),
    Column("organization_did", DID, ForeignKey("organization.did"), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("public_jwk", JSON(none_as_null=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
    _one_of("status", KEY_STATUSES),
    # At most one active key per purpose: a concurrent second activation fails.
    Index(
        "uq_org_keys_active_purpose",
        "organization_did",
        "purpose",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

agents = Table(
    "agents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("did", DID, nullable=False, unique=True),
    Column("did_method", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", SHORT, nullable=False),
    Column("description", Text, nullable=False),
    Column("owner", DID, nullable=False),
    Column("model", SHORT, nullable=True),
    Column("version", String(64), nullable=True),
    Column("labels", JSON(none_as_null=True), nullable=False),
    Column("requested_capabilities", JSON(none_as_null=True), nullable=False),
    Column("delegators", JSON(none_as_null=True), nullable=False),
    Column("status", String(16), nullable=False),
    # Public JWK of an issuer-hosted did:web agent (DESIGN §3); NULL for did:key.
    Column("public_jwk", JSON(none_as_null=True), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    _one_of("kind", AGENT_KINDS),
    _one_of("status", AGENT_STATUSES),
    Index(None, "status"),
)

users = Table(
    "users",
    metadata,
    Column("did", DID, primary_key=True),
    Column("name", SHORT, nullable=True),
    Column("roles", JSON(none_as_null=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    _one_of("status", USER_STATUSES),
)

issued_credentials = Table(
    "issued_credentials",
    metadata,
    Column("id", String(512), primary_key=True),  # urn:uuid:...
    Column("type", String(128), nullable=False),
    Column("issuer_did", DID, nullable=False),
    Column("subject_did", DID, nullable=False),
    Column("agent_id", String(64), ForeignKey("agents.id"), nullable=True),
    Column("format", String(32), nullable=False),
    Column("body", Text, nullable=False),  # the secured credential as issued
    Column("valid_from", UTCDateTime, nullable=True),
    Column("valid_until", UTCDateTime, nullable=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    _one_of("format", CREDENTIAL_FORMATS),
    Index(None, "subject_did"),
    Index(None, "agent_id"),
)

status_lists = Table(
    "status_lists",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("size", Integer, nullable=False),  # number of 1-bit entries
    Column("bitstring", LargeBinary, nullable=False),  # raw, uncompressed, size/8 bytes
    Column("version", BigInteger, nullable=False),  # +1 on every bit change
    Column("signed_credential", Text, nullable=True),  # cache of the signed list VC...
    Column("signed_version", BigInteger, nullable=True),  # ...valid while == version
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    _one_of("purpose", STATUS_PURPOSES),
    CheckConstraint("size > 0 AND size % 8 = 0", name="size"),
    Index(None, "purpose"),
)

status_allocations = Table(
    "status_allocations",
    metadata,
    Column("list_id", String(64), ForeignKey("status_lists.id"), nullable=False),
    Column("status_index", Integer, nullable=False),
    # Deferred: the index is allocated before the credential that carries it is
    # signed and stored, in the same transaction.
    Column(
        "credential_id",
        String(512),
        ForeignKey("issued_credentials.id", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    Column("allocated_at", UTCDateTime, nullable=False),
    # Bitstring Status List §2.1: an index identifies one credential's entry.
    PrimaryKeyConstraint("list_id", "status_index"),
    UniqueConstraint("list_id", "credential_id"),
    CheckConstraint("status_index >= 0", name="status_index"),
    Index(None, "credential_id"),
)

challenges = Table(
    "challenges",
    metadata,
    Column("nonce", String(128), primary_key=True),
    Column("purpose", String(64), nullable=False),
    Column("domain", String(2048), nullable=False),
    Column("client_id", DID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("spent_at", UTCDateTime, nullable=True),
    Index(None, "expires_at"),
)

# Actor-token jti replay cache (RFC 7523 §3 item 7).
replay_cache = Table(
    "replay_cache",
    metadata,
    Column("issuer", DID, nullable=False),
    Column("jti", String(256), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("issuer", "jti"),
    Index(None, "expires_at"),
)

# Access tokens minted by the verifier (RFC 9068 claims kept for introspection/audit).
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("jti", String(256), primary_key=True),
    Column("sub", DID, nullable=False),
    Column("client_id", DID, nullable=False),
    Column("aud", String(2048), nullable=False),
    Column("scope", Text, nullable=False),
    Column("act", JSON(none_as_null=True), nullable=True),
    Column("chain", JSON(none_as_null=True), nullable=True),  # credential ids, root first
    Column("chain_digest", String(128), nullable=True),
    Column("kid", String(256), nullable=True),
    Column("iat", UTCDateTime, nullable=False),
    Column("exp", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index(None, "sub"),
    Index(None, "client_id"),
    Index(None, "exp"),
)

# Append-only, hash-chained (see did_agents.audit). UPDATE/DELETE are refused by
# triggers created in the migration.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("time", UTCDateTime, nullable=False),
    Column("type", String(64), nullable=False),
    Column("subject", DID, nullable=True),
    Column("actors", Text, nullable=False),  # RFC 8785 JSON array of DIDs, outermost first
    Column("client_id", DID, nullable=True),
    Column("action", String(256), nullable=True),
    Column("resource", String(2048), nullable=True),
    Column("decision", String(16), nullable=False),
    Column("reason", String(64), nullable=True),
    Column("details", Text, nullable=False),  # RFC 8785 JSON object
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    _one_of("decision", AUDIT_DECISIONS),
    Index(None, "type", "seq"),
    Index(None, "subject", "seq"),
    Index(None, "time"),
)

# The chain head: one row, locked by every append so the chain never forks.
audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
