"""Refused exchanges: each checks the RFC 6749 §5.2 / RFC 8693 §2.2.2 error, the machine reason,
and the shared negative invariant (SECURITY NEG-INV: nothing minted or stored, one audit event)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from did_agents.credentials.verify import build_presentation
from did_agents.credentials.vocabulary import ParentCredential
from did_agents.errors import (
    InvalidScopeError,
    InvalidTargetError,
    MalformedError,
    UnsupportedGrantTypeError,
    VerificationError,
)
from did_agents.exchange import JWT_TOKEN_TYPE, VP_TOKEN_TYPE
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from did_agents.proofs.data_integrity import add_proof
from tests.delegation.urban_bites import T0, Party
from tests.exchange.harness import ISSUER, MCP, Harness, Presented, b64


def smith_chain(h: Harness) -> list[object]:
    w = h.w
    return [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]


# -- credentials and chains (DESIGN §5) -------------------------------------------------------


def test_tampered_credential(h: Harness) -> None:
    """SEC-25: scopes widened after signing."""
    w = h.w
    delegation = w.smith_to_ordering()
    assert isinstance(delegation, dict)
    delegation["credentialSubject"]["capabilities"][0]["scopes"].append("orders:delete")
    presented = h.present(w.ordering, [delegation, w.ordering_acc(), w.smith_role()])
    h.refused(h.form(presented), VerificationError, "chain_signature")


def test_wrong_holder(h: Harness) -> None:
    """SEC-33: mallory presents smith's delegation to the ordering agent as her own."""
    w = h.w
    presented = h.present(w.mallory, smith_chain(h))
    h.refused(h.form(presented), VerificationError, "agent_credential")


def test_holder_not_the_signer(h: Harness) -> None:
    """SEC-33: a VP naming the ordering agent as holder, signed by mallory."""
    w = h.w
    nonce = h.challenge()
    vp = build_presentation(w.ordering.did, smith_chain(h))
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
    presented = Presented(json.dumps(signed), VP_TOKEN_TYPE, nonce)
    h.refused(h.form(presented), VerificationError, "presentation_holder_mismatch")


def test_actor_token_for_a_different_agent(h: Harness) -> None:
    """SEC-17: the actor token is mallory's, the chain's leaf is the ordering agent."""
    w = h.w
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(h.form(presented, actor_token=h.actor_token(w.mallory)), VerificationError, "agent_credential")


