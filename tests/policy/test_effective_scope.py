"""Effective scope (DESIGN §5): intersection / union / subset, all-or-nothing requests, refusals."""

from __future__ import annotations

import pytest

from did_agents.delegation.capabilities import Capability
from did_agents.errors import InvalidScopeError, InvalidTargetError, VerificationError
from did_agents.policy import Policy, compute_effective_scope, parse_policy

ORG = "did:web:issuer.urbanbites.example"
MCP = "https://mcp.urbanbites.example/mcp"
OTHER = "https://mcp.payments.example/mcp"


def _policy(**resource: object) -> Policy:
    lines = [f'url = "{MCP}"']
    for key, value in resource.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value!r}".replace("'", '"'))
    body = "\n".join(lines)
    return parse_policy(
        f'version = 1\n[[trusted_issuers]]\ndid = "{ORG}"\nscopes = ["orders:*", "menu:*"]\n'
        f"[[resources]]\n{body}\n"
    )


def caps(*scopes: str, resource: str = MCP) -> tuple[Capability, ...]:
    return (Capability(resource, frozenset(scopes)),)


ORDERING_AGENT = caps("orders:read", "orders:create", "menu:read")
HR_AGENT = caps("orders:read", "menu:read")
SMITH = caps("orders:*", "menu:read")
SMITH_TO_ORDERING = caps("orders:read", "orders:create")


def test_intersection_grants_requested_scope() -> None:
    policy = _policy(require_role_credential=True)
    assert compute_effective_scope(
        policy, MCP, ORDERING_AGENT, SMITH, [SMITH_TO_ORDERING], ["orders:create"]
    ) == {"orders:create"}


def test_intersection_refuses_what_the_agent_lacks_although_user_holds_it() -> None:
    """HR agent lacks orders:delete: refused although smith holds orders:*."""
    policy = _policy(require_role_credential=True)
    with pytest.raises(InvalidScopeError) as info:
        compute_effective_scope(policy, MCP, HR_AGENT, SMITH, [caps("orders:*")], ["orders:delete"])
    assert info.value.reason == "scope_not_granted"
    assert "orders:delete" in info.value.description


def test_intersection_uses_user_authority_when_role_required() -> None:
    policy = _policy(require_role_credential=True)
    with pytest.raises(InvalidScopeError):
        compute_effective_scope(
            policy, MCP, ORDERING_AGENT, caps("orders:read"), [SMITH_TO_ORDERING], ["orders:create"]
        )
    # without the requirement the role credential is not consulted
    assert compute_effective_scope(
        _policy(), MCP, ORDERING_AGENT, caps("orders:read"), [SMITH_TO_ORDERING], ["orders:create"]
    ) == {"orders:create"}


def test_role_credential_required() -> None:
    with pytest.raises(VerificationError) as info:
        compute_effective_scope(
            _policy(require_role_credential=True), MCP, ORDERING_AGENT, None, [SMITH_TO_ORDERING], []
        )
    assert info.value.reason == "role_credential_required"


def test_union_adds_user_authority_bounded_by_delegation() -> None:
    """Union: the agent lacks orders:delete but smith holds it and delegated it: granted."""
    union = _policy(mode="union", require_role_credential=True)
    link = caps("orders:read", "orders:delete")
    assert compute_effective_scope(union, MCP, HR_AGENT, SMITH, [link], ["orders:delete"]) == {
        "orders:delete"
    }
    intersection = _policy(require_role_credential=True)
    with pytest.raises(InvalidScopeError):
        compute_effective_scope(intersection, MCP, HR_AGENT, SMITH, [link], ["orders:delete"])
    # still bounded by every link: orders:create was not delegated
    with pytest.raises(InvalidScopeError) as info:
        compute_effective_scope(union, MCP, ORDERING_AGENT, SMITH, [link], ["orders:create"])
    assert info.value.reason == "scope_not_granted"


