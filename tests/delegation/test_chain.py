"""Delegation chains (DESIGN §5) with real signed credentials: the Urban Bites cases.

One test per rule of DESIGN §5 and per refusal reason; SECURITY case numbers
in the docstrings. Happy paths run in every securing suite; refusals run in the
fast suite (eddsa-jcs-2022) and, where the securing matters, in all of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from datetime import timedelta
from typing import Any

import pytest

from did_agents import multibase
from did_agents.credentials.verify import (
    build_presentation,
    issue_credential,
    sign_presentation,
    verify_presentation,
)
from did_agents.credentials.vocabulary import (
    ParentCredential,
    build_delegation_credential,
    build_role_credential,
)
from did_agents.delegation.chain import build_act, chain_digest, verify_chain
from did_agents.errors import InvalidScopeError, InvalidTargetError, VerificationError
from did_agents.policy import compute_effective_scope
from did_agents.proofs.data_integrity import add_proof
from tests.delegation.urban_bites import MCP, T0, UrbanBites, jwt_payload

SUITES = ["eddsa-jcs-2022", "eddsa-rdfc-2022", "jose"]
OTHER_MCP = "https://mcp.payments.example/mcp"


@pytest.fixture
def world() -> UrbanBites:
    return UrbanBites("eddsa-jcs-2022")


@pytest.fixture(params=SUITES)
def any_world(request: pytest.FixtureRequest) -> UrbanBites:
    return UrbanBites(request.param)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def refused(
    world: UrbanBites, credentials: list[Any], holder: Any, reason: str, **kw: Any
) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        run(world.verify(credentials, holder, **kw))
    assert info.value.reason == reason, info.value.description
    return info.value


def sub_delegation_chain(w: UrbanBites, **d2: Any) -> list[Any]:
    d1 = w.smith_to_ordering()
    d2.setdefault("parent", w.parent(d1))
    d2.setdefault("valid_until", T0 + timedelta(hours=4))
    link = w.delegation(w.ordering, w.payment, d2.pop("scopes", ["orders:read"]), **d2)
    return [d1, link, w.ordering_acc(), w.payment_acc(), w.smith_role()]


# -- accepted chains -------------------------------------------------------------------------


def test_smith_delegates_to_ordering_agent(any_world: UrbanBites) -> None:
    w = any_world
    d1 = w.smith_to_ordering()
    chain = run(w.verify([d1, w.ordering_acc(), w.smith_role()], w.ordering))
    assert chain.subject == chain.user == w.smith.did
    assert chain.agents == (w.ordering.did,)
    assert chain.act == {"sub": w.ordering.did}
    assert chain.credential_ids == (w.document(d1)["id"],)
    assert chain.links[0].digest == ParentCredential.of(w.document(d1)).digest_sri
    assert chain.digest == chain_digest([chain.links[0].digest])
    assert chain.effective_scopes == {"orders:read", "orders:create"}
    assert chain.user_roles == {"staff"}
    assert chain.valid_until == T0 + timedelta(hours=8)
    assert chain.links[0].format == ("jose" if w.suite == "jose" else w.suite)
    scope = compute_effective_scope(
        w.policy(),
        MCP,
        chain.agent_capabilities,
        chain.user_authority,
        chain.link_capabilities,
        ["orders:create"],
    )
    assert scope == {"orders:create"}


def test_sub_delegation_gives_nested_act(any_world: UrbanBites) -> None:
    w = any_world
    chain = run(w.verify(sub_delegation_chain(w), w.payment))
    assert chain.subject == w.smith.did
    assert chain.agents == (w.ordering.did, w.payment.did)
    # RFC 8693 §4.1: the current actor outermost.
    assert chain.act == {"sub": w.payment.did, "act": {"sub": w.ordering.did}}
    assert chain.effective_scopes == {"orders:read"}
    assert chain.valid_until == T0 + timedelta(hours=4)
    assert len(chain.credential_ids) == 2
    scope = compute_effective_scope(
        w.policy(), MCP, chain.agent_capabilities, chain.user_authority, chain.link_capabilities, []
    )
    assert scope == {"orders:read"}


def test_autonomous_agent_is_its_own_subject(any_world: UrbanBites) -> None:
    w = any_world
    chain = run(w.verify([w.inventory_acc()], w.inventory))
    assert chain.subject == w.inventory.did
    assert chain.user is None
    assert chain.act is None
    assert chain.links == () and chain.digest is None
    assert chain.effective_scopes == {"menu:read", "orders:read"}
    assert compute_effective_scope(w.policy(), MCP, chain.agent_capabilities, None, (), ["menu:read"]) == {
        "menu:read"
    }


def test_presentation_holder_binds_the_leaf(any_world: UrbanBites) -> None:
    """End to end: a real presentation signed by the payment agent, verified, then the chain."""
    w = any_world
    credentials = [w.entry(c) for c in sub_delegation_chain(w)]
    vp = sign_presentation(
        build_presentation(w.payment.did, credentials),
        key=w.payment.key,
        verification_method=w.payment.vm,
        challenge="nonce-1",
        domain="https://verifier.example",
        suite=w.suite,
        clock=w.clock,
    )
    result = run(
        verify_presentation(
            vp, resolver=w.resolver, clock=w.clock, challenge="nonce-1", domain="https://verifier.example"
        )
    )
    assert result.verified, result.problems
    assert result.document is not None and result.holder is not None
    chain = run(
        verify_chain(
            result.document["verifiableCredential"],
            holder=result.holder,
            trust=w.policy(),
            resolver=w.resolver,
            clock=w.clock,
            status_resolver=w.fetch,
            resource=MCP,
        )
    )
    assert chain.act == {"sub": w.payment.did, "act": {"sub": w.ordering.did}}


# -- effective scope with real credentials (DESIGN §5 last paragraph) -------------------------


def _hr_chain(w: UrbanBites) -> Any:
    delegation = w.delegation(w.smith, w.hr, ["orders:read", "orders:delete"])
    return run(w.verify([delegation, w.hr_acc(), w.smith_role()], w.hr))


def test_intersection_refuses_what_hr_agent_lacks(world: UrbanBites) -> None:
    """smith holds orders:* and delegated orders:delete, but the HR agent may not delete."""
    chain = _hr_chain(world)
    args = (chain.agent_capabilities, chain.user_authority, chain.link_capabilities)
    with pytest.raises(InvalidScopeError) as info:
        compute_effective_scope(world.policy(), MCP, *args, ["orders:delete"])
    assert info.value.reason == "scope_not_granted"
    assert compute_effective_scope(world.policy(), MCP, *args, ["orders:read"]) == {"orders:read"}


def test_union_grants_user_authority_within_the_delegation(world: UrbanBites) -> None:
    chain = _hr_chain(world)
    args = (chain.agent_capabilities, chain.user_authority, chain.link_capabilities)
    assert compute_effective_scope(world.policy("union"), MCP, *args, ["orders:delete"]) == {"orders:delete"}
    with pytest.raises(InvalidScopeError):  # menu:read was not delegated
        compute_effective_scope(world.policy("union"), MCP, *args, ["menu:read"])


def test_subset_limits_to_the_allowlist(world: UrbanBites) -> None:
    w = world
    chain = run(w.verify([w.smith_to_ordering(), w.ordering_acc(), w.smith_role()], w.ordering))
    args = (chain.agent_capabilities, chain.user_authority, chain.link_capabilities)
    subset = w.policy("subset", extra='allowed_scopes = ["orders:read"]')
    assert compute_effective_scope(subset, MCP, *args, []) == {"orders:read"}
    with pytest.raises(InvalidScopeError):
        compute_effective_scope(subset, MCP, *args, ["orders:create"])
    assert compute_effective_scope(w.policy(), MCP, *args, []) == {"orders:read", "orders:create"}


def test_resource_not_delegated(world: UrbanBites) -> None:
    """SEC-19: smith delegated another server."""
    w = world
    d1 = w.delegation(w.smith, w.ordering, ["orders:read"], resource=OTHER_MCP)
    chain = run(w.verify([d1, w.ordering_acc(), w.smith_role()], w.ordering))
    assert chain.effective_scopes == frozenset()
    with pytest.raises(InvalidTargetError) as info:
        compute_effective_scope(
            w.policy(), MCP, chain.agent_capabilities, chain.user_authority, chain.link_capabilities, []
        )
    assert info.value.reason == "resource_not_delegated"


def test_issuer_vouches_only_within_its_namespace(world: UrbanBites) -> None:
    w = world
    acc = w.agent_credential(w.ordering, ["orders:read", "payments:charge"], delegators=["*"])
    chain = run(w.verify([w.smith_to_ordering(), acc, w.smith_role()], w.ordering))
    assert all("payments:charge" not in cap.scopes for cap in chain.agent_capabilities)


# -- bounds (DESIGN §10, SEC-42) -----------------------------------------------------------


class _NoCrypto:
    calls = 0

    async def __call__(self, credential: Any, /, *, resolver: Any, clock: Any) -> Any:
        _NoCrypto.calls += 1
        raise AssertionError("no verification may happen before the bounds are checked")


def test_oversized_chain_refused_before_any_crypto(world: UrbanBites) -> None:
    w = world
    d1 = w.document(w.smith_to_ordering())
    started = time.perf_counter()
    for count in (10_000, 9):
        with pytest.raises(VerificationError) as info:
            run(
                verify_chain(
                    [d1] * count,
                    holder=w.ordering.did,
                    trust=w.policy(),
                    resolver=w.resolver,
                    clock=w.clock,
                    status_resolver=None,
                    verify_credential=_NoCrypto(),
                )
            )
        assert info.value.reason == "too_large"
    assert time.perf_counter() - started < 0.2
    assert _NoCrypto.calls == 0


def test_oversized_presentation_refused_before_any_crypto(world: UrbanBites) -> None:
    w = world
    acc = w.document(w.ordering_acc())
    started = time.perf_counter()
    with pytest.raises(VerificationError) as info:
        run(
            verify_chain(
                [acc] * 5_000,
                holder=w.ordering.did,
                trust=w.policy(),
                resolver=w.resolver,
                clock=w.clock,
                status_resolver=None,
                verify_credential=_NoCrypto(),
            )
        )
    assert info.value.reason == "too_large"
    assert time.perf_counter() - started < 0.2


def test_oversized_jose_chain_counted_before_crypto() -> None:
    w = UrbanBites("jose")
    token = w.smith_to_ordering()
    with pytest.raises(VerificationError) as info:
        run(
            verify_chain(
                [w.entry(token)] * 9,
                holder=w.ordering.did,
                trust=w.policy(),
                resolver=w.resolver,
                clock=w.clock,
                status_resolver=None,
                verify_credential=_NoCrypto(),
            )
        )
    assert info.value.reason == "too_large"


def test_chain_length_limit_is_configurable(world: UrbanBites) -> None:
    refused(world, sub_delegation_chain(world), world.payment, "too_large", max_chain_length=1)


# -- rule 1: every proof verifies -----------------------------------------------------------


def test_rule1_tampered_credential(any_world: UrbanBites) -> None:
    w = any_world
    d1 = w.smith_to_ordering()
    if isinstance(d1, str):
        head, _payload, sig = d1.split(".")
        doc = jwt_payload(d1)
        doc["credentialSubject"]["capabilities"][0]["scopes"].append("orders:delete")
        forged = ".".join([head, multibase.b64url_encode(json.dumps(doc).encode()), sig])
    else:
        forged = dict(d1)
        forged["credentialSubject"] = {**d1["credentialSubject"], "maxDepth": 5}
    error = refused(w, [forged, w.ordering_acc(), w.smith_role()], w.ordering, "chain_signature")
    assert "bad_signature" in error.description


def test_rule1_credential_signed_by_someone_else(world: UrbanBites) -> None:
    """SEC-32: a delegation naming smith as issuer but signed by mallory."""
    w = world
    unsigned = build_delegation_credential(
        issuer=w.smith.did,
        agent=w.ordering.did,
        capabilities=[{"resource": MCP, "scopes": ["orders:read"]}],
        valid_from=T0,
        valid_until=T0 + timedelta(hours=1),
    )
    with pytest.raises(ValueError):
        issue_credential(
            unsigned, key=w.mallory.key, verification_method=w.mallory.vm, suite="eddsa-jcs-2022"
        )
    from did_agents.proofs.data_integrity import add_proof

    forged = add_proof(
        unsigned,
        key=w.mallory.key,
        verification_method=w.mallory.vm,
        cryptosuite="eddsa-jcs-2022",
        clock=w.clock,
    )
    error = refused(w, [forged, w.ordering_acc(), w.smith_role()], w.ordering, "chain_signature")
    assert "issuer_mismatch" in error.description


def test_rule1_expired_proof_on_a_current_credential(world: UrbanBites) -> None:
    """A proof's own ``expires`` is rule 1 (the signature was never checked), not rule 4."""
    w = world
    unsigned = build_delegation_credential(
        issuer=w.smith.did,
        agent=w.ordering.did,
        capabilities=[{"resource": MCP, "scopes": ["orders:read"]}],
        valid_from=T0,
        valid_until=T0 + timedelta(hours=8),
    )
    d1 = add_proof(
        unsigned,
        key=w.smith.key,
        verification_method=w.smith.vm,
        cryptosuite="eddsa-jcs-2022",
        clock=w.clock,
        expires=T0 + timedelta(minutes=1),
    )
    credentials = [d1, w.ordering_acc(), w.smith_role()]
    w.clock.advance(timedelta(minutes=30))
    error = refused(w, credentials, w.ordering, "chain_signature")
    assert "expired" in error.description