def test_actor_token_from_a_non_leaf_chain_member(h: Harness) -> None:
    """SEC-17: the ordering agent is in the chain but the payment agent is acting."""
    w = h.w
    root = w.smith_to_ordering()
    child = w.delegation(w.ordering, w.payment, ["orders:read"], parent=w.parent(root))
    presented = h.present(w.payment, [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    body = h.form(presented, scope="orders:read", actor_token=h.actor_token(w.ordering))
    h.refused(body, VerificationError, "agent_credential")


def test_escalation_by_a_sub_agent(h: Harness) -> None:
    """SEC-37: the ordering agent sub-delegates orders:delete, which it was never given."""
    w = h.w
    root = w.smith_to_ordering()
    child = w.delegation(w.ordering, w.payment, ["orders:read", "orders:delete"], parent=w.parent(root))
    presented = h.present(w.payment, [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    h.refused(h.form(presented, scope="orders:read"), VerificationError, "chain_escalation")


def test_broken_parent_link(h: Harness) -> None:
    """SEC-39: the child names its parent with a wrong digest."""
    w = h.w
    root = w.smith_to_ordering()
    parent_doc = w.document(root)
    wrong = ParentCredential(id=parent_doc["id"], digest_sri="sha256-" + "A" * 43 + "=")
    child = w.delegation(w.ordering, w.payment, ["orders:read"], parent=wrong)
    presented = h.present(w.payment, [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    h.refused(h.form(presented, scope="orders:read"), VerificationError, "chain_link")


def test_cycle(h: Harness) -> None:
    """SEC-41: smith → ordering → payment → ordering."""
    w = h.w
    root = w.smith_to_ordering(max_depth=3)
    mid = w.delegation(w.ordering, w.payment, ["orders:read"], parent=w.parent(root), max_depth=2)
    back = w.delegation(w.payment, w.ordering, ["orders:read"], parent=w.parent(mid), max_depth=1)
    presented = h.present(w.ordering, [root, mid, back, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    h.refused(h.form(presented, scope="orders:read"), VerificationError, "chain_cycle")


def test_child_outliving_parent(h: Harness) -> None:
    """SEC-43."""
    w = h.w
    root = w.smith_to_ordering(valid_until=T0 + timedelta(hours=1))
    child = w.delegation(
        w.ordering, w.payment, ["orders:read"], parent=w.parent(root), valid_until=T0 + timedelta(hours=2)
    )
    presented = h.present(w.payment, [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    h.refused(h.form(presented, scope="orders:read"), VerificationError, "chain_validity")


def test_expired_delegation(h: Harness) -> None:
    w = h.w
    old = w.delegation(
        w.smith,
        w.ordering,
        ["orders:read"],
        valid_from=T0 - timedelta(days=2),
        valid_until=T0 - timedelta(days=1),
    )
    presented = h.present(w.ordering, [old, w.ordering_acc(), w.smith_role()])
    h.refused(h.form(presented, scope="orders:read"), VerificationError, "chain_validity")


def test_revoked_delegation(h: Harness) -> None:
    w = h.w
    delegation = w.smith_to_ordering()
    w.revoked.set(w.index_of(delegation), True)
    presented = h.present(w.ordering, [delegation, w.ordering_acc(), w.smith_role()])
    h.refused(h.form(presented), VerificationError, "revoked")


def test_suspended_agent(h: Harness) -> None:
    w = h.w
    acc = w.ordering_acc()
    w.suspended.set(w.index_of(acc), True)
    presented = h.present(w.ordering, [w.smith_to_ordering(), acc, w.smith_role()])
    h.refused(h.form(presented), VerificationError, "suspended")


def test_status_list_unreachable_fails_closed(h: Harness) -> None:
    """SEC-46."""
    w = h.w

    async def down(url: str) -> dict[str, object]:
        raise TimeoutError("status host down")

    h.status._fetch = down
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(h.form(presented), VerificationError, "status_unavailable")


def test_delegator_not_allowed(h: Harness) -> None:
    """Rule 7: jones (not staff) delegates to the ordering agent, whose delegators are staff."""
    w = h.w
    delegation = w.delegation(w.jones, w.ordering, ["orders:read"])
    presented = h.present(w.ordering, [delegation, w.ordering_acc()])
    h.refused(h.form(presented, scope="orders:read"), VerificationError, "delegator_not_allowed")


# -- challenge and domain (SEC-23, SEC-24) -----------------------------------------------------


def test_replayed_challenge(h: Harness) -> None:
    w = h.w
    presented = h.present(w.ordering, smith_chain(h))
    h.exchange_for(presented)
    h.refused(h.form(presented), VerificationError, "challenge_spent")


def test_challenge_never_issued(h: Harness) -> None:
    presented = h.present(h.w.ordering, smith_chain(h), challenge="made-up-challenge")
    h.refused(h.form(presented), VerificationError, "challenge_unknown")


def test_challenge_expired(h: Harness) -> None:
    nonce = h.challenge()
    presented = h.present(h.w.ordering, smith_chain(h), challenge=nonce)
    h.clock.advance(timedelta(minutes=6))
    h.refused(h.form(presented), VerificationError, "challenge_expired")


def test_wrong_domain(h: Harness) -> None:
    presented = h.present(h.w.ordering, smith_chain(h), domain="https://other-verifier.example")
    h.refused(h.form(presented), VerificationError, "presentation_domain_mismatch")


def test_refused_after_proof_spends_the_challenge(h: Harness) -> None:
    """A presentation that proved possession cannot be replayed to probe other targets."""
    w = h.w
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(
        h.form(presented, scope="orders:delete"), InvalidScopeError, "scope_not_granted", code="invalid_scope"
    )
    h.refused(h.form(presented), VerificationError, "challenge_spent")


# -- target and scope (SEC-19, SEC-20) ---------------------------------------------------------


def test_resource_not_delegated(h: Harness) -> None:
    """The policy serves the menu server too, but smith delegated only the ordering server."""
    w = h.w
    h.with_policy(
        w.policy(
            extra='\n[[resources]]\nurl = "https://mcp.urbanbites.example/menu"\nscopes = ["menu:read"]\n'
        )
    )
    presented = h.present(w.ordering, smith_chain(h))
    body = h.form(presented, resource="https://mcp.urbanbites.example/menu", scope="menu:read")
    h.refused(body, InvalidTargetError, "resource_not_delegated", code="invalid_target")


@pytest.mark.parametrize(
    "resource",
    ["https://mcp-b.example.com/mcp", MCP + "#frag", "mcp", "*"],
)
def test_resource_not_served(h: Harness, resource: str) -> None:
    presented = h.present(h.w.ordering, smith_chain(h))
    h.refused(
        h.form(presented, resource=resource),
        InvalidTargetError,
        "resource_not_configured",
        code="invalid_target",
    )


def test_two_resources(h: Harness) -> None:
    presented = h.present(h.w.ordering, smith_chain(h))
    body = h.form(presented, extra=[("resource", "https://mcp-b.example.com/mcp")])
    h.refused(body, InvalidTargetError, "multiple_targets", code="invalid_target")


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        ("orders:read orders:delete", "scope_not_granted"),
        ("orders:*", "wildcard_scope"),
        ("ORDERS:READ", "unknown_scope"),
        ("orders:read\u00a0orders:create", "malformed_scope"),
    ],
)
def test_scope_escalation(h: Harness, scope: str, reason: str) -> None:
    presented = h.present(h.w.ordering, smith_chain(h))
    h.refused(h.form(presented, scope=scope), InvalidScopeError, reason, code="invalid_scope")


# -- actor tokens (SEC-01, SEC-02, SEC-07, SEC-09, SEC-14, SEC-18) ------------------------------


def forge(
    agent: Party, header: dict[str, object], claims: dict[str, object], *, signature: bytes | None = None
) -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = agent.key.sign(signing_input.encode()) if signature is None else signature
    return signing_input + "." + b64(sig)


def actor_claims(agent: Party, **over: object) -> dict[str, object]:
    now = int(T0.timestamp())
    claims: dict[str, object] = {
        "iss": agent.did,
        "sub": agent.did,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": "j1",
    }
    claims.update(over)
    return claims


def test_actor_token_alg_none(h: Harness) -> None:
    w = h.w
    token = forge(
        w.ordering,
        {"alg": "none", "typ": "actor+jwt", "kid": w.ordering.vm},
        actor_claims(w.ordering),
        signature=b"",
    )
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(h.form(presented, actor_token=token), VerificationError, "actor_token_alg_not_allowed")


def test_actor_token_hmac_with_public_key(h: Harness) -> None:
    """SEC-02: HS256 keyed with the agent's public key bytes."""
    w = h.w
    header = {"alg": "HS256", "typ": "actor+jwt", "kid": w.ordering.vm}
    claims = actor_claims(w.ordering)
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    mac = hmac.new(w.ordering.key.public_key.raw, signing_input.encode(), hashlib.sha256).digest()
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(
        h.form(presented, actor_token=signing_input + "." + b64(mac)),
        VerificationError,
        "actor_token_alg_not_allowed",
    )


def test_actor_token_unknown_crit(h: Harness) -> None:
    """SEC-07: a validly signed token with a crit extension we do not understand."""
    w = h.w
    header = {
        "alg": "EdDSA",
        "typ": "actor+jwt",
        "kid": w.ordering.vm,
        "crit": ["x-policy"],
        "x-policy": "mfa",
    }
    presented = h.present(w.ordering, smith_chain(h))
    body = h.form(presented, actor_token=forge(w.ordering, header, actor_claims(w.ordering)))
    h.refused(body, VerificationError, "actor_token_crit_not_understood")


def test_access_token_as_actor_token(h: Harness) -> None:
    """SEC-09: one of our own access tokens is not an actor token (typ at+jwt)."""
    w = h.w
    minted = h.exchange_for(h.present(w.ordering, smith_chain(h))).access_token
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(h.form(presented, actor_token=minted), VerificationError, "actor_token_unknown_key")


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"aud": [ISSUER, "https://other-as.example"]}, "actor_token_wrong_audience"),
        ({"aud": ISSUER + "/oauth/token"}, "actor_token_wrong_audience"),
        ({"exp": int(T0.timestamp()) + 24 * 3600}, "actor_token_lifetime_too_long"),
        ({"iat": int(T0.timestamp()) + 3600, "exp": int(T0.timestamp()) + 3660}, "actor_token_iat_in_future"),
        ({"exp": int(T0.timestamp()) - 120, "iat": int(T0.timestamp()) - 180}, "actor_token_expired"),
        ({"jti": None}, "actor_token_missing_claim"),
        ({"exp": True}, "actor_token_bad_claim_type"),
        ({"sub": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}, "actor_token_wrong_subject"),
    ],
)
def test_actor_token_claims(h: Harness, over: dict[str, object], reason: str) -> None:
    w = h.w
    claims = actor_claims(w.ordering, **over)
    claims = {k: v for k, v in claims.items() if v is not None}
    token = forge(w.ordering, {"alg": "EdDSA", "typ": "actor+jwt", "kid": w.ordering.vm}, claims)
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(h.form(presented, actor_token=token), VerificationError, reason)


def test_actor_token_plain_jwt_typ_refused(h: Harness) -> None:
    w = h.w
    token = forge(w.ordering, {"alg": "EdDSA", "typ": "JWT", "kid": w.ordering.vm}, actor_claims(w.ordering))
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(h.form(presented, actor_token=token), VerificationError, "actor_token_wrong_typ")


def test_actor_token_replayed(h: Harness) -> None:
    """SEC-18: the same actor token (jti) in a second exchange, with a fresh presentation."""
    w = h.w
    actor = h.actor_token(w.ordering)
    h.exchange_for(h.present(w.ordering, smith_chain(h)), actor_token=actor)
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(h.form(presented, actor_token=actor), VerificationError, "actor_token_replayed")


# -- the request itself (SEC-15) ---------------------------------------------------------------


def test_missing_subject_token_type(h: Harness) -> None:
    body = f"grant_type={GRANT_TYPE_TOKEN_EXCHANGE}&subject_token=x&resource={MCP}".encode()
    h.refused(body, MalformedError, "missing_parameter")


def test_wrong_subject_token_type(h: Harness) -> None:
    body = f"grant_type={GRANT_TYPE_TOKEN_EXCHANGE}&subject_token=x&subject_token_type=WRONG&resource={MCP}".encode()
    h.refused(body, MalformedError, "unsupported_token_type")


def test_actor_token_without_type(h: Harness) -> None:
    presented = h.present(h.w.ordering, smith_chain(h))
    body = h.form(presented, extra=[("actor_token", "a.b.c")])
    h.refused(body, MalformedError, "missing_parameter")


def test_subject_token_twice(h: Harness) -> None:
    presented = h.present(h.w.ordering, smith_chain(h))
    h.refused(h.form(presented, extra=[("subject_token", "again")]), MalformedError, "repeated_parameter")


def test_json_body(h: Harness) -> None:
    h.refused(
        b'{"grant_type": "x"}', MalformedError, "unsupported_media_type", content_type="application/json"
    )


def test_refresh_token_requested(h: Harness) -> None:
    presented = h.present(h.w.ordering, smith_chain(h))
    body = h.form(
        presented, extra=[("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")]
    )
    h.refused(body, MalformedError, "unsupported_requested_token_type")


def test_unsupported_grant_type(h: Harness) -> None:
    h.refused(
        b"grant_type=client_credentials",
        UnsupportedGrantTypeError,
        "unsupported_grant_type",
        code="unsupported_grant_type",
    )


def test_declared_type_must_match(h: Harness) -> None:
    """A JSON-LD VP announced as a JWT (and the reverse) is refused."""
    presented = h.present(h.w.ordering, smith_chain(h))
    h.refused(
        h.form(Presented(presented.token, JWT_TOKEN_TYPE, presented.challenge)), MalformedError, "malformed"
    )


def test_vp_without_challenge(h: Harness) -> None:
    unsigned = json.dumps(
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"]}
    )
    h.refused(h.form(Presented(unsigned, VP_TOKEN_TYPE, "")), VerificationError, "challenge_missing")


def test_duplicate_members_in_vp(h: Harness) -> None:
    """SEC-11: a VP with two holder members."""
    presented = h.present(h.w.ordering, smith_chain(h))
    text = presented.token.replace('"holder": ', f'"holder": "{h.w.mallory.did}", "holder": ', 1)
    h.refused(h.form(Presented(text, VP_TOKEN_TYPE, presented.challenge)), MalformedError, "duplicate_member")
