"""Users and their RoleCredentials (DESIGN §4, §6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from did_agents.issuance import users as core
from issuer.deps import Admin, IssuerDep, Reader
from issuer.models import ErrorOut, UserOut, UserPatch, UserRegistration

__all__ = ["router"]

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses={
        400: {"model": ErrorOut},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
    },
)


def _out(view: core.UserView) -> dict[str, Any]:
    user = view.user
    return {
        "did": user.did,
        "name": user.name,
        "roles": list(user.roles),
        "status": user.status,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "credential_id": view.credential.id if view.credential else None,
        "credential": view.credential_document,
    }


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    summary="Register a user DID with roles and issue its RoleCredential",
)
def register(body: UserRegistration, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    return _out(core.register_user(issuer, body.did, body.roles, actor, name=body.name, format=body.format))


@router.get("/{did}", response_model=UserOut, summary="A user and its current RoleCredential")
def get_user(did: str, issuer: IssuerDep, actor: Reader) -> dict[str, Any]:
    return _out(core.get_user(issuer, did))


@router.patch("/{did}", response_model=UserOut, summary="Change roles (new RoleCredential, old one revoked)")
def update_roles(did: str, body: UserPatch, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    return _out(core.update_user_roles(issuer, did, body.roles, actor, format=body.format))


@router.delete(
    "/{did}", response_model=UserOut, summary="Remove a user: revoke its RoleCredentials (idempotent)"
)
def remove(did: str, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    return _out(core.remove_user(issuer, did, actor))
