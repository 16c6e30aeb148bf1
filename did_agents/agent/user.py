"""The user side of delegation: sign DelegationCredentials to agents and revoke them (DESIGN §4).

A user's delegations carry a ``credentialStatus`` entry in the user's own
Bitstring Status List (W3C BSL §2.1), signed by the user's key: a status list
issued by the credential's issuer is accepted by ``verify_chain`` (rule 5).
The list is published wherever ``status_url`` points (the demo serves it over
HTTP); :meth:`DelegatingUser.status_list_credential` signs the current list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from did_agents.agent.identity import Credential, credential_document
from did_agents.clock import Clock, SystemClock
from did_agents.credentials.verify import IssueSuite, default_suite, issue_credential
from did_agents.credentials.vocabulary import build_delegation_credential
from did_agents.did import key as did_key
from did_agents.keys import PrivateKey, generate
from did_agents.status.bitstring import (
    StatusList,
    build_status_list_credential,
    make_status_entry,
    random_free_index,
)

__all__ = ["DelegatingUser"]


@dataclass
class DelegatingUser:
    """A user's key (``did:key``), the delegations it signed and its revocation list."""

    key: PrivateKey = field(default_factory=generate, repr=False)
    status_url: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    suite: IssueSuite | None = None
    revoked: StatusList = field(default_factory=StatusList)
    _indexes: dict[str, int] = field(default_factory=dict)

    @property
    def did(self) -> str:
        return did_key.create(self.key.public_key)

    @property
    def verification_method(self) -> str:
        return did_key.verification_method_id(self.did)

    def _suite(self) -> IssueSuite:
        return self.suite or default_suite(self.key)

    def delegate(
        self,
        agent: str,
        capabilities: Sequence[Mapping[str, Any]],
        *,
        max_depth: int = 0,
        valid_for: timedelta = timedelta(hours=8),
        extra: Sequence[Credential] = (),
    ) -> list[Credential]:
        """Sign a delegation to ``agent``; return what to hand it (``extra`` first, e.g. the
        user's RoleCredential, then the delegation)."""
        now = self.clock.now().replace(microsecond=0)
        status = None
        index = -1
        if self.status_url is not None:
            # W3C BSL §6 (privacy): indexes SHOULD be random, not sequential (herd privacy).
            index = random_free_index(self.revoked.entries, set(self._indexes.values()))
            status = make_status_entry(self.status_url, index, "revocation")
        unsigned = build_delegation_credential(
            issuer=self.did,
            agent=agent,
            capabilities=[dict(c) for c in capabilities],
            valid_from=now,
            valid_until=now + valid_for,
            max_depth=max_depth,
            credential_status=status,
        )
        secured = issue_credential(
            unsigned,
            key=self.key,
            verification_method=self.verification_method,
            suite=self._suite(),
            clock=self.clock,
        )
        if status is not None:
            self._indexes[str(unsigned["id"])] = index
        return [*extra, secured]

    def revoke(self, delegation: Credential) -> None:
        """Set the delegation's revocation bit; verifiers see it on their next status fetch."""
        credential_id = credential_document(delegation).get("id")
        index = self._indexes.get(str(credential_id))
        if index is None:
            raise ValueError("not a delegation this user signed with a status entry")
        self.revoked.set(index, 1)

    def status_list_credential(self) -> dict[str, Any] | str:
        """The signed BitstringStatusListCredential to publish at ``status_url``."""
        if self.status_url is None:
            raise ValueError("this user publishes no status list")
        unsigned = build_status_list_credential(
            self.status_url,
            self.did,
            "revocation",
            self.revoked,
            valid_from=self.clock.now().replace(microsecond=0) - timedelta(minutes=1),
        )
        return issue_credential(
            unsigned,
            key=self.key,
            verification_method=self.verification_method,
            suite=self._suite(),
            clock=self.clock,
        )
