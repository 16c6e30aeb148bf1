"""Properties of ``compute_effective_scope`` (DESIGN §5, last paragraph; docs/policy.md) in each mode.

For random agent capabilities, user authority, delegation links, policies and
requests, the answer is compared with a reference model of the module's
contract, written with the capability layer's ``grants`` (itself property-tested
in tests/delegation/test_capabilities.py):

* a granted scope is concrete and granted on the resource by every delegation
  link; in ``intersection`` and ``subset`` mode by the agent, and by the user
  authority when the resource requires a RoleCredential; in ``union`` mode by
  the agent or the user; in ``subset`` mode it is in ``allowed_scopes``; and it
  is in the resource's ``scopes`` vocabulary when one is configured;
* a non-empty request is all-or-nothing: exactly the requested scopes, or
  ``invalid_scope`` (SECURITY SEC-20);
* an empty request means everything allowed; an empty result is refused
  (``empty_scope``), never returned;
* the target checks come first: ``resource_not_delegated`` (a link grants
  nothing on the resource), ``role_credential_required``,
  ``resource_not_granted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from did_agents.delegation.capabilities import Capability, grants, is_wildcard, scopes_on
from did_agents.errors import DIDAgentsError, InvalidScopeError, InvalidTargetError, VerificationError
from did_agents.policy import Mode, Policy, compute_effective_scope, parse_policy

ORG = "did:web:issuer.urbanbites.example"
MCP = "https://mcp.urbanbites.example/mcp"
PREFIX = "https://mcp.urbanbites.example/"
OTHER = "https://mcp.payments.example/mcp"

CONCRETE = ("orders:read", "orders:create", "orders:delete", "orders:read:own", "menu:read", "menu:write")
PATTERNS = (*CONCRETE, "orders:*", "orders:read:*", "menu:*")

# Weighted towards the resource and broad patterns, so that most draws pass the target checks
# and a good part of them are granted.
_scopes = st.frozensets(st.sampled_from((*PATTERNS, "orders:*", "menu:*")), min_size=1, max_size=4)
_capability = st.builds(Capability, st.sampled_from((MCP, MCP, MCP, PREFIX, OTHER)), _scopes)
_caps = st.lists(_capability, min_size=1, max_size=3).map(tuple) | st.just(())
_links = st.lists(_caps, max_size=2)
_user = st.none() | _caps
_requested = st.frozensets(st.sampled_from(CONCRETE), max_size=2)
# Sets that hold something on the resource: past the target checks, for the grant properties.
_on_mcp = st.tuples(st.builds(Capability, st.just(MCP), _scopes), _caps).map(lambda t: (t[0], *t[1]))
_on_mcp_links = st.lists(_on_mcp, max_size=2)


@st.composite
def _policies(draw: st.DrawFn) -> Policy:
    mode: Mode = draw(st.sampled_from(("intersection", "union", "subset")))
    role = True if mode == "union" else draw(st.booleans())
    vocabulary = draw(st.none() | st.frozensets(st.sampled_from(CONCRETE), min_size=1))
    lines = [f'url = "{MCP}"', f'mode = "{mode}"', f"require_role_credential = {str(role).lower()}"]
    if vocabulary is not None:
        lines.append(f"scopes = {_toml(vocabulary)}")
    if mode == "subset":
        pool = sorted(vocabulary) if vocabulary is not None else CONCRETE
        lines.append(f"allowed_scopes = {_toml(draw(st.frozensets(st.sampled_from(pool), min_size=1)))}")
    return parse_policy(
        f'version = 1\n[[trusted_issuers]]\ndid = "{ORG}"\nscopes = ["orders:*", "menu:*"]\n'
        "[[resources]]\n" + "\n".join(lines) + "\n"
    )


def _toml(scopes: frozenset[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in sorted(scopes)) + "]"


# -- the reference model ------------------------------------------------------------------------


def _allowed(
    policy: Policy,
    scope: str,
    agent: Sequence[Capability],
    user: Sequence[Capability] | None,
    links: Sequence[Sequence[Capability]],
) -> bool:
    """Whether the concrete ``scope`` may be in a token for MCP (module docstring)."""
    entry = policy.resource_policy(MCP)
    use_user = entry.require_role_credential and bool(links)
    by_agent = grants(agent, MCP, scope)
    by_user = use_user and user is not None and grants(user, MCP, scope)
    if entry.mode == "union" and use_user:
        base = by_agent or by_user
    else:
        base = by_agent and (by_user or not use_user)
    if entry.mode == "subset":
        assert entry.allowed_scopes is not None
        base = base and scope in entry.allowed_scopes
    if entry.scopes is not None:
        base = base and scope in entry.scopes
    return base and all(grants(link, MCP, scope) for link in links)


def _target_refusal(
    policy: Policy,
    agent: Sequence[Capability],
    user: Sequence[Capability] | None,
    links: Sequence[Sequence[Capability]],
) -> str | None:
    entry = policy.resource_policy(MCP)
    if any(not scopes_on(MCP, link) for link in links):
        return "resource_not_delegated"
    use_user = entry.require_role_credential and bool(links)
    if use_user and user is None:
        return "role_credential_required"
    holders = [agent, user] if entry.mode == "union" and use_user and user is not None else [agent]
    if not any(scopes_on(MCP, caps) for caps in holders):
        return "resource_not_granted"
    return None


def _compute(
    policy: Policy,
    agent: Sequence[Capability],
    user: Sequence[Capability] | None,
    links: Sequence[Sequence[Capability]],
    requested: frozenset[str],
) -> frozenset[str] | DIDAgentsError:
    try:
        return compute_effective_scope(policy, MCP, agent, user, links, requested)
    except (InvalidScopeError, InvalidTargetError, VerificationError) as exc:
        return exc


def _refused(outcome: frozenset[str] | DIDAgentsError, error: type[DIDAgentsError], reason: str) -> None:
    assert isinstance(outcome, error), outcome
    assert outcome.reason == reason, (outcome.reason, outcome.description)


# -- properties ---------------------------------------------------------------------------------


@settings(deadline=None, max_examples=400)
@given(_policies(), _caps, _user, _links, _requested)
def test_result_is_exactly_the_reference_model(
    policy: Policy,
    agent: tuple[Capability, ...],
    user: tuple[Capability, ...] | None,
    links: list[tuple[Capability, ...]],
    requested: frozenset[str],
) -> None:
    outcome = _compute(policy, agent, user, links, requested)
    event(outcome.reason if isinstance(outcome, DIDAgentsError) else "granted")
    entry = policy.resource_policy(MCP)
    if entry.scopes is not None and not requested <= set(entry.scopes):
        _refused(outcome, InvalidScopeError, "unknown_scope")
        return
    target = _target_refusal(policy, agent, user, links)
    if target == "role_credential_required":
        _refused(outcome, VerificationError, target)
        return
    if target is not None:
        _refused(outcome, InvalidTargetError, target)
        return
    if requested:
        # All-or-nothing (SEC-20): exactly what was asked, or invalid_scope.
        if all(_allowed(policy, s, agent, user, links) for s in requested):
            assert outcome == requested
        else:
            _refused(outcome, InvalidScopeError, "scope_not_granted")
        return
    if entry.scopes is not None:
        # An empty request means the whole vocabulary that is allowed.
        expected = frozenset(s for s in entry.scopes if _allowed(policy, s, agent, user, links))
        if expected:
            assert outcome == expected
        else:
            _refused(outcome, InvalidScopeError, "empty_scope")
        return
    # No vocabulary: the concrete scopes granted; never empty, never beyond the bounds.
    if isinstance(outcome, DIDAgentsError):
        _refused(outcome, InvalidScopeError, "empty_scope")
    else:
        assert outcome
        assert all(_allowed(policy, s, agent, user, links) for s in outcome)


@settings(deadline=None, max_examples=300)
@given(_policies(), _on_mcp, _on_mcp, _on_mcp_links, _requested)
def test_granted_scopes_are_within_every_bound(
    policy: Policy,
    agent: tuple[Capability, ...],
    user: tuple[Capability, ...] | None,
    links: list[tuple[Capability, ...]],
    requested: frozenset[str],
) -> None:
    """The attenuation properties one by one, stated directly on what is granted."""
    outcome = _compute(policy, agent, user, links, requested)
    assume(not isinstance(outcome, DIDAgentsError))
    assert isinstance(outcome, frozenset)
    entry = policy.resource_policy(MCP)
    delegated = bool(links)
    assert outcome, "an empty result is refused, never returned"
    for scope in outcome:
        assert not is_wildcard(scope)
        for link in links:
            assert grants(link, MCP, scope), "every delegation link bounds the token"
        if requested:
            assert scope in requested
        if entry.scopes is not None:
            assert scope in entry.scopes
        if entry.mode in ("intersection", "subset"):
            assert grants(agent, MCP, scope)
            if entry.require_role_credential and delegated:
                assert user is not None and grants(user, MCP, scope)
        if entry.mode == "union":
            assert grants(agent, MCP, scope) or (user is not None and grants(user, MCP, scope))
        if entry.mode == "subset":
            assert entry.allowed_scopes is not None and scope in entry.allowed_scopes


@settings(deadline=None, max_examples=200)
@given(_policies(), _on_mcp, _on_mcp, _on_mcp_links, _requested, st.sampled_from(PATTERNS))
def test_narrowing_a_link_never_widens_the_grant(
    policy: Policy,
    agent: tuple[Capability, ...],
    user: tuple[Capability, ...] | None,
    links: list[tuple[Capability, ...]],
    requested: frozenset[str],
    dropped: str,
) -> None:
    """Attenuation is monotone: removing a scope from the last link never turns a refusal into a
    grant nor adds a scope.

    Not for an empty request on a resource without a ``scopes`` vocabulary: that default is the
    concrete scopes of the granted set's normal form, where a wildcard absorbs the concrete
    scopes below it (a link of ``orders:* orders:read`` yields none, ``orders:read`` alone
    yields ``orders:read``). That default stays within every bound (the properties above).
    """
    assume(requested or policy.resource_policy(MCP).scopes is not None)
    assume(links)
    last = links[-1]
    narrowed = tuple(Capability(c.resource, c.scopes - {dropped}) for c in last if c.scopes - {dropped})
    before = _compute(policy, agent, user, links, requested)
    after = _compute(policy, agent, user, [*links[:-1], narrowed], requested)
    if isinstance(after, frozenset):
        assert isinstance(before, frozenset)
        assert after <= before


@pytest.mark.parametrize("mode", ["intersection", "union", "subset"])
def test_each_mode_reaches_grants_and_refusals(mode: str) -> None:
    """Anti-vacuity for the properties above: each mode grants for some inputs, refuses others."""
    extra = 'allowed_scopes = ["orders:read"]\n' if mode == "subset" else ""
    policy = parse_policy(
        f'version = 1\n[[trusted_issuers]]\ndid = "{ORG}"\nscopes = ["orders:*"]\n'
        f'[[resources]]\nurl = "{MCP}"\nmode = "{mode}"\nrequire_role_credential = true\n{extra}'
    )
    agent = (Capability(MCP, frozenset({"orders:read"})),)
    user = (Capability(MCP, frozenset({"orders:*"})),)
    links = [(Capability(MCP, frozenset({"orders:read", "orders:delete"})),)]
    assert _compute(policy, agent, user, links, frozenset({"orders:read"})) == {"orders:read"}
    delete = _compute(policy, agent, user, links, frozenset({"orders:delete"}))
    if mode == "union":
        assert delete == {"orders:delete"}
    else:
        _refused(delete, InvalidScopeError, "scope_not_granted")


# -- ResourcePolicy.token_expiry (the exp rule of DESIGN §6, used by the exchange) ---------------

_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@settings(deadline=None, max_examples=200)
@given(
    st.integers(1, 86_400),
    st.none() | st.integers(1, 86_400),
    st.none() | st.integers(-60, 100_000),
)
def test_token_expiry_is_the_smallest_bound(resource: int, service: int | None, chain: int | None) -> None:
    entry = parse_policy(
        f'version = 1\n[[trusted_issuers]]\ndid = "{ORG}"\nscopes = ["orders:*"]\n'
        f'[[resources]]\nurl = "{MCP}"\nmax_token_lifetime = {resource}\n'
    ).resource_policy(MCP)
    not_after = None if chain is None else _NOW + timedelta(seconds=chain)
    max_lifetime = None if service is None else timedelta(seconds=service)
    expiry = entry.token_expiry(_NOW, not_after, max_lifetime=max_lifetime)
    bounds = [resource] + ([service] if service is not None else []) + ([chain] if chain is not None else [])
    assert expiry == _NOW + timedelta(seconds=min(bounds))