def test_rule1_proof_stripped(world: UrbanBites) -> None:
    w = world
    d1 = dict(w.smith_to_ordering())
    del d1["proof"]
    refused(w, [d1, w.ordering_acc(), w.smith_role()], w.ordering, "chain_signature")


def test_rule1_format_not_allowed(world: UrbanBites) -> None:
    w = world
    refused(
        w,
        [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()],
        w.ordering,
        "chain_signature",
        allowed_formats=["eddsa-rdfc-2022"],
    )


# -- rule 2: root and links -------------------------------------------------------------------


def test_rule2_delegated_agent_without_delegation(world: UrbanBites) -> None:
    """SEC-16: an agent cannot act for anyone without a delegation."""
    refused(world, [world.ordering_acc()], world.ordering, "chain_root")


def test_rule2_root_issued_by_an_agent(world: UrbanBites) -> None:
    """SEC-40: a chain rooted at the ordering agent (self-issued root)."""
    w = world
    root = w.delegation(w.ordering, w.payment, ["orders:read"])
    refused(w, [root, w.ordering_acc(), w.payment_acc()], w.payment, "chain_root")


def test_rule2_root_with_wildcard_subject(world: UrbanBites) -> None:
    """SEC-40: a "powerline" root whose subject is not a DID."""
    w = world
    unsigned = build_delegation_credential(
        issuer=w.smith.did,
        agent=w.ordering.did,
        capabilities=[{"resource": MCP, "scopes": ["orders:read"]}],
        valid_from=T0,
        valid_until=T0 + timedelta(hours=8),
    )
    unsigned["credentialSubject"]["id"] = "urn:example:anyone"
    powerline = add_proof(
        unsigned, key=w.smith.key, verification_method=w.smith.vm, cryptosuite="eddsa-jcs-2022", clock=w.clock
    )
    refused(w, [powerline, w.ordering_acc(), w.smith_role()], w.ordering, "malformed_credential")


