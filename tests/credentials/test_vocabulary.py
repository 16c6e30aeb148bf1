"""The did-agents credential types (DESIGN §4): builders and claim-shape parsers."""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did_agents import jcs
from did_agents.credentials.capability import Capability, is_scope, parse_capabilities, parse_resource
from did_agents.credentials.vocabulary import (
    ParentCredential,
    build_capability_credential,
    build_role_credential,
    credential_digest_sri,
    parse_capability_credential,
    parse_delegation_credential,
    parse_role_credential,
)
from did_agents.errors import MalformedError
from did_agents.jsonld import canonicalize
from tests.credentials.conftest import MCP, NOW, Party, delegation


def _capability(org: Party, agent: Party, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "issuer": org.did,
        "agent": agent.did,
        "name": "Urban Bites ordering assistant",
        "owner": "mailto:platform@urbanbites.example",
        "capabilities": [Capability("https://mcp.urbanbites.example/", ("orders:*",))],
        "valid_from": NOW,
        "valid_until": NOW + timedelta(days=30),
        "delegators": ["*"],
        "model": "gpt-x",
        "version": "1.2.0",
        "description": "Takes food orders",
    }
    args.update(overrides)
    return build_capability_credential(**args)


def _refused(parser: Any, document: Any, reason: str) -> None:
    with pytest.raises(MalformedError) as info:
        parser(document)
    assert info.value.reason == reason


def test_built_credentials_have_both_contexts_a_uuid_id_and_a_validity_window(
    user: Party, agent: Party
) -> None:
    credential = delegation(user, agent)
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://w3id.org/did-agents/v1",
    ]
    assert credential["id"].startswith("urn:uuid:")
    assert credential["type"] == ["VerifiableCredential", "DelegationCredential"]
    assert credential["validFrom"] == "2026-12-01T09:00:00Z"
    assert credential["validUntil"] == "2026-12-01T17:00:00Z"
    assert delegation(user, agent)["id"] != credential["id"]


def test_built_credentials_canonicalize_in_json_ld_safe_mode(user: Party, agent: Party) -> None:
    # Every term used by the builders is defined by the bundled contexts.
    parent = delegation(user, agent)
    for credential in (
        parent,
        delegation(agent, user, parent=ParentCredential.of(parent), max_depth=0),
        _capability(user, agent),
        build_role_credential(
            issuer=user.did,
            user=agent.did,
            roles=["staff"],
            capabilities=[{"resource": MCP, "scopes": ["orders:read"]}],
            valid_from=NOW,
            valid_until=NOW + timedelta(days=1),
        ),
    ):
        assert canonicalize(credential)


def test_capability_credential_round_trip(user: Party, agent: Party) -> None:
    parsed = parse_capability_credential(_capability(user, agent))
    assert parsed.issuer == user.did
    assert parsed.agent == agent.did
    assert parsed.agent_kind == "delegated"
    assert parsed.capabilities == (Capability("https://mcp.urbanbites.example/", ("orders:*",)),)
    assert parsed.capabilities[0].is_prefix
    assert parsed.delegators == ("*",)
    assert (parsed.model, parsed.version) == ("gpt-x", "1.2.0")


def test_agent_kind_is_delegated_or_autonomous(user: Party, agent: Party) -> None:
    credential = _capability(user, agent)
    credential["credentialSubject"]["agentKind"] = "rogue"
    _refused(parse_capability_credential, credential, "invalid_claim")


def test_owner_must_be_a_did_or_url(user: Party, agent: Party) -> None:
    credential = _capability(user, agent)
    credential["credentialSubject"]["owner"] = "the platform team"
    _refused(parse_capability_credential, credential, "invalid_claim")


@pytest.mark.parametrize("delegator", ["did:key:z6Mk", "*", "staff", "ops:oncall"])
def test_delegators_are_dids_roles_or_star(delegator: str, user: Party, agent: Party) -> None:
    credential = _capability(user, agent, delegators=[delegator])
    assert parse_capability_credential(credential).delegators == (delegator,)


def test_delegator_with_spaces_is_refused(user: Party, agent: Party) -> None:
    credential = _capability(user, agent)
    credential["credentialSubject"]["delegators"] = ["any one"]
    _refused(parse_capability_credential, credential, "invalid_claim")


def test_capability_credential_needs_its_type(user: Party, agent: Party) -> None:
    _refused(parse_capability_credential, delegation(user, agent), "invalid_type")


