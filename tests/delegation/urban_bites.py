"""The Urban Bites story (DESIGN §4) with real keys, real signed credentials and real status lists.

Cast: the organization (issuer of agent and role credentials, publisher of the
status lists), smith (staff) and jones (a customer), the ordering agent, the
payment agent (smith's ordering agent sub-delegates to it), the HR agent, the
autonomous inventory agent, and mallory (a valid key and nothing else).

Every credential is built with the credential vocabulary's builders, secured
with ``issue_credential`` in the chosen suite, and verified by the real
``verify_credential`` inside ``verify_chain``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from did_agents import multibase
from did_agents.clock import FixedClock
from did_agents.credentials.verify import envelope_credential, issue_credential
from did_agents.credentials.vocabulary import (
    ParentCredential,
    build_capability_credential,
    build_delegation_credential,
    build_role_credential,
)
from did_agents.delegation.chain import ChainResult, verify_chain
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.keys import PrivateKey, generate
from did_agents.policy import Policy, parse_policy
from did_agents.status.bitstring import StatusList, build_status_list_credential, make_status_entry

MCP = "https://mcp.urbanbites.example/mcp"
REVOCATION_LIST = "https://issuer.urbanbites.example/status/1"
SUSPENSION_LIST = "https://issuer.urbanbites.example/status/2"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

POLICY = """
version = 1

[[trusted_issuers]]
did = "{org}"
name = "Urban Bites"
scopes = ["orders:*", "menu:*"]
resources = ["https://mcp.urbanbites.example/"]