def test_rule2_root_not_the_expected_user(world: UrbanBites) -> None:
    w = world
    refused(
        w,
        [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()],
        w.ordering,
        "chain_root",
        expected_user=w.jones.did,
    )


def test_rule2_link_not_issued_by_parent_subject(world: UrbanBites) -> None:
    """SEC-39: the second link is issued by the HR agent, but smith delegated to the ordering agent."""
    w = world
    d1 = w.smith_to_ordering()
    d2 = w.delegation(
        w.hr, w.payment, ["orders:read"], parent=w.parent(d1), valid_until=T0 + timedelta(hours=4)
    )
    refused(w, [d1, d2, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment, "chain_link")


def test_rule2_parent_digest_mismatch(world: UrbanBites) -> None:
    """SEC-39: the parent id is right but the digest is of another credential."""
    w = world
    d1 = w.smith_to_ordering()
    other = w.smith_to_ordering()
    wrong = ParentCredential(w.document(d1)["id"], w.parent(other).digest_sri)
    d2 = w.delegation(
        w.ordering, w.payment, ["orders:read"], parent=wrong, valid_until=T0 + timedelta(hours=4)
    )
    error = refused(w, [d1, d2, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment, "chain_link")
    assert "digestSRI" in error.description


def test_rule2_parent_id_mismatch(world: UrbanBites) -> None:
    """SEC-39: the link names a parent that is not in the presentation."""
    w = world
    d1 = w.smith_to_ordering()
    other = w.smith_to_ordering()
    d2 = w.delegation(
        w.ordering, w.payment, ["orders:read"], parent=w.parent(other), valid_until=T0 + timedelta(hours=4)
    )
    error = refused(w, [d1, d2, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment, "chain_link")
    assert "not in the chain" in error.description


def test_rule2_branching_chain(world: UrbanBites) -> None:
    w = world
    d1 = w.smith_to_ordering()
    a = w.delegation(
        w.ordering, w.payment, ["orders:read"], parent=w.parent(d1), valid_until=T0 + timedelta(hours=4)
    )
    b = w.delegation(
        w.ordering, w.hr, ["orders:read"], parent=w.parent(d1), valid_until=T0 + timedelta(hours=4)
    )
    refused(
        w, [d1, a, b, w.ordering_acc(), w.payment_acc(), w.hr_acc(), w.smith_role()], w.payment, "chain_link"
    )


def test_rule2_two_roots(world: UrbanBites) -> None:
    w = world
    refused(
        w,
        [w.smith_to_ordering(), w.smith_to_ordering(), w.ordering_acc(), w.smith_role()],
        w.ordering,
        "chain_link",
    )


def test_rule2_credential_outside_the_chain(world: UrbanBites) -> None:
    """SEC-33: a presentation mixing in a role credential about someone else."""
    w = world
    jones_role = w.role_credential(w.jones, ["staff"])
    refused(
        w, [w.smith_to_ordering(), w.ordering_acc(), w.smith_role(), jones_role], w.ordering, "chain_link"
    )


# -- rule 3: narrowing, depth, cycles -------------------------------------------------------


def test_rule3_escalation_by_sub_agent(any_world: UrbanBites) -> None:
    """SEC-37: the ordering agent passes on orders:delete, which smith never gave it."""
    w = any_world
    error = refused(
        w, sub_delegation_chain(w, scopes=["orders:read", "orders:delete"]), w.payment, "chain_escalation"
    )
    assert "grants more than its parent" in error.description


def test_rule3_escalation_by_wider_resource(world: UrbanBites) -> None:
    w = world
    d1 = w.smith_to_ordering()
    d2 = w.delegation(
        w.ordering,
        w.payment,
        ["orders:read"],
        parent=w.parent(d1),
        valid_until=T0 + timedelta(hours=4),
        resource="https://mcp.urbanbites.example/",
    )
    refused(w, [d1, d2, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment, "chain_escalation")


def test_rule3_depth_exceeded(world: UrbanBites) -> None:
    """maxDepth 0 on smith's delegation: no redelegation."""
    w = world
    d1 = w.smith_to_ordering(max_depth=0)
    d2 = w.delegation(
        w.ordering, w.payment, ["orders:read"], parent=w.parent(d1), valid_until=T0 + timedelta(hours=4)
    )
    error = refused(w, [d1, d2, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment, "chain_depth")
    assert "allows 0 further hop" in error.description


def test_rule3_depth_exceeded_by_one_deep_in_chain(world: UrbanBites) -> None:
    """SEC-42: three links below a maxDepth of 1."""
    w = world
    d1 = w.smith_to_ordering(max_depth=1)
    d2 = w.delegation(
        w.ordering,
        w.payment,
        ["orders:read"],
        parent=w.parent(d1),
        max_depth=5,
        valid_until=T0 + timedelta(hours=4),
    )
    d3 = w.delegation(
        w.payment, w.hr, ["orders:read"], parent=w.parent(d2), valid_until=T0 + timedelta(hours=2)
    )
    refused(
        w, [d1, d2, d3, w.ordering_acc(), w.payment_acc(), w.hr_acc(), w.smith_role()], w.hr, "chain_depth"
    )


def test_rule3_cycle_of_agents(world: UrbanBites) -> None:
    """SEC-41: smith → ordering → payment → ordering."""
    w = world
    d1 = w.smith_to_ordering(max_depth=5)
    d2 = w.delegation(
        w.ordering,
        w.payment,
        ["orders:read"],
        parent=w.parent(d1),
        max_depth=5,
        valid_until=T0 + timedelta(hours=4),
    )
    d3 = w.delegation(
        w.payment,
        w.ordering,
        ["orders:read"],
        parent=w.parent(d2),
        max_depth=5,
        valid_until=T0 + timedelta(hours=2),
    )
    refused(w, [d1, d2, d3, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.ordering, "chain_cycle")


def test_rule3_user_delegating_to_themselves(world: UrbanBites) -> None:
    w = world
    d1 = w.delegation(w.smith, w.smith, ["orders:read"])
    refused(w, [d1, w.smith_role()], w.smith, "chain_cycle")


def test_rule3_parent_references_loop(world: UrbanBites) -> None:
    """SEC-41: two links naming each other as parent, and one naming itself."""
    w = world
    d1 = w.smith_to_ordering()
    a_id, b_id = (
        "urn:uuid:00000000-0000-4000-8000-00000000000a",
        "urn:uuid:00000000-0000-4000-8000-00000000000b",
    )
    fake = ParentCredential(b_id, w.parent(d1).digest_sri)
    a = w.delegation(w.ordering, w.payment, ["orders:read"], parent=fake, credential_id=a_id)
    b = w.delegation(
        w.payment,
        w.ordering,
        ["orders:read"],
        parent=ParentCredential(a_id, w.parent(a).digest_sri),
        credential_id=b_id,
    )
    refused(w, [d1, a, b, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment, "chain_cycle")
    own = w.delegation(
        w.ordering,
        w.payment,
        ["orders:read"],
        parent=ParentCredential(a_id, fake.digest_sri),
        credential_id=a_id,
    )
    refused(w, [d1, own, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment, "chain_cycle")


# -- rule 4: validity ------------------------------------------------------------------------


def test_rule4_child_outlives_parent(world: UrbanBites) -> None:
    """SEC-43."""
    error = refused(
        world,
        sub_delegation_chain(world, valid_until=T0 + timedelta(days=30)),
        world.payment,
        "chain_validity",
    )
    assert "outlives" in error.description


def test_rule4_child_starts_before_parent(world: UrbanBites) -> None:
    w = world
    d1 = w.smith_to_ordering(valid_from=T0 - timedelta(minutes=5))
    d2 = w.delegation(
        w.ordering,
        w.payment,
        ["orders:read"],
        parent=w.parent(d1),
        valid_from=T0 - timedelta(hours=1),
        valid_until=T0 + timedelta(hours=4),
    )
    refused(w, [d1, d2, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment, "chain_validity")


def test_rule4_expired(any_world: UrbanBites) -> None:
    w = any_world
    credentials = [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]
    w.clock.advance(timedelta(hours=8))  # exactly validUntil: expired
    refused(w, credentials, w.ordering, "chain_validity")


def test_rule4_parent_expired_child_still_current(world: UrbanBites) -> None:
    """SEC-43: exchange after the parent expired (the child was clamped at submission elsewhere)."""
    w = world
    credentials = sub_delegation_chain(w)
    w.clock.advance(timedelta(hours=8, seconds=30))
    refused(w, credentials, w.payment, "chain_validity")


def test_rule4_not_yet_valid(world: UrbanBites) -> None:
    w = world
    d1 = w.smith_to_ordering(valid_from=T0 + timedelta(minutes=5))
    refused(w, [d1, w.ordering_acc(), w.smith_role()], w.ordering, "chain_validity")


def test_rule4_clock_skew_on_valid_from(world: UrbanBites) -> None:
    w = world
    d1 = w.smith_to_ordering(valid_from=T0 + timedelta(seconds=30))
    assert run(w.verify([d1, w.ordering_acc(), w.smith_role()], w.ordering)).user == w.smith.did


# -- rule 5: status ---------------------------------------------------------------------------


def test_rule5_revoked_delegation(any_world: UrbanBites) -> None:
    """SEC-44: smith revokes the delegation to the ordering agent; the sub-delegation dies with it."""
    w = any_world
    credentials = sub_delegation_chain(w)
    w.revoked.set(w.index_of(credentials[0]))
    refused(w, credentials, w.payment, "revoked")


def test_rule5_suspended_agent(world: UrbanBites) -> None:
    w = world
    credentials = sub_delegation_chain(world)
    w.suspended.set(w.index_of(credentials[3]))  # the payment agent's capability credential
    refused(w, credentials, w.payment, "suspended")


def test_rule5_status_list_unreachable(world: UrbanBites) -> None:
    """SEC-46: fail closed."""
    w = world
    credentials = [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]

    async def down(url: str) -> Any:
        raise TimeoutError("status host down")

    refused(w, credentials, w.ordering, "status_unavailable", status_resolver=down)
    refused(w, credentials, w.ordering, "status_unavailable", status_resolver=None)


def test_rule5_status_list_from_an_untrusted_signer(world: UrbanBites) -> None:
    """SEC-45: a status list signed by mallory."""
    w = world
    credentials = [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]
    w.list_signer = w.mallory
    refused(w, credentials, w.ordering, "status_unavailable")


def test_rule5_unusable_status_entry(world: UrbanBites) -> None:
    """An entry that names no status list cannot be checked, so it cannot be ignored."""
    w = world
    unsigned = build_delegation_credential(
        issuer=w.smith.did,
        agent=w.ordering.did,
        capabilities=[{"resource": MCP, "scopes": ["orders:read"]}],
        valid_from=T0,
        valid_until=T0 + timedelta(hours=8),
        credential_status={
            "id": "https://status.example/1#3",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "3",
        },
    )
    d1 = w.sign(unsigned, w.smith)
    refused(w, [d1, w.ordering_acc(), w.smith_role()], w.ordering, "status_unavailable")


def test_rule5_each_list_fetched_once(world: UrbanBites) -> None:
    w = world
    run(w.verify(sub_delegation_chain(w), w.payment))
    assert sorted(w.fetches) == sorted(set(w.fetches))


# -- rule 6: the acting agent -----------------------------------------------------------------


def test_rule6_leaf_without_capability_credential(world: UrbanBites) -> None:
    w = world
    refused(w, [w.smith_to_ordering(), w.smith_role()], w.ordering, "agent_credential")


def test_rule6_capability_credential_from_untrusted_issuer(world: UrbanBites) -> None:
    w = world
    acc = w.agent_credential(w.ordering, ["orders:read"], delegators=["*"], issuer=w.mallory)
    refused(w, [w.smith_to_ordering(), acc, w.smith_role()], w.ordering, "agent_credential")


def test_rule6_holder_is_not_the_leaf(world: UrbanBites) -> None:
    """SEC-17 / SEC-33: the ordering agent presents the payment agent's chain."""
    refused(world, sub_delegation_chain(world), world.ordering, "agent_credential")


def test_rule6_actor_is_not_the_leaf(world: UrbanBites) -> None:
    w = world
    refused(w, sub_delegation_chain(w), w.payment, "agent_credential", actor=w.mallory.did)


def test_rule6_autonomous_agent_from_untrusted_issuer(world: UrbanBites) -> None:
    w = world
    acc = w.agent_credential(w.inventory, ["menu:read"], delegators=[], kind="autonomous", issuer=w.mallory)
    refused(w, [acc], w.inventory, "agent_credential")


# -- rule 7: delegators -------------------------------------------------------------------


def test_rule7_delegator_not_allowed(world: UrbanBites) -> None:
    """jones is not staff: the ordering agent is a protected resource."""
    w = world
    d1 = w.delegation(w.jones, w.ordering, ["orders:read"])
    refused(w, [d1, w.ordering_acc()], w.ordering, "delegator_not_allowed")


def test_rule7_role_from_another_issuer_does_not_count(world: UrbanBites) -> None:
    w = world
    fake_role = w.sign(
        build_role_credential(
            issuer=w.mallory.did,
            user=w.jones.did,
            roles=["staff"],
            valid_from=T0,
            valid_until=T0 + timedelta(days=1),
        ),
        w.mallory,
    )
    d1 = w.delegation(w.jones, w.ordering, ["orders:read"])
    refused(w, [d1, w.ordering_acc(), fake_role], w.ordering, "delegator_not_allowed")


def test_rule7_every_agent_in_the_chain(world: UrbanBites) -> None:
    """The payment agent only accepts jones: smith's chain through it is refused."""
    w = world
    credentials = sub_delegation_chain(w)
    credentials[3] = w.payment_acc(delegators=[w.jones.did])
    refused(w, credentials, w.payment, "delegator_not_allowed")


def test_rule7_intermediate_agent_needs_its_credential(world: UrbanBites) -> None:
    w = world
    credentials = sub_delegation_chain(w)
    del credentials[2]  # the ordering agent's capability credential
    refused(w, credentials, w.payment, "delegator_not_allowed")


def test_rule7_delegator_by_did(world: UrbanBites) -> None:
    w = world
    d1 = w.delegation(w.smith, w.hr, ["orders:read"])
    chain = run(w.verify([d1, w.hr_acc()], w.hr))
    assert chain.user_authority is None and chain.user_roles == frozenset()


# -- act ------------------------------------------------------------------------------------


def test_build_act_most_recent_actor_outermost() -> None:
    assert build_act(["A"]) == {"sub": "A"}
    assert build_act(["A", "B"]) == {"sub": "B", "act": {"sub": "A"}}
    assert build_act(["A", "B", "C"]) == {"sub": "C", "act": {"sub": "B", "act": {"sub": "A"}}}
    with pytest.raises(ValueError):
        build_act([])


def test_chain_digest_is_sha256_of_jcs_array() -> None:
    digests = ["sha256-" + "A" * 43 + "=", "sha256-" + "B" * 43 + "="]
    expected = hashlib.sha256(('["' + digests[0] + '","' + digests[1] + '"]').encode()).digest()
    assert chain_digest(digests) == "sha256-" + base64.b64encode(expected).decode()
