"""RDFC-1.0 canonicalization in safe mode (VC-DI-EDDSA §3.3.3, SECURITY SEC-29/30/31)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from did_agents.errors import MalformedError, VerificationError
from did_agents.jsonld import CONTEXTS_V2, DID_AGENTS_V1, canonicalize, expand

VECTORS = Path(__file__).parent.parent / "vectors" / "vc-di-eddsa" / "rdfc"


def _vector_json(name: str) -> Any:
    return json.loads((VECTORS / name).read_text("utf-8"))


def _vector_text(name: str) -> str:
    return (VECTORS / name).read_bytes().decode("utf-8")


def _delegation() -> dict[str, Any]:
    return {
        "@context": [CONTEXTS_V2, DID_AGENTS_V1],
        "id": "urn:uuid:0f3c2f4e-6f1d-4c6b-9d7e-0a1b2c3d4e5f",
        "type": ["VerifiableCredential", "DelegationCredential"],
        "issuer": "did:key:z6MkSmith",
        "validFrom": "2026-12-01T09:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkOrderingAgent",
            "capabilities": [{"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read"]}],
            "maxDepth": 1,
        },
    }


# --- W3C vectors (VC-DI-EDDSA REC Appendix B.1) ---------------------------------------


def test_vc_di_eddsa_b1_canonical_document() -> None:
    result = canonicalize(_vector_json("unsigned.json"))
    assert result == _vector_text("canonical_document.nq")
    expected_hash = _vector_text("canonical_document.sha256.hex").strip()
    assert hashlib.sha256(result.encode()).hexdigest() == expected_hash


def test_vc_di_eddsa_b1_canonical_proof_config() -> None:
    result = canonicalize(_vector_json("proof_config.json"))
    assert result == _vector_text("canonical_proof_config.nq")
    expected_hash = _vector_text("canonical_proof_config.sha256.hex").strip()
    assert hashlib.sha256(result.encode()).hexdigest() == expected_hash


def test_vc_di_eddsa_b1_signed_credential_without_proof_is_the_unsigned_one() -> None:
    signed = _vector_json("signed.json")
    del signed["proof"]
    assert canonicalize(signed) == _vector_text("canonical_document.nq")


# --- RDFC-1.0 output form ---------------------------------------------------------------


def test_rdfc_output_is_sorted_lines_each_ending_in_newline() -> None:
    # RDF-CANON §4.4 step 5 (sorted by code point), §4.4 note: one quad per line.
    result = canonicalize(_delegation())
    lines = result.split("\n")
    assert lines[-1] == ""
    assert lines[:-1] == sorted(lines[:-1])


def test_rdfc_blank_nodes_are_relabelled_c14n() -> None:
    # RDF-CANON §4.4: canonical identifiers are issued with the prefix "c14n".
    result = canonicalize(_delegation())
    assert "_:c14n0 " in result
    assert "_:b" not in result


def test_key_order_and_whitespace_do_not_change_the_canonical_form() -> None:
    document = _delegation()
    shuffled = json.loads(json.dumps(document, sort_keys=True, indent=3))
    reversed_keys = dict(reversed(list(document.items())))
    assert canonicalize(document) == canonicalize(shuffled) == canonicalize(reversed_keys)


def test_a_changed_value_changes_the_canonical_form() -> None:
    other = _delegation()
    other["credentialSubject"]["capabilities"][0]["scopes"] = ["orders:create"]
    assert canonicalize(_delegation()) != canonicalize(other)


def test_canonicalize_does_not_mutate_its_input() -> None:
    document = _delegation()
    before = copy.deepcopy(document)
    canonicalize(document)
    assert document == before


# --- safe mode: undefined terms (SEC-31, VC-DATA-INTEGRITY "dropped by a JSON-LD processor")


def test_safe_mode_refuses_an_undefined_property() -> None:
    document = _delegation()
    document["credentialSubject"]["spendingLimit"] = 100
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"
    assert "spendingLimit" in info.value.description


def test_safe_mode_refuses_an_undefined_property_deep_inside_a_nested_object() -> None:
    document = _delegation()
    document["credentialSubject"]["capabilities"][0]["constraints"] = {"max": 1}
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"
    assert "constraints" in info.value.description


def test_safe_mode_refuses_an_undefined_type() -> None:
    document = _delegation()
    document["type"].append("SuperDelegationCredential")
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"
    assert "SuperDelegationCredential" in info.value.description


def test_safe_mode_refuses_a_relative_id() -> None:
    document = _delegation()
    document["credentialSubject"]["id"] = "agents/ordering"
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"


def test_safe_mode_refuses_a_relative_iri_value() -> None:
    document = _delegation()
    document["issuer"] = "smith"
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"


def test_safe_mode_refuses_keyword_like_keys() -> None:
    document = _delegation()
    document["@foo"] = "bar"
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"


def test_safe_mode_refuses_an_embedded_vocab() -> None:
    # SEC-29: {"@vocab": "https://evil/#"} appended would "define" every term.
    document = _delegation()
    document["@context"] = [*document["@context"], {"@vocab": "https://evil.example/#"}]
    document["credentialSubject"]["spendingLimit"] = 100
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"


def test_safe_mode_refuses_an_embedded_vocab_in_a_scoped_context() -> None:
    document = _delegation()
    document["@context"] = [
        *document["@context"],
        {"Thing": {"@id": "https://example.org/Thing", "@context": {"@vocab": "https://e/#"}}},
    ]
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"


def test_safe_mode_refuses_an_embedded_base() -> None:
    # SEC-31: a relative IRI that depends on @base.
    document = _delegation()
    document["@context"] = [*document["@context"], {"@base": "https://evil.example/"}]
    document["credentialSubject"]["id"] = "agents/ordering"
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"


def test_safe_mode_refuses_the_undefined_term_vocabulary() -> None:
    document = _delegation()
    document["credentialSubject"]["https://www.w3.org/ns/credentials/undefined-term#x"] = 1
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"


def test_safe_mode_accepts_terms_defined_inline() -> None:
    document = _delegation()
    document["@context"] = [*document["@context"], {"tip": "https://example.org/#tip"}]
    document["credentialSubject"]["tip"] = "5%"
    assert '<https://example.org/#tip> "5%" .' in canonicalize(document)


def test_safe_mode_accepts_absolute_iri_properties() -> None:
    document = _delegation()
    document["credentialSubject"]["https://example.org/#tip"] = "5%"
    assert '<https://example.org/#tip> "5%" .' in canonicalize(document)


def test_unsafe_mode_drops_undefined_terms_silently() -> None:
    document = _delegation()
    document["credentialSubject"]["spendingLimit"] = 100
    assert canonicalize(document, safe=False) == canonicalize(_delegation())


# --- contexts (SEC-29, SEC-30) ----------------------------------------------------------


def test_unknown_context_url_is_refused() -> None:
    document = _delegation()
    document["@context"] = [CONTEXTS_V2, "https://evil.example/context.jsonld"]
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "unknown_context"


def test_unknown_context_in_import_is_refused() -> None:
    document = _delegation()
    document["@context"] = [*document["@context"], {"@import": "http://169.254.169.254/"}]
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "unknown_context"


def test_unknown_context_is_refused_even_in_unsafe_mode() -> None:
    document = _delegation()
    document["@context"] = "file:///etc/passwd"
    with pytest.raises(VerificationError) as info:
        canonicalize(document, safe=False)
    assert info.value.reason == "unknown_context"


def test_protected_term_redefinition_is_refused() -> None:
    # SEC-29: credential-redef-type-fail.json.
    document = _delegation()
    document["@context"] = [CONTEXTS_V2, DID_AGENTS_V1, {"VerifiableCredential": "https://evil/#X"}]
    with pytest.raises(MalformedError) as info:
        canonicalize(document)
    assert info.value.reason == "malformed"
    assert "protected term redefinition" in info.value.description


def test_project_context_terms_are_protected() -> None:
    document = _delegation()
    document["@context"] = [CONTEXTS_V2, DID_AGENTS_V1, {"maxDepth": "https://evil/#depth"}]
    with pytest.raises(MalformedError):
        canonicalize(document)


@pytest.mark.parametrize(
    "document",
    [
        {"@context": 5},
        {"@context": CONTEXTS_V2, "@id": 5},
        {"@context": CONTEXTS_V2, "type": {"not": "a string"}},
        {"@context": [CONTEXTS_V2, {"@version": 2.0}]},
    ],
)
def test_invalid_json_ld_is_malformed(document: dict[str, Any]) -> None:
    with pytest.raises(MalformedError) as info:
        canonicalize(document)
    assert info.value.reason == "malformed"


def test_a_document_must_be_an_object() -> None:
    with pytest.raises(MalformedError):
        canonicalize([_delegation()])  # type: ignore[arg-type]


def test_expand_returns_expanded_json_ld() -> None:
    expanded = expand(_delegation())
    assert expanded[0]["@type"] == [
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://w3id.org/did-agents#DelegationCredential",
    ]


# --- what pyoxigraph's parser would drop silently is refused ---------------------------------


@pytest.mark.parametrize(
    "iri", ["https://e.example/a#b#c", "https://e.example/a%zz", "http://e.example:port/", "a:b c"]
)
def test_safe_mode_refuses_invalid_iris(iri: str) -> None:
    # RFC 3987: not IRIs. JSON-LD processors drop such triples; we refuse.
    document = _delegation()
    document["issuer"] = iri
    with pytest.raises(MalformedError) as info:
        canonicalize(document)
    assert info.value.reason == "malformed"


def test_safe_mode_refuses_ill_formed_language_tags() -> None:
    # BCP 47 well-formedness (JSON-LD 1.1 §4.2.4).
    document = _delegation()
    document["name"] = {"@value": "Agent", "@language": "en_US"}
    with pytest.raises(MalformedError) as info:
        canonicalize(document)
    assert info.value.reason == "malformed"


def test_unsafe_mode_drops_invalid_iris_like_a_json_ld_processor() -> None:
    document = _delegation()
    document["issuer"] = "https://e.example/a#b#c"
    assert "credentials#issuer>" not in canonicalize(document, safe=False)


# --- the result cache -------------------------------------------------------------------------


def test_cached_unsafe_result_never_answers_a_safe_call() -> None:
    document = _delegation()
    document["credentialSubject"]["spendingLimit"] = 100
    canonicalize(document, safe=False)
    with pytest.raises(VerificationError) as info:
        canonicalize(document)
    assert info.value.reason == "undefined_term"


def test_cache_distinguishes_documents_that_differ_in_one_value() -> None:
    first = _delegation()
    second = _delegation()
    second["credentialSubject"]["maxDepth"] = 2
    assert canonicalize(first) != canonicalize(second)
    assert canonicalize(first) == canonicalize(_delegation())


def test_concurrent_canonicalization_gives_the_sequential_results() -> None:
    from concurrent.futures import ThreadPoolExecutor

    documents = []
    for depth in range(24):
        document = _delegation()
        document["credentialSubject"]["maxDepth"] = depth
        document["@context"] = [*document["@context"], {f"t{depth}": f"https://e.org/#t{depth}"}]
        document["credentialSubject"][f"t{depth}"] = "x"
        documents.append(document)
    expected = [canonicalize(copy.deepcopy(d), safe=False) for d in documents]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(canonicalize, documents))
    assert results == expected
