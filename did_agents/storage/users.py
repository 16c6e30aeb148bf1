"""Users known to the issuer (RoleCredential subjects, DESIGN §4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, bindparam, select, update

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage.prepared import ignoring_conflicts
from did_agents.storage.schema import users

__all__ = ["User", "UserRepository", "UserStatus"]

UserStatus = Literal["active", "suspended", "removed"]

# Built once, run with parameter dicts (see did_agents.storage.prepared).
_FIND: Final = select(users).where(users.c.did == bindparam("b_did"))
_FIND_FOR_UPDATE: Final = _FIND.with_for_update()
# SET columns come from the parameter dict's other keys.
_UPDATE: Final = update(users).where(users.c.did == bindparam("b_did"))


@dataclass(frozen=True)
class User:
    did: str
    roles: Sequence[str]
    created_at: datetime
    updated_at: datetime
    name: str | None = None
    status: UserStatus = "active"


def _user(row: Row[Any]) -> User:
    m = row._mapping
    return User(
        did=m["did"],
        roles=tuple(m["roles"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        name=m["name"],
        status=m["status"],
    )


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, user: User) -> User:
        """Insert ``user``; :class:`ConflictError` (``user_exists``) if the DID is known."""
        inserted = self._conn.execute(
            ignoring_conflicts(self._conn, users),
            {
                "did": user.did,
                "name": user.name,
                "roles": list(user.roles),
                "status": user.status,
                "created_at": user.created_at,
                "updated_at": user.updated_at,
            },
        )
        if inserted.rowcount != 1:
            raise ConflictError("a user with this DID already exists", reason="user_exists")
        return user

    def find(self, did: str, *, for_update: bool = False) -> User | None:
        row = self._conn.execute(_FIND_FOR_UPDATE if for_update else _FIND, {"b_did": did}).first()
        return None if row is None else _user(row)

    def get(self, did: str, *, for_update: bool = False) -> User:
        user = self.find(did, for_update=for_update)
        if user is None:
            raise NotFoundError("no such user", reason="user_not_found")
        return user

    def list_users(self, *, limit: int = 100, offset: int = 0) -> list[User]:
        query = select(users).order_by(users.c.created_at, users.c.did).limit(limit).offset(offset)
        return [_user(row) for row in self._conn.execute(query)]

    def update(
        self,
        did: str,
        *,
        now: datetime,
        roles: Sequence[str] | None = None,
        status: UserStatus | None = None,
        name: str | None = None,
    ) -> User:
        """Change the given fields (``None`` leaves a field as it is)."""
        values: dict[str, Any] = {"updated_at": now}
        if roles is not None:
            values["roles"] = list(roles)
        if status is not None:
            values["status"] = status
        if name is not None:
            values["name"] = name
        result = self._conn.execute(_UPDATE, {**values, "b_did": did})
        if result.rowcount != 1:
            raise NotFoundError("no such user", reason="user_not_found")
        return self.get(did)
