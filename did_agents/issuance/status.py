"""The issuer's status lists (W3C Bitstring Status List v1.0, "BSL" below).

- :func:`allocate_status` gives a credential being issued a random, unused
  index in the current list of each purpose (BSL §2.1 ``statusListIndex``
  SHOULD be random; §6.5 herd privacy). Uniqueness under concurrency is the
  ``(list_id, status_index)`` primary key (SECURITY FLT-06); a full list is
  followed by a new one.
- :func:`set_credential_status` flips a credential's revocation or suspension bit.
- :func:`publish_status_list` returns the signed ``BitstringStatusListCredential``
  (BSL §2.2, §3.1), re-signed only when the bits changed since it was last signed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection

from did_agents.errors import ConflictError, NotFoundError
from did_agents.issuance.context import Issuer
from did_agents.issuance.securing import rdfc_suite, secure_credential
from did_agents.status.bitstring import StatusList as Bitstring
from did_agents.status.bitstring import build_status_list_credential, make_status_entry
from did_agents.storage.credentials import CredentialRepository
from did_agents.storage.database import Database
from did_agents.storage.status_lists import StatusListRepository

__all__ = [
    "PublishedStatusList",
    "StatusPurpose",
    "allocate_status",
    "publish_status_list",
    "revoke_credential",
    "set_credential_status",
    "status_list_url",
]

StatusPurpose = Literal["revocation", "suspension"]


# list id -> size, for the lists named in ``Issuer.current_lists`` (a list's size
# never changes; ids are random). Lets allocation claim an index in one
# statement; a stale or wrong entry only sends it down the full path.
_LIST_SIZES: dict[str, int] = {}
_MAX_LIST_SIZES = 1024


def _remember_size(list_id: str, size: int) -> None:
    if len(_LIST_SIZES) >= _MAX_LIST_SIZES:
        _LIST_SIZES.clear()
    _LIST_SIZES[list_id] = size


def status_list_url(issuer: Issuer, list_id: str) -> str:
    return f"{issuer.base_url}/status/{list_id}"


def _current_list(conn: Connection, issuer: Issuer, purpose: StatusPurpose) -> str:
    hint = issuer.current_lists.get(purpose)
    if hint is not None:
        return hint  # checked by allocate_status, which falls back to the database
    lists = StatusListRepository(conn).lists(purpose=purpose)
    if lists:
        list_id = lists[-1].id
        _remember_size(list_id, lists[-1].size)
    else:
        list_id = _new_list(conn, issuer, purpose)
    issuer.current_lists[purpose] = list_id
    return list_id


def _new_list(conn: Connection, issuer: Issuer, purpose: StatusPurpose) -> str:
    # Random ids: a list's name tells nothing about how many lists exist.
    list_id = secrets.token_hex(8)
    created = StatusListRepository(conn).create(
        list_id, purpose, now=issuer.clock.now(), size=issuer.config.status_list_size
    )
    _remember_size(list_id, created.size)
    return list_id


def allocate_status(
    conn: Connection,
    issuer: Issuer,
    credential_id: str,
    purposes: Sequence[StatusPurpose] = ("revocation", "suspension"),
) -> list[dict[str, str]]:
    """Claim one random index per purpose for ``credential_id``; returns the
    ``BitstringStatusListEntry`` objects for its ``credentialStatus`` (BSL §2.1)."""
    entries = []
    repo = StatusListRepository(conn)
    now = issuer.clock.now()
    claimed: dict[StatusPurpose, tuple[str, int]] = {}
    if len(purposes) == 2 and purposes[0] != purposes[1]:
        # Both claims in one statement when the current lists and their sizes are known;
        # whatever does not land is claimed one by one below (a landed claim is kept).
        ids = [_current_list(conn, issuer, purpose) for purpose in purposes]
        sizes = [_LIST_SIZES.get(list_id) for list_id in ids]
        if sizes[0] is not None and sizes[1] is not None:
            indexes = repo.claim_pair((ids[0], sizes[0]), (ids[1], sizes[1]), credential_id, now=now)
            for purpose, list_id, index in zip(purposes, ids, indexes, strict=True):
                if index is not None:
                    claimed[purpose] = (list_id, index)
    for purpose in purposes:
        if purpose in claimed:
            list_id, index = claimed[purpose]
            entries.append(make_status_entry(status_list_url(issuer, list_id), index, purpose))
            continue
        list_id = _current_list(conn, issuer, purpose)
        try:
            try:
                index = repo.allocate(list_id, credential_id, now=now, size=_LIST_SIZES.get(list_id))
            except NotFoundError:
                # The hint named a list another transaction had not committed (or rolled back).
                issuer.current_lists.pop(purpose, None)
                list_id = _current_list(conn, issuer, purpose)
                index = repo.allocate(list_id, credential_id, now=now, size=_LIST_SIZES.get(list_id))
        except ConflictError as exc:
            if exc.reason != "status_list_full":
                raise
            list_id = _new_list(conn, issuer, purpose)
            issuer.current_lists[purpose] = list_id
            index = repo.allocate(list_id, credential_id, now=now, size=_LIST_SIZES.get(list_id))
        entries.append(make_status_entry(status_list_url(issuer, list_id), index, purpose))
    return entries


def set_credential_status(
    conn: Connection, issuer: Issuer, credential_id: str, purpose: StatusPurpose, value: bool
) -> bool:
    """Set (``True``) or clear the credential's ``purpose`` bit. Returns whether a bit changed.

    ``NotFoundError`` (``status_not_allocated``) if the credential has no entry for ``purpose``.
    """
    credentials = CredentialRepository(conn)
    credentials.get(credential_id)
    for entry in credentials.status_entries(credential_id):
        if entry.purpose == purpose:
            lists = StatusListRepository(conn)
            before = lists.get(entry.list_id).version
            after = lists.set_bit(entry.list_id, entry.index, value, now=issuer.clock.now())
            if after != before and issuer.status_watermark is not None:
                # SECURITY FLT-14: once this commits, record it outside the database too.
                Database.after_commit(conn, issuer.sync_status_watermark)
            return after != before
    raise NotFoundError(f"the credential has no {purpose} status entry", reason="status_not_allocated")


def revoke_credential(conn: Connection, issuer: Issuer, credential_id: str) -> bool:
    """Mark the stored credential revoked and set its revocation bit; whether the row changed
    (a credential revoked before keeps its first revocation time)."""
    changed = CredentialRepository(conn).mark_revoked(credential_id, now=issuer.clock.now())
    set_credential_status(conn, issuer, credential_id, "revocation", True)
    return changed


@dataclass(frozen=True)
class PublishedStatusList:
    body: str
    version: int
    list_id: str

    @property
    def etag(self) -> str:
        return f'"{self.list_id}.{self.version}"'


def publish_status_list(issuer: Issuer, list_id: str) -> PublishedStatusList:
    """The signed list credential for ``list_id`` (cached per version; re-signed on change)."""
    if not (0 < len(list_id) <= 64) or not all(
        c in "0123456789abcdefghijklmnopqrstuvwxyz-_" for c in list_id
    ):
        raise NotFoundError("no such status list", reason="status_list_not_found")
    with issuer.database.read() as conn:
        stored = StatusListRepository(conn).get(list_id)
    cached = stored.current_signed_credential
    if cached is not None:
        return PublishedStatusList(cached, stored.version, list_id)
    bits = Bitstring.from_bytes(stored.bitstring, min_entries=min(stored.size, 131_072))
    unsigned = build_status_list_credential(
        status_list_url(issuer, list_id),
        issuer.organization.did,
        stored.purpose,
        bits,
        valid_from=issuer.clock.now(),
    )
    suite = rdfc_suite(issuer.organization.signing_key.key_type)  # the key's own cryptosuite
    signed = secure_credential(unsigned, issuer.organization, suite, clock=issuer.clock)
    body = signed.body
    issuer.database.run(
        lambda conn: StatusListRepository(conn).store_signed(list_id, body, version=stored.version)
    )
    return PublishedStatusList(body, stored.version, list_id)


def credential_status_entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    status = document.get("credentialStatus")
    if isinstance(status, dict):
        return [status]
    if isinstance(status, list):
        return [s for s in status if isinstance(s, dict)]
    return []
