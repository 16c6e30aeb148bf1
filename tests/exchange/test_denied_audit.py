"""The ``token_exchange.denied`` audit event (DESIGN §6, SECURITY NEG-INV 2-3): what it says about a
refused exchange, and that it names only what was verified.

A refusal after the chain verified names the user (``subject``), the agent chain (``actors``,
most recent first, as in ``act``), the leaf (``client_id``), the resource and the requested scope.
A refusal before the chain verified names no subject and no actors: the presentation's claims
are not facts yet.
"""

from __future__ import annotations

import json
from typing import Any

from did_agents.audit import AuditEvent, digest
from did_agents.credentials.verify import build_presentation
from did_agents.errors import DIDAgentsError, InvalidScopeError, InvalidTargetError, VerificationError
from did_agents.exchange import VP_TOKEN_TYPE
from did_agents.proofs.data_integrity import add_proof
from tests.exchange.harness import ISSUER, MCP, Harness, Presented

MENU = "https://mcp.urbanbites.example/menu"


def sub_delegated(h: Harness) -> list[Any]:
    """smith → ordering agent → payment agent (orders:read)."""
    w = h.w
    root = w.smith_to_ordering()
    child = w.delegation(w.ordering, w.payment, ["orders:read"], parent=w.parent(root))
    return [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()]


def denied(h: Harness, body: bytes, error: type[DIDAgentsError], reason: str, code: str) -> AuditEvent:
    """Refused with exactly one denied event and no token (``Harness.refused``); that event."""
    h.refused(body, error, reason, code=code)
    assert h.db.row_counts()["access_tokens"] == 0
    assert h.events("token_exchange.granted") == []
    event = h.events("token_exchange.denied")[-1].event
    assert event.type == "token_exchange.denied"
    assert event.action == "token_exchange"
    return event


def test_scope_refused_after_the_chain_verified_names_user_chain_and_request(h: Harness) -> None:
    w = h.w
    presented = h.present(w.payment, sub_delegated(h))
    event = denied(
        h,
        h.form(presented, scope="orders:create orders:read"),
        InvalidScopeError,
        "scope_not_granted",
        "invalid_scope",
    )
    assert event.reason == "scope_not_granted"
    assert event.subject == w.smith.did
    assert tuple(event.actors) == (w.payment.did, w.ordering.did)  # RFC 8693 §4.1 order
    assert event.client_id == w.payment.did
    assert event.resource == MCP
    assert event.details["requested_scope"] == "orders:create orders:read"
    assert event.details["subject_token_digest"] == digest(presented.token)
    assert event.details["error"] == "invalid_scope"
    assert event.details["status"] == 400
    assert len(event.details["chain"]) == 2
    assert event.details["chain_digest"].startswith("sha256-")
    assert "scope" not in event.details  # nothing was granted


def test_resource_not_delegated_names_user_chain_and_the_other_resource(h: Harness) -> None:
    w = h.w
    h.with_policy(w.policy(extra=f'\n[[resources]]\nurl = "{MENU}"\nscopes = ["menu:read"]\n'))
    presented = h.present(w.ordering, [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()])
    event = denied(
        h,
        h.form(presented, resource=MENU, scope="menu:read"),
        InvalidTargetError,
        "resource_not_delegated",
        "invalid_target",
    )
    assert event.subject == w.smith.did
    assert tuple(event.actors) == (w.ordering.did,)
    assert event.client_id == w.ordering.did
    assert event.resource == MENU
    assert event.details["requested_scope"] == "menu:read"


def test_tampered_credential_names_no_subject_and_no_actors(h: Harness) -> None:
    """The presentation proof verified (its holder is known), the chain did not: the claimed user
    and agents are not named."""
    w = h.w
    delegation = w.smith_to_ordering()
    assert isinstance(delegation, dict)
    delegation["credentialSubject"]["capabilities"][0]["scopes"].append("orders:delete")
    presented = h.present(w.ordering, [delegation, w.ordering_acc(), w.smith_role()])
    event = denied(h, h.form(presented), VerificationError, "chain_signature", "invalid_request")
    assert event.subject is None
    assert tuple(event.actors) == ()
    assert event.client_id == w.ordering.did  # the holder proved possession of its key
    assert event.resource == MCP
    assert event.details["requested_scope"] == "orders:create orders:read"
    assert "chain" not in event.details and "chain_digest" not in event.details
    assert w.smith.did not in str(event.details)


def test_holder_proof_refused_names_nobody(h: Harness) -> None:
    """A VP naming the ordering agent as holder, signed by mallory: not even the holder is a fact."""
    w = h.w
    nonce = h.challenge()
    vp = build_presentation(w.ordering.did, [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()])
    signed = add_proof(
        vp,
        key=w.mallory.key,
        verification_method=w.mallory.vm,
        cryptosuite="eddsa-jcs-2022",
        proof_purpose="authentication",
        challenge=nonce,
        domain=ISSUER,
        clock=h.clock,
    )
    body = h.form(Presented(json.dumps(signed), VP_TOKEN_TYPE, nonce))
    event = denied(h, body, VerificationError, "presentation_holder_mismatch", "invalid_request")
    assert event.subject is None
    assert tuple(event.actors) == ()
    assert event.client_id is None
    assert event.resource == MCP
    text = json.dumps(event.details)
    assert w.ordering.did not in text and w.smith.did not in text and w.mallory.did not in text
