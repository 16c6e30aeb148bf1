"""Initial schema: registry, credentials, status lists, challenges, replay cache,
minted tokens, and the append-only, hash-chained audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)
_GENESIS = "0" * 64

# SECURITY FLT-13: audit rows are append-only; UPDATE/DELETE/TRUNCATE are refused
# by the database itself, whoever connects. The chain head only moves forward.
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
    WHEN NEW.seq <> OLD.seq + 1 OR NEW.id <> OLD.id
    BEGIN SELECT RAISE(ABORT, 'audit chain head only moves forward'); END""",
    """CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    BEGIN SELECT RAISE(ABORT, 'audit chain head cannot be deleted'); END""",
)

_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'restrict_violation';
    END $$""",
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()""",
    """CREATE FUNCTION audit_chain_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'UPDATE' OR NEW.seq <> OLD.seq + 1 OR NEW.id <> OLD.id THEN
            RAISE EXCEPTION 'audit chain head only moves forward'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE OR DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward()""",
    """CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()""",
)


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("sub", sa.String(length=2048), nullable=False),
        sa.Column("client_id", sa.String(length=2048), nullable=False),
        sa.Column("aud", sa.String(length=2048), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("act", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("chain", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("chain_digest", sa.String(length=128), nullable=True),
        sa.Column("kid", sa.String(length=256), nullable=True),
        sa.Column("iat", _TS, nullable=False),
        sa.Column("exp", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_access_tokens")),
    )
    op.create_index(op.f("ix_access_tokens_client_id"), "access_tokens", ["client_id"], unique=False)
    op.create_index(op.f("ix_access_tokens_exp"), "access_tokens", ["exp"], unique=False)
    op.create_index(op.f("ix_access_tokens_sub"), "access_tokens", ["sub"], unique=False)

    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("did", sa.String(length=2048), nullable=False),
        sa.Column("did_method", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=2048), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("labels", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("requested_capabilities", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("delegators", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("kind IN ('delegated', 'autonomous')", name=op.f("ck_agents_kind")),
        sa.CheckConstraint("status IN ('active', 'suspended', 'offboarded')", name=op.f("ck_agents_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("did", name=op.f("uq_agents_did")),
    )
    op.create_index(op.f("ix_agents_status"), "agents", ["status"], unique=False)

    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("time", _TS, nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=2048), nullable=True),
        sa.Column("actors", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=2048), nullable=True),
        sa.Column("action", sa.String(length=256), nullable=True),
        sa.Column("resource", sa.String(length=2048), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "decision IN ('allowed', 'denied', 'info')", name=op.f("ck_audit_events_decision")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_index(op.f("ix_audit_events_subject_seq"), "audit_events", ["subject", "seq"], unique=False)
    op.create_index(op.f("ix_audit_events_time"), "audit_events", ["time"], unique=False)
    op.create_index(op.f("ix_audit_events_type_seq"), "audit_events", ["type", "seq"], unique=False)

    op.create_table(
        "challenges",
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.String(length=2048), nullable=False),
        sa.Column("client_id", sa.String(length=2048), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("spent_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_challenges")),
    )
    op.create_index(op.f("ix_challenges_expires_at"), "challenges", ["expires_at"], unique=False)

    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.CheckConstraint("role IN ('admin', 'auditor')", name=op.f("ck_operators_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("name", name=op.f("uq_operators_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operators_token_hash")),
    )
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("did", sa.String(length=2048), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_organization_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("did", name=op.f("uq_organization_did")),
    )
    op.create_table(
        "replay_cache",
        sa.Column("issuer", sa.String(length=2048), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name=op.f("pk_replay_cache")),
    )
    op.create_index(op.f("ix_replay_cache_expires_at"), "replay_cache", ["expires_at"], unique=False)

    op.create_table(
        "status_lists",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bitstring", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("signed_credential", sa.Text(), nullable=True),
        sa.Column("signed_version", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("purpose IN ('revocation', 'suspension')", name=op.f("ck_status_lists_purpose")),
        sa.CheckConstraint("size > 0 AND size % 8 = 0", name=op.f("ck_status_lists_size")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
    )
    op.create_index(op.f("ix_status_lists_purpose"), "status_lists", ["purpose"], unique=False)

    op.create_table(
        "users",
        sa.Column("did", sa.String(length=2048), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("roles", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended', 'removed')", name=op.f("ck_users_status")),
        sa.PrimaryKeyConstraint("did", name=op.f("pk_users")),
    )
    op.create_table(
        "issued_credentials",
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("issuer_did", sa.String(length=2048), nullable=False),
        sa.Column("subject_did", sa.String(length=2048), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("valid_from", _TS, nullable=True),
        sa.Column("valid_until", _TS, nullable=True),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.CheckConstraint(
            "format IN ('application/vc', 'application/vc+jwt')", name=op.f("ck_issued_credentials_format")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_issued_credentials_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_credentials")),
    )
    op.create_index(op.f("ix_issued_credentials_agent_id"), "issued_credentials", ["agent_id"], unique=False)
    op.create_index(
        op.f("ix_issued_credentials_subject_did"), "issued_credentials", ["subject_did"], unique=False
    )

    op.create_table(
        "org_keys",
        sa.Column("kid", sa.String(length=256), nullable=False),
        sa.Column("organization_did", sa.String(length=2048), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("public_jwk", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("retired_at", _TS, nullable=True),
        sa.CheckConstraint("status IN ('active', 'retired')", name=op.f("ck_org_keys_status")),
        sa.ForeignKeyConstraint(
            ["organization_did"], ["organization.did"], name=op.f("fk_org_keys_organization_did_organization")
        ),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_org_keys")),
    )
    op.create_index(
        "uq_org_keys_active_purpose",
        "org_keys",
        ["organization_did", "purpose"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )

    op.create_table(
        "status_allocations",
        sa.Column("list_id", sa.String(length=64), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=512), nullable=False),
        sa.Column("allocated_at", _TS, nullable=False),
        sa.CheckConstraint("status_index >= 0", name=op.f("ck_status_allocations_status_index")),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["issued_credentials.id"],
            name=op.f("fk_status_allocations_credential_id_issued_credentials"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["status_lists.id"], name=op.f("fk_status_allocations_list_id_status_lists")
        ),
        sa.PrimaryKeyConstraint("list_id", "status_index", name=op.f("pk_status_allocations")),
        sa.UniqueConstraint(
            "list_id", "credential_id", name=op.f("uq_status_allocations_list_id_credential_id")
        ),
    )
    op.create_index(
        op.f("ix_status_allocations_credential_id"), "status_allocations", ["credential_id"], unique=False
    )

    op.execute(
        sa.text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, :genesis)").bindparams(
            genesis=_GENESIS
        )
    )
    triggers = _POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_events_refuse_change() CASCADE")
        op.execute("DROP FUNCTION audit_chain_head_forward() CASCADE")
    for table in (
        "status_allocations",
        "org_keys",
        "issued_credentials",
        "users",
        "status_lists",
        "replay_cache",
        "organization",
        "operators",
        "challenges",
        "audit_events",
        "audit_chain_head",
        "agents",
        "access_tokens",
    ):
        op.drop_table(table)
