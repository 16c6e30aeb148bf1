"""The project context https://w3id.org/did-agents/v1 (DESIGN §4, docs/context.md)."""

from __future__ import annotations

from typing import Any

import pytest

from did_agents.errors import MalformedError, VerificationError
from did_agents.jsonld import CONTEXTS_V2, DID_AGENTS_V1, canonicalize, expand, get_context

VOCAB = "https://w3id.org/did-agents#"
XSD = "http://www.w3.org/2001/XMLSchema#"
TYPES = ["AgentCapabilityCredential", "RoleCredential", "DelegationCredential"]
PROPERTIES = [
    "owner",
    "agentKind",
    "model",
    "version",
    "labels",
    "capabilities",
    "resource",
    "scopes",
    "delegators",
    "roles",
    "parentCredential",
    "maxDepth",
    "maxUses",
]
REUSED_FROM_V2 = ["id", "type", "name", "description", "digestSRI"]


def _definitions() -> dict[str, Any]:
    definitions = get_context(DID_AGENTS_V1)["@context"]
    assert isinstance(definitions, dict)
    return definitions


def _credential(subject: dict[str, Any], type_: str = "DelegationCredential") -> dict[str, Any]:
    return {
        "@context": [CONTEXTS_V2, DID_AGENTS_V1],
        "id": "urn:uuid:0f3c2f4e-6f1d-4c6b-9d7e-0a1b2c3d4e5f",
        "type": ["VerifiableCredential", type_],
        "issuer": "did:example:issuer",
        "credentialSubject": {"id": "did:example:agent", **subject},
    }


def test_context_is_json_ld_1_1_and_protected() -> None:
    definitions = _definitions()
    assert definitions["@version"] == 1.1
    assert definitions["@protected"] is True
    assert "@vocab" not in definitions


def test_context_defines_exactly_the_design_terms() -> None:
    terms = {key for key in _definitions() if not key.startswith("@")}
    assert terms == set(TYPES) | set(PROPERTIES)


@pytest.mark.parametrize("term", REUSED_FROM_V2)
def test_context_does_not_redefine_credentials_v2_terms(term: str) -> None:
    assert term not in _definitions()


@pytest.mark.parametrize("type_", TYPES)
def test_credential_types_expand_into_the_vocabulary(type_: str) -> None:
    expanded = expand(_credential({}, type_))
    assert VOCAB + type_ in expanded[0]["@type"]


@pytest.mark.parametrize("term", PROPERTIES)
def test_every_property_expands_into_the_vocabulary(term: str) -> None:
    values: dict[str, Any] = {
        "owner": "did:example:owner",
        "capabilities": [{"resource": "https://mcp.example/", "scopes": ["a:b"]}],
        "resource": "https://mcp.example/",
        "scopes": ["a:b"],
        "parentCredential": {"id": "urn:uuid:1", "digestSRI": "sha256-x"},
        "maxDepth": 1,
        "maxUses": 2,
    }
    result = canonicalize(_credential({term: values.get(term, "value")}))
    assert f"<{VOCAB}{term}>" in result


@pytest.mark.parametrize("term", TYPES + PROPERTIES)
def test_terms_are_protected(term: str) -> None:
    # JSON-LD 1.1 §4.1.11: redefining a protected term is an error.
    document = _credential({})
    document["@context"] = [CONTEXTS_V2, DID_AGENTS_V1, {term: "https://evil.example/#x"}]
    with pytest.raises(MalformedError) as info:
        canonicalize(document)
    assert "protected term redefinition" in info.value.description


def test_capabilities_and_scopes_are_unordered_sets() -> None:
    first = _credential(
        {
            "capabilities": [
                {"resource": "https://a.example/mcp", "scopes": ["x:read", "x:write"]},
                {"resource": "https://b.example/", "scopes": ["y:*"]},
            ]
        }
    )
    second = _credential(
        {
            "capabilities": [
                {"scopes": ["y:*"], "resource": "https://b.example/"},
                {"scopes": ["x:write", "x:read"], "resource": "https://a.example/mcp"},
            ]
        }
    )
    assert canonicalize(first) == canonicalize(second)


def test_resource_is_an_any_uri_literal_even_as_a_prefix() -> None:
    result = canonicalize(_credential({"capabilities": [{"resource": "https://b.example/"}]}))
    assert f'<{VOCAB}resource> "https://b.example/"^^<{XSD}anyURI> .' in result


def test_parent_credential_carries_the_v2_digest_sri() -> None:
    subject = {"parentCredential": {"id": "urn:uuid:77ab", "digestSRI": "sha256-abc"}}
    result = canonicalize(_credential(subject))
    assert f"<did:example:agent> <{VOCAB}parentCredential> <urn:uuid:77ab> ." in result
    assert (
        "<urn:uuid:77ab> <https://www.w3.org/2018/credentials#digestSRI> "
        '"sha256-abc"^^<https://www.w3.org/2018/credentials#sriString> .'
    ) in result


@pytest.mark.parametrize("term", ["maxDepth", "maxUses"])
def test_counters_are_xsd_integers(term: str) -> None:
    result = canonicalize(_credential({term: 0}))
    assert f'<{VOCAB}{term}> "0"^^<{XSD}integer> .' in result


def test_owner_must_be_an_iri() -> None:
    with pytest.raises(VerificationError) as info:
        canonicalize(_credential({"owner": "payments team"}))
    assert info.value.reason == "undefined_term"


def test_an_undefined_claim_is_refused_not_dropped() -> None:
    with pytest.raises(VerificationError) as info:
        canonicalize(_credential({"spendingLimit": 100}))
    assert info.value.reason == "undefined_term"