def test_subset_limits_to_allowlist() -> None:
    subset = _policy(mode="subset", allowed_scopes=["orders:read"])
    assert compute_effective_scope(subset, MCP, ORDERING_AGENT, None, [SMITH_TO_ORDERING], []) == {
        "orders:read"
    }
    with pytest.raises(InvalidScopeError) as info:
        compute_effective_scope(subset, MCP, ORDERING_AGENT, None, [SMITH_TO_ORDERING], ["orders:create"])
    assert info.value.reason == "scope_not_granted"
    assert compute_effective_scope(
        _policy(), MCP, ORDERING_AGENT, None, [SMITH_TO_ORDERING], ["orders:create"]
    ) == {"orders:create"}


def test_sub_delegation_bounded_by_every_link() -> None:
    payment_agent = caps("orders:read", "orders:create")
    links = [SMITH_TO_ORDERING, caps("orders:read")]
    assert compute_effective_scope(_policy(), MCP, payment_agent, None, links, []) == {"orders:read"}
    with pytest.raises(InvalidScopeError):
        compute_effective_scope(_policy(), MCP, payment_agent, None, links, ["orders:create"])


def test_autonomous_agent_gets_its_own_capabilities() -> None:
    inventory = caps("menu:read", "orders:read")
    policy = _policy(require_role_credential=True)
    assert compute_effective_scope(policy, MCP, inventory, None, [], ["menu:read"]) == {"menu:read"}
    subset = _policy(mode="subset", allowed_scopes=["orders:read"])
    assert compute_effective_scope(subset, MCP, inventory, None, [], []) == {"orders:read"}


def test_empty_request_defaults_to_vocabulary() -> None:
    policy = _policy(scopes=["orders:read", "orders:create", "orders:delete", "menu:read"])
    agent = caps("orders:*", "menu:read")
    assert compute_effective_scope(policy, MCP, agent, None, [caps("orders:*")], []) == {
        "orders:read",
        "orders:create",
        "orders:delete",
    }


def test_empty_request_without_vocabulary_drops_wildcards() -> None:
    with pytest.raises(InvalidScopeError) as info:
        compute_effective_scope(_policy(), MCP, caps("orders:*"), None, [caps("orders:*")], [])
    assert info.value.reason == "empty_scope"


def test_unknown_scope_refused() -> None:
    policy = _policy(scopes=["orders:read"])
    with pytest.raises(InvalidScopeError) as info:
        compute_effective_scope(policy, MCP, ORDERING_AGENT, None, [SMITH_TO_ORDERING], ["orders:create"])
    assert info.value.reason == "unknown_scope"


def test_wildcard_request_refused() -> None:
    with pytest.raises(InvalidScopeError) as info:
        compute_effective_scope(_policy(), MCP, ORDERING_AGENT, None, [SMITH_TO_ORDERING], ["orders:*"])
    assert info.value.reason == "wildcard_scope"


def test_partial_grant_refused() -> None:
    """SEC-20: tools:search tools:write with only search granted → invalid_scope, not a partial token."""
    with pytest.raises(InvalidScopeError) as info:
        compute_effective_scope(
            _policy(), MCP, ORDERING_AGENT, None, [SMITH_TO_ORDERING], ["orders:read", "orders:delete"]
        )
    assert info.value.reason == "scope_not_granted"


def test_resource_not_configured() -> None:
    with pytest.raises(InvalidTargetError) as info:
        compute_effective_scope(
            _policy(),
            OTHER,
            caps("orders:read", resource=OTHER),
            None,
            [caps("orders:read", resource=OTHER)],
            [],
        )
    assert info.value.reason == "resource_not_configured"


def test_resource_not_delegated() -> None:
    """SEC-19: the delegation names another server."""
    with pytest.raises(InvalidTargetError) as info:
        compute_effective_scope(
            _policy(), MCP, ORDERING_AGENT, None, [caps("orders:read", resource=OTHER)], []
        )
    assert info.value.reason == "resource_not_delegated"


def test_resource_not_granted_to_agent() -> None:
    with pytest.raises(InvalidTargetError) as info:
        compute_effective_scope(
            _policy(), MCP, caps("orders:read", resource=OTHER), None, [SMITH_TO_ORDERING], []
        )
    assert info.value.reason == "resource_not_granted"


def test_prefix_delegation_covers_resource() -> None:
    link = caps("orders:read", resource="https://mcp.urbanbites.example/")
    assert compute_effective_scope(_policy(), MCP, ORDERING_AGENT, None, [link], []) == {"orders:read"}
