"""``AgentIdentity.delegate``: a sub-delegation only narrows its parent, checked before signing.

DESIGN §5 rules 2-4 (``did_agents.delegation.narrowing.check_narrowing``): each
link ``verify_chain`` would refuse is refused with the same reason, and nothing
is signed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import did_agents.agent.identity as identity_module
from did_agents.agent import AgentIdentity, credential_document
from did_agents.agent.identity import Grant
from did_agents.errors import VerificationError
from tests.delegation.urban_bites import MCP, T0, UrbanBites

SUITE = "eddsa-jcs-2022"


@pytest.fixture
def world() -> UrbanBites:
    return UrbanBites(SUITE)


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every credential ``AgentIdentity.delegate`` signs (empty when it refuses)."""
    calls: list[dict[str, Any]] = []
    real = identity_module.issue_credential

    def recording(unsigned: dict[str, Any], **kw: Any) -> dict[str, Any] | str:
        calls.append(unsigned)
        return real(unsigned, **kw)

    monkeypatch.setattr(identity_module, "issue_credential", recording)
    return calls


def _ordering(world: UrbanBites, *, max_depth: int = 1, **parent: Any) -> AgentIdentity:
    """The ordering agent holding Smith's delegation (orders:read, orders:create; 8 h)."""
    agent = AgentIdentity(
        world.ordering.key, clock=world.clock, suite=SUITE, capability_credential=world.ordering_acc()
    )
    agent.accept([world.smith_role(), world.smith_to_ordering(max_depth=max_depth, **parent)])
    return agent


def _refused(agent: AgentIdentity, world: UrbanBites, scopes: list[str], **kw: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        agent.delegate(world.payment.did, scopes, resource=MCP, **kw)
    return info.value


def test_escalating_scopes_are_refused_before_signing(
    world: UrbanBites, signed: list[dict[str, Any]]
) -> None:
    error = _refused(_ordering(world), world, ["orders:read", "orders:delete"])
    assert error.reason == "chain_escalation"
    assert signed == []


def test_a_parent_with_max_depth_0_allows_no_sub_delegation(
    world: UrbanBites, signed: list[dict[str, Any]]
) -> None:
    error = _refused(_ordering(world, max_depth=0), world, ["orders:read"])
    assert error.reason == "chain_depth"
    assert signed == []


def test_max_depth_must_be_below_the_parents(world: UrbanBites, signed: list[dict[str, Any]]) -> None:
    # The audit's case: maxDepth 5 under a parent allowing one hop.
    error = _refused(_ordering(world, max_depth=1), world, ["orders:read"], max_depth=5)
    assert error.reason == "chain_depth"
    error = _refused(_ordering(world, max_depth=2), world, ["orders:read"], max_depth=2)
    assert error.reason == "chain_depth"
    assert signed == []


def test_a_parent_to_another_agent_is_refused(world: UrbanBites, signed: list[dict[str, Any]]) -> None:
    # accept() only takes a chain whose leaf names this agent; a grant built by hand can hold
    # someone else's delegation, which this agent cannot extend (DESIGN §5 rule 2).
    agent = AgentIdentity(
        world.ordering.key, clock=world.clock, suite=SUITE, capability_credential=world.ordering_acc()
    )
    foreign = world.delegation(world.smith, world.mallory, ["orders:read"], max_depth=1)
    agent.grants.append(Grant(user=world.smith.did, leaf=foreign, credentials=(foreign,)))
    error = _refused(agent, world, ["orders:read"])
    assert error.reason == "chain_link"
    assert signed == []


def test_an_expired_parent_is_refused(world: UrbanBites, signed: list[dict[str, Any]]) -> None:
    agent = _ordering(world)
    world.clock.advance(timedelta(hours=8))  # the parent's validUntil
    error = _refused(agent, world, ["orders:read"])
    assert error.reason == "chain_validity"
    assert signed == []


def test_a_parent_not_valid_yet_is_refused(world: UrbanBites, signed: list[dict[str, Any]]) -> None:
    agent = _ordering(world, valid_from=T0 + timedelta(hours=1))
    error = _refused(agent, world, ["orders:read"])
    assert error.reason == "chain_validity"
    assert signed == []


def test_delegating_back_to_the_parents_issuer_is_a_cycle(
    world: UrbanBites, signed: list[dict[str, Any]]
) -> None:
    agent = _ordering(world)
    with pytest.raises(VerificationError) as info:
        agent.delegate(world.smith.did, ["orders:read"], resource=MCP)
    assert info.value.reason == "chain_cycle"
    assert signed == []


def test_a_narrowing_sub_delegation_is_signed_and_verify_chain_accepts_it(
    world: UrbanBites, signed: list[dict[str, Any]]
) -> None:
    ordering = _ordering(world, max_depth=2)
    handed = ordering.delegate(world.payment.did, ["orders:read"], resource=MCP, max_depth=1)
    assert len(signed) == 1
    link = credential_document(handed[-1])
    assert link["credentialSubject"]["maxDepth"] == 1
    assert link["credentialSubject"]["capabilities"] == [{"resource": MCP, "scopes": ["orders:read"]}]
    payment = AgentIdentity(
        world.payment.key, clock=world.clock, suite=SUITE, capability_credential=world.payment_acc()
    )
    grant = payment.accept(handed)
    result = asyncio.run(world.verify(payment.presentation_credentials(grant), world.payment))
    assert result.agents == (world.ordering.did, world.payment.did)
    assert result.effective_scopes == frozenset({"orders:read"})


def test_valid_until_is_clamped_to_the_parents(world: UrbanBites, signed: list[dict[str, Any]]) -> None:
    ordering = _ordering(world)  # the parent ends at T0 + 8 h
    world.clock.advance(timedelta(hours=7))
    link = credential_document(
        ordering.delegate(world.payment.did, ["orders:read"], resource=MCP, valid_for=timedelta(hours=2))[-1]
    )
    parent = credential_document(ordering.grants[-1].leaf)
    assert link["validUntil"] == parent["validUntil"]
    # A shorter lifetime is kept as asked.
    short = credential_document(
        ordering.delegate(world.payment.did, ["orders:read"], resource=MCP, valid_for=timedelta(minutes=30))[
            -1
        ]
    )
    assert short["validUntil"] == "2026-12-01T16:30:00Z"