def test_project_context_is_required(user: Party, agent: Party) -> None:
    credential = delegation(user, agent)
    credential["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    _refused(parse_delegation_credential, credential, "invalid_context")


def test_subject_must_be_a_did(user: Party, agent: Party) -> None:
    credential = delegation(user, agent)
    credential["credentialSubject"]["id"] = "https://agent.example"
    _refused(parse_delegation_credential, credential, "invalid_claim")


def test_delegation_round_trip(user: Party, agent: Party) -> None:
    parsed = parse_delegation_credential(delegation(user, agent))
    assert parsed.delegator == user.did
    assert parsed.delegatee == agent.did
    assert parsed.max_depth == 1
    assert parsed.parent is None


@pytest.mark.parametrize("value", [-1, 1.5, True, "1", 65])
def test_max_depth_is_a_non_negative_integer(value: object, user: Party, agent: Party) -> None:
    credential = delegation(user, agent)
    credential["credentialSubject"]["maxDepth"] = value
    _refused(parse_delegation_credential, credential, "invalid_claim")


def test_delegation_needs_valid_until(user: Party, agent: Party) -> None:
    credential = delegation(user, agent)
    del credential["validUntil"]
    _refused(parse_delegation_credential, credential, "missing_property")


def test_delegation_needs_capabilities(user: Party, agent: Party) -> None:
    credential = delegation(user, agent)
    credential["credentialSubject"]["capabilities"] = []
    _refused(parse_delegation_credential, credential, "invalid_capability")


def test_parent_credential_link_and_digest(user: Party, agent: Party) -> None:
    parent = delegation(user, agent)
    link = ParentCredential.of(parent)
    expected = "sha256-" + base64.b64encode(hashlib.sha256(jcs.canonicalize(parent)).digest()).decode()
    assert link == ParentCredential(parent["id"], expected)
    assert credential_digest_sri(parent) == expected
    child = delegation(agent, user, parent=link, max_depth=0)
    assert parse_delegation_credential(child).parent == link


def test_digest_changes_when_the_parent_changes(user: Party, agent: Party) -> None:
    parent = delegation(user, agent)
    other = copy.deepcopy(parent)
    other["credentialSubject"]["maxDepth"] = 2
    assert credential_digest_sri(parent) != credential_digest_sri(other)


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "urn:uuid:1"},
        {"id": "urn:uuid:1", "digestSRI": "sha512-abc"},
        {"id": "urn:uuid:1", "digestSRI": "sha256-tooShort="},
        {"id": "not a url", "digestSRI": "sha256-" + "A" * 43 + "="},
        {"id": "urn:uuid:1", "digestSRI": "sha256-" + "A" * 43 + "=", "extra": 1},
    ],
)
def test_parent_credential_shape(raw: dict[str, Any], user: Party, agent: Party) -> None:
    credential = delegation(user, agent)
    credential["credentialSubject"]["parentCredential"] = raw
    _refused(parse_delegation_credential, credential, "invalid_claim")


def test_role_credential_needs_roles_or_capabilities(user: Party, agent: Party) -> None:
    with pytest.raises(MalformedError) as info:
        build_role_credential(
            issuer=user.did, user=agent.did, valid_from=NOW, valid_until=NOW + timedelta(days=1)
        )
    assert info.value.reason == "missing_property"


def test_role_credential_round_trip(user: Party, agent: Party) -> None:
    grant = parse_role_credential(
        build_role_credential(
            issuer=user.did,
            user=agent.did,
            roles=["staff"],
            valid_from=NOW,
            valid_until=NOW + timedelta(days=1),
        )
    )
    assert grant.roles == ("staff",) and grant.capabilities == () and grant.issuer == user.did


def test_builders_refuse_what_the_parsers_refuse(user: Party, agent: Party) -> None:
    with pytest.raises(MalformedError):
        delegation(user, agent, capabilities=[{"resource": "http://mcp.example/mcp", "scopes": ["a"]}])
    with pytest.raises(ValueError, match="DID"):
        delegation(user, agent, agent="https://agent.example")
    with pytest.raises(ValueError, match="before"):
        delegation(user, agent, valid_until=NOW - timedelta(seconds=1))


# -- capabilities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    ["orders:read", "orders:*", "tools:search", "a", "files:/home/u", "v1.orders:read-all", "x:y:z:*"],
)
def test_scope_grammar_accepts(scope: str) -> None:
    assert is_scope(scope)


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "*",
        "orders:",
        ":read",
        "orders::read",
        "orders:*:read",
        "orders read",
        "tools:reаd",  # Cyrillic а (SEC-38)
        "orders:re*",
        'orders:"x"',
        "x" * 129,
    ],
)
def test_scope_grammar_refuses(scope: str) -> None:
    assert not is_scope(scope)


@given(st.text(max_size=40))
def test_every_valid_scope_is_an_rfc6749_scope_token(text: str) -> None:
    # RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    if is_scope(text):
        assert all(c == "\x21" or "\x23" <= c <= "\x5b" or "\x5d" <= c <= "\x7e" for c in text)


@pytest.mark.parametrize(
    "resource",
    [
        "https://mcp.example/mcp",
        "https://mcp.example/",
        "https://mcp.example:8443/a/b",
        "https://127.0.0.1:8443/mcp",
    ],
)
def test_resource_accepts_https_urls(resource: str) -> None:
    assert parse_resource(resource) == resource


@pytest.mark.parametrize(
    "resource",
    [
        "http://mcp.example/mcp",
        "https://mcp.example/mcp#frag",  # RFC 8707 §2
        "https://mcp.example/mcp?x=1",
        "https://user@mcp.example/mcp",
        "https://MCP.example/mcp",
        "https://mcp.exаmple/mcp",  # Cyrillic а
        "mcp-a",
        "https://",
        "https://mcp.example:99999/",
        " https://mcp.example/",
    ],
)
def test_resource_refuses(resource: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_resource(resource)
    assert info.value.reason == "invalid_capability"


def test_capability_needs_scopes_and_no_duplicates() -> None:
    with pytest.raises(MalformedError):
        Capability(MCP, ())
    with pytest.raises(MalformedError):
        Capability(MCP, ("orders:read", "orders:read"))


def test_capability_json_refuses_unknown_members() -> None:
    with pytest.raises(MalformedError):
        parse_capabilities([{"resource": MCP, "scopes": ["a"], "path": "/*"}])


def test_capabilities_must_be_an_array_of_objects() -> None:
    for value in ({"resource": MCP, "scopes": ["a"]}, ["x"], None):
        with pytest.raises(MalformedError):
            parse_capabilities(value)
