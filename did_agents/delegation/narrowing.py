"""Sub-delegation before signing: a new link only narrows its parent (DESIGN §5 rules 2-4).

:func:`check_narrowing` is what a delegator runs before it signs a
DelegationCredential with ``parentCredential`` (the CLI's ``delegate --parent``
and ``AgentIdentity.delegate``). It refuses, with the ``reason``
:func:`~did_agents.delegation.chain.verify_chain` would later give, every link
that could not verify for structural reasons, so nobody hands out such a link:

* ``chain_link`` — the parent does not delegate to the signer, or has no id;
* ``chain_depth`` — the parent's ``maxDepth`` is 0, or the new ``maxDepth`` is
  not below it;
* ``chain_escalation`` — the new capabilities are not ⊆ the parent's;
* ``chain_cycle`` — the new delegatee is the parent's issuer or the signer;
* ``chain_validity`` — the parent is expired or not valid yet.

It also clamps the new link's ``validUntil`` to the parent's (a child never
outlives its parent). Signatures, revocation and the rest of the chain above
the parent are the verifier's business (``verify_chain``), not checked here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from did_agents.credentials.vocabulary import ParentCredential, parse_delegation_credential
from did_agents.delegation.capabilities import (
    CapabilitySet,
    capabilities_to_json,
    covers,
    parse_capabilities,
)
from did_agents.errors import VerificationError

__all__ = ["SubDelegation", "check_narrowing"]


@dataclass(frozen=True, slots=True)
class SubDelegation:
    """What a checked sub-delegation is signed with: its parent link and its clamped ``validUntil``."""

    parent: ParentCredential
    valid_until: datetime


def _refuse(reason: str, description: str) -> VerificationError:
    return VerificationError(description, reason=reason)


def check_narrowing(
    parent: Mapping[str, Any],
    *,
    issuer: str,
    agent: str,
    capabilities: CapabilitySet,
    max_depth: int,
    now: datetime,
    valid_until: datetime,
) -> SubDelegation:
    """Check a sub-delegation from ``issuer`` to ``agent`` under ``parent`` before it is signed.

    ``parent`` is the parent DelegationCredential's claims as ``verify_chain``
    digests them (the document with its proof, or a ``vc+jwt``'s payload);
    ``capabilities`` are the new link's, in the algebra's normal form;
    ``valid_until`` is the lifetime asked for. Returns the link to the parent and
    ``min(valid_until, parent's validUntil)``.

    Raises ``MalformedError`` when ``parent`` is not a DelegationCredential, and
    ``VerificationError`` with the reason of the rule the new link would break
    (module docstring).
    """
    delegation = parse_delegation_credential(parent)
    # The credential layer checked the claim's shape; the algebra's own parser adds what
    # covering needs (as verify_chain does).
    subject = parent.get("credentialSubject")
    granted = parse_capabilities(subject.get("capabilities") if isinstance(subject, Mapping) else None)
    if delegation.delegatee != issuer:
        # DESIGN §5 rule 2 (UCAN §Principal Alignment): a link is issued by its parent's subject.
        raise _refuse(
            "chain_link", f"the parent delegates to {delegation.delegatee}, not to the signer {issuer}"
        )
    if delegation.credential.id is None:
        raise _refuse("chain_link", "the parent delegation has no id to link to")
    if delegation.max_depth < 1:
        raise _refuse("chain_depth", "the parent allows no further delegation (maxDepth 0)")
    if max_depth > delegation.max_depth - 1:
        # RFC 5280 §4.2.1.9 pathLenConstraint, the analogous limit.
        raise _refuse(
            "chain_depth",
            f"maxDepth {max_depth} exceeds the parent's maxDepth {delegation.max_depth}"
            f" minus this hop ({delegation.max_depth - 1})",
        )
    if not covers(granted, capabilities):
        # UCAN spec §Attenuation: each delegation restates or attenuates (SECURITY SEC-37).
        spelled = json.dumps(capabilities_to_json(granted), separators=(",", ":"))
        raise _refuse("chain_escalation", f"the parent grants only {spelled}")
    if agent in (issuer, delegation.delegator):
        raise _refuse("chain_cycle", "the delegatee is already in the chain; no DID appears twice in a chain")
    credential = delegation.credential
    # parse_delegation_credential refuses a delegation without validUntil (DESIGN §4).
    assert credential.valid_until is not None
    if now >= credential.valid_until:
        raise _refuse("chain_validity", "the parent delegation has expired")
    if credential.valid_from is not None and now < credential.valid_from:
        raise _refuse("chain_validity", "the parent delegation is not valid yet")
    # VCDM 2.0 §5.3: digestSRI over the parent as verify_chain digests it (credential_digest_sri).
    # DESIGN §5 rule 4: a child never outlives its parent.
    return SubDelegation(ParentCredential.of(parent), min(valid_until, credential.valid_until))