[[resources]]
url = "https://mcp.urbanbites.example/mcp"
mode = "{mode}"
require_role_credential = {require_role}
scopes = ["orders:read", "orders:create", "orders:delete", "menu:read"]
{extra}
"""


@dataclass(frozen=True)
class Party:
    name: str
    key: PrivateKey

    @property
    def did(self) -> str:
        return did_key.create(self.key.public_key)

    @property
    def vm(self) -> str:
        return did_key.verification_method_id(self.did)


def caps(*scopes: str, resource: str = MCP) -> list[dict[str, Any]]:
    return [{"resource": resource, "scopes": list(scopes)}]


def jwt_payload(token: str) -> dict[str, Any]:
    """The (unverified) payload of a compact JWS: what a VC-JWT secures."""
    payload = json.loads(multibase.b64url_decode(token.split(".")[1]))
    assert isinstance(payload, dict)
    return payload


class UrbanBites:
    """The world of the story, for one securing suite."""

    def __init__(self, suite: str = "eddsa-jcs-2022") -> None:
        self.suite = suite
        self.clock = FixedClock(T0)
        self.resolver = DIDResolver(clock=self.clock)
        self.org = Party("org", generate())
        self.smith = Party("smith", generate())
        self.jones = Party("jones", generate())
        self.ordering = Party("ordering", generate())
        self.payment = Party("payment", generate())
        self.hr = Party("hr", generate())
        self.inventory = Party("inventory", generate())
        self.mallory = Party("mallory", generate())
        self.revoked = StatusList()
        self.suspended = StatusList()
        self.list_signer = self.org
        self.fetches: list[str] = []
        self._next_index = 0

    # -- policy ----------------------------------------------------------------------------

    def policy(self, mode: str = "intersection", *, require_role: bool = True, extra: str = "") -> Policy:
        return parse_policy(
            POLICY.format(
                org=self.org.did, mode=mode, require_role="true" if require_role else "false", extra=extra
            )
        )

    # -- securing --------------------------------------------------------------------------

    def sign(self, unsigned: Mapping[str, Any], signer: Party) -> dict[str, Any] | str:
        return issue_credential(
            unsigned, key=signer.key, verification_method=signer.vm, suite=self.suite, clock=self.clock
        )

    @staticmethod
    def entry(secured: Mapping[str, Any] | str) -> dict[str, Any]:
        """How a secured credential sits in a presentation's ``verifiableCredential``."""
        return envelope_credential(secured) if isinstance(secured, str) else dict(secured)

    @staticmethod
    def document(secured: Mapping[str, Any] | str) -> dict[str, Any]:
        return jwt_payload(secured) if isinstance(secured, str) else dict(secured)

    def parent(self, secured: Mapping[str, Any] | str) -> ParentCredential:
        return ParentCredential.of(self.document(secured))

    def status(self) -> list[dict[str, str]]:
        self._next_index += 1
        return [
            make_status_entry(REVOCATION_LIST, self._next_index, "revocation"),
            make_status_entry(SUSPENSION_LIST, self._next_index, "suspension"),
        ]

    @staticmethod
    def index_of(secured: Mapping[str, Any] | str) -> int:
        doc = UrbanBites.document(secured)
        return int(doc["credentialStatus"][0]["statusListIndex"])

    # -- credentials -----------------------------------------------------------------------

    def agent_credential(
        self,
        agent: Party,
        scopes: Sequence[str],
        *,
        delegators: Sequence[str],
        kind: str = "delegated",
        issuer: Party | None = None,
        valid_until: datetime | None = None,
    ) -> dict[str, Any] | str:
        issuer = issuer or self.org
        unsigned = build_capability_credential(
            issuer=issuer.did,
            agent=agent.did,
            name=f"{agent.name} agent",
            owner="mailto:platform@urbanbites.example",
            capabilities=caps(*scopes),
            valid_from=T0 - timedelta(days=30),
            valid_until=valid_until or T0 + timedelta(days=365),
            agent_kind=kind,
            delegators=delegators,
            credential_status=self.status(),
        )
        return self.sign(unsigned, issuer)

    def role_credential(
        self, user: Party, roles: Sequence[str], scopes: Sequence[str] = ()
    ) -> dict[str, Any] | str:
        unsigned = build_role_credential(
            issuer=self.org.did,
            user=user.did,
            roles=roles,
            capabilities=caps(*scopes) if scopes else (),
            valid_from=T0 - timedelta(days=30),
            valid_until=T0 + timedelta(days=365),
            credential_status=self.status(),
        )
        return self.sign(unsigned, self.org)

    def delegation(
        self,
        issuer: Party,
        agent: Party,
        scopes: Sequence[str],
        *,
        max_depth: int = 0,
        parent: ParentCredential | None = None,
        valid_from: datetime = T0,
        valid_until: datetime = T0 + timedelta(hours=8),
        resource: str = MCP,
        credential_id: str | None = None,
    ) -> dict[str, Any] | str:
        unsigned = build_delegation_credential(
            issuer=issuer.did,
            agent=agent.did,
            capabilities=caps(*scopes, resource=resource),
            valid_from=valid_from,
            valid_until=valid_until,
            max_depth=max_depth,
            parent=parent,
            credential_id=credential_id,
            credential_status=self.status(),
        )
        return self.sign(unsigned, issuer)

    # -- the standard cast's credentials ---------------------------------------------------

    def ordering_acc(self) -> dict[str, Any] | str:
        return self.agent_credential(
            self.ordering, ["orders:read", "orders:create", "menu:read"], delegators=["staff"]
        )

    def payment_acc(self, delegators: Sequence[str] = ("*",)) -> dict[str, Any] | str:
        return self.agent_credential(self.payment, ["orders:read", "orders:create"], delegators=delegators)

    def hr_acc(self) -> dict[str, Any] | str:
        return self.agent_credential(self.hr, ["orders:read", "menu:read"], delegators=[self.smith.did])

    def inventory_acc(self) -> dict[str, Any] | str:
        return self.agent_credential(
            self.inventory, ["menu:read", "orders:read"], delegators=[], kind="autonomous"
        )

    def smith_role(self) -> dict[str, Any] | str:
        return self.role_credential(self.smith, ["staff"], ["orders:*", "menu:read"])

    def smith_to_ordering(self, **kw: Any) -> dict[str, Any] | str:
        kw.setdefault("max_depth", 1)
        return self.delegation(self.smith, self.ordering, ["orders:read", "orders:create"], **kw)

    # -- status lists ----------------------------------------------------------------------

    async def fetch(self, url: str) -> dict[str, Any] | str:
        """The status list publisher: a freshly signed list credential for ``url``."""
        self.fetches.append(url)
        if url == REVOCATION_LIST:
            purpose, bits = "revocation", self.revoked
        elif url == SUSPENSION_LIST:
            purpose, bits = "suspension", self.suspended
        else:
            raise ConnectionError(f"no route to {url}")
        unsigned = build_status_list_credential(
            url,
            self.list_signer.did,
            purpose,
            bits,
            valid_from=T0 - timedelta(days=1),
        )
        return self.sign(unsigned, self.list_signer)

    # -- verification ----------------------------------------------------------------------

    async def verify(
        self,
        credentials: Sequence[Mapping[str, Any] | str],
        holder: Party,
        *,
        policy: Policy | None = None,
        **kw: Any,
    ) -> ChainResult:
        kw.setdefault("status_resolver", self.fetch)
        kw.setdefault("resource", MCP)
        return await verify_chain(
            [self.entry(c) for c in credentials],
            holder=holder.did,
            trust=policy or self.policy(),
            resolver=self.resolver,
            clock=self.clock,
            **kw,
        )
