"""Users and their RoleCredentials (DESIGN §4).

The issuer keeps a role → capabilities mapping (configuration). Registering a
user records its DID and roles and issues a RoleCredential whose
``capabilities`` are the union of its roles' capabilities; changing the roles
issues a new credential and revokes the previous one; removing the user revokes
every RoleCredential it holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection

from did_agents.credentials.capability import Capability, parse_capabilities
from did_agents.did import jwk as did_jwk
from did_agents.did import key as did_key
from did_agents.did import web as did_web
from did_agents.did.document import parse_did
from did_agents.errors import ConflictError, MalformedError
from did_agents.issuance.context import Actor, Issuer
from did_agents.issuance.credentials import ROLE_CREDENTIAL, new_credential_id, role_credential
from did_agents.issuance.securing import (
    SecuredCredential,
    choose_format,
    secure_credential,
    stored_document,
)
from did_agents.issuance.status import allocate_status, revoke_credential
from did_agents.storage.credentials import CredentialRepository, IssuedCredential, latest_unrevoked
from did_agents.storage.users import User, UserRepository

__all__ = ["UserView", "get_user", "register_user", "remove_user", "update_user_roles"]

_ROLE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_ROLES: Final = 32


@dataclass(frozen=True)
class UserView:
    user: User
    credential: IssuedCredential | None
    secured: SecuredCredential | None = None

    @property
    def credential_document(self) -> Any:
        if self.secured is not None:
            return self.secured.document
        if self.credential is None:
            return None
        return stored_document(self.credential.format, self.credential.body)


def _roles(issuer: Issuer, roles: Sequence[str]) -> tuple[str, ...]:
    if isinstance(roles, str) or not 1 <= len(roles) <= MAX_ROLES:
        raise MalformedError(f"roles must be a list of 1..{MAX_ROLES} role names", reason="invalid_roles")
    out: list[str] = []
    for role in roles:
        if not isinstance(role, str) or not _ROLE.match(role):
            raise MalformedError(f"{str(role)[:64]!r} is not a role name", reason="invalid_roles")
        if role not in issuer.config.role_capabilities:
            raise MalformedError(f"unknown role {role!r}", reason="unknown_role")
        if role not in out:
            out.append(role)
    return tuple(out)


def _role_capabilities(issuer: Issuer, roles: Sequence[str]) -> tuple[Capability, ...]:
    merged: dict[str, list[str]] = {}
    for role in roles:
        for cap in parse_capabilities(list(issuer.config.role_capabilities[role]), allow_empty=True):
            scopes = merged.setdefault(cap.resource, [])
            scopes.extend(s for s in cap.scopes if s not in scopes)
    return tuple(Capability(resource, tuple(scopes)) for resource, scopes in merged.items())


def _current(conn: Connection, did: str) -> IssuedCredential | None:
    return latest_unrevoked(CredentialRepository(conn).by_subject(did, limit=1000), ROLE_CREDENTIAL)


def _issue(
    conn: Connection, issuer: Issuer, user: User, securing: str
) -> tuple[IssuedCredential, SecuredCredential]:
    credential_id = new_credential_id()
    status = allocate_status(conn, issuer, credential_id, ("revocation",))
    now = issuer.clock.now()
    valid_until = now + issuer.config.credential_validity
    unsigned = role_credential(
        credential_id=credential_id,
        issuer=issuer.organization.did,
        user_did=user.did,
        roles=user.roles,
        capabilities=_role_capabilities(issuer, user.roles),
        valid_from=now,
        valid_until=valid_until,
        status=status,
    )
    secured = secure_credential(unsigned, issuer.organization, securing, clock=issuer.clock)
    stored = CredentialRepository(conn).add(
        IssuedCredential(
            id=credential_id,
            type=ROLE_CREDENTIAL,
            issuer_did=issuer.organization.did,
            subject_did=user.did,
            format=secured.format,
            body=secured.body,
            issued_at=now,
            valid_from=now,
            valid_until=valid_until,
        )
    )
    return stored, secured


def _user_event(
    issuer: Issuer,
    did: str,
    actor: Actor,
    *,
    type: str,
    action: str,
    work: Callable[[Connection], UserView],
    describe: Callable[[UserView], Mapping[str, Any]] | None = None,
) -> UserView:
    """Run ``work`` audited as ``type`` with the user's DID as the event's subject."""
    return issuer.audited(
        type=type,
        actor=actor,
        subject=did[:2048] if isinstance(did, str) else None,
        action=action,
        work=work,
        describe=describe,
    )


def _issued(view: UserView) -> dict[str, Any]:
    """The audit details of a change that issued a RoleCredential."""
    return {"credential_id": view.credential.id if view.credential else None, "roles": list(view.user.roles)}


def register_user(
    issuer: Issuer,
    did: str,
    roles: Sequence[str],
    actor: Actor,
    *,
    name: str | None = None,
    format: str | None = None,
) -> UserView:
    """Register ``did`` with ``roles`` and issue its RoleCredential. 409 ``user_exists`` if known."""

    def work(conn: Connection) -> UserView:
        _check_user_did(did)
        if name is not None and (not isinstance(name, str) or len(name) > 200 or not name.isprintable()):
            raise MalformedError(
                "name must be printable text of at most 200 characters", reason="invalid_request"
            )
        now = issuer.clock.now()
        user = UserRepository(conn).add(
            User(did=did, roles=_roles(issuer, roles), created_at=now, updated_at=now, name=name)
        )
        stored, secured = _issue(conn, issuer, user, choose_format(format, issuer.default_format))
        return UserView(user, stored, secured)

    return _user_event(
        issuer, did, actor, type="user.registered", action="register", work=work, describe=_issued
    )


def _check_user_did(did: str) -> None:
    """A DID a RoleCredential can be issued to: generic DID syntax, and for the methods
    we resolve, the method's own rules (SECURITY SEC-28: did:key spec §Decode Public Key —
    ``invalidDid`` / ``invalidPublicKeyLength`` / ``invalidPublicKey`` /
    ``unsupportedPublicKeyType``; did:web §Method-specific identifier). Raises
    ``MalformedError`` / ``ResolutionError`` (400 ``invalid_request``)."""
    method, _ = parse_did(did)
    if method == "key":
        did_key.resolve(did)
    elif method == "jwk":
        did_jwk.resolve(did)
    elif method == "web":
        did_web.parse(did)


def get_user(issuer: Issuer, did: str) -> UserView:
    parse_did(did)
    with issuer.database.read() as conn:
        return UserView(UserRepository(conn).get(did), _current(conn, did))


def update_user_roles(
    issuer: Issuer, did: str, roles: Sequence[str], actor: Actor, *, format: str | None = None
) -> UserView:
    """New roles → a new RoleCredential, the old one revoked (no-op if the roles are the same)."""

    def work(conn: Connection) -> UserView:
        parse_did(did)
        repo = UserRepository(conn)
        user = repo.get(did, for_update=True)
        if user.status == "removed":
            raise ConflictError("the user was removed", reason="user_removed")
        wanted = _roles(issuer, roles)
        current = _current(conn, did)
        if tuple(user.roles) == wanted and current is not None:
            return UserView(user, current)
        user = repo.update(did, now=issuer.clock.now(), roles=wanted)
        if current is not None:
            revoke_credential(conn, issuer, current.id)
        stored, secured = _issue(conn, issuer, user, choose_format(format, issuer.default_format))
        return UserView(user, stored, secured)

    return _user_event(
        issuer, did, actor, type="user.updated", action="update_roles", work=work, describe=_issued
    )


def remove_user(issuer: Issuer, did: str, actor: Actor) -> UserView:
    """Revoke every RoleCredential of the user and mark it removed (idempotent)."""

    def work(conn: Connection) -> UserView:
        parse_did(did)
        repo = UserRepository(conn)
        user = repo.get(did, for_update=True)
        if user.status == "removed":
            return UserView(user, None)
        for credential in CredentialRepository(conn).by_subject(did, limit=10_000):
            if credential.type == ROLE_CREDENTIAL and credential.revoked_at is None:
                revoke_credential(conn, issuer, credential.id)
        return UserView(repo.update(did, now=issuer.clock.now(), status="removed"), None)

    return _user_event(issuer, did, actor, type="user.removed", action="remove", work=work)
