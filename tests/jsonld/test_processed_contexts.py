"""Processed active contexts are cached across documents without changing results.

JSON-LD 1.1 API §4.1 (Context Processing) is a function of the active context,
the local context and the options; type-scoped contexts do not propagate
(JSON-LD 1.1 §4.1.8), property-scoped ones do, protected terms stay protected
(§4.1.11), whether the processed context comes from the cache or not.
"""

from __future__ import annotations

from typing import Any

import pytest

from did_agents.errors import MalformedError, VerificationError
from did_agents.jsonld import CONTEXTS_V2, DID_AGENTS_V1, canonicalize
from did_agents.jsonld.canonicalize import _CANONICAL_FORMS, _CANONICAL_FORMS_LOCK, _PROCESSED_CONTEXTS

EXAMPLE = "https://example.org/#"

# A type-scoped context (Box) and a property-scoped one (label).
SCOPED_CONTEXT = {
    "Box": {"@id": EXAMPLE + "Box", "@context": {"size": EXAMPLE + "size"}},
    "contents": EXAMPLE + "contents",
    "label": {"@id": EXAMPLE + "label", "@context": {"text": EXAMPLE + "text"}},
}


def _forget() -> None:
    _PROCESSED_CONTEXTS.clear()
    with _CANONICAL_FORMS_LOCK:
        _CANONICAL_FORMS.clear()


def _credential(number: int, subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [CONTEXTS_V2, DID_AGENTS_V1, SCOPED_CONTEXT],
        "id": f"urn:uuid:0f3c2f4e-6f1d-4c6b-9d7e-{number:012d}",
        "type": ["VerifiableCredential", "DelegationCredential"],
        "issuer": "did:key:z6MkSmith",
        "validFrom": "2026-12-01T09:00:00Z",
        "credentialSubject": subject,
    }


def _box(number: int) -> dict[str, Any]:
    subject = {
        "id": "did:key:z6MkOrderingAgent",
        "type": "Box",
        "size": number,
        "label": {"text": f"box {number}"},
        "contents": {"label": {"text": "inner"}},
    }
    return _credential(number, subject)


def test_processed_contexts_are_reused_for_a_new_document() -> None:
    _forget()
    canonicalize(_box(1))
    filled = len(_PROCESSED_CONTEXTS)
    assert filled > 0
    canonicalize(_box(2))
    assert len(_PROCESSED_CONTEXTS) == filled


@pytest.mark.parametrize("number", [2, 3])
def test_cached_contexts_give_the_same_canonical_form_as_fresh_ones(number: int) -> None:
    _forget()
    cold = canonicalize(_box(number))
    _forget()
    canonicalize(_box(1))
    with _CANONICAL_FORMS_LOCK:
        _CANONICAL_FORMS.clear()
    assert canonicalize(_box(number)) == cold
    assert f'<{EXAMPLE}size> "{number}"^^<http://www.w3.org/2001/XMLSchema#integer>' in cold
    assert f'<{EXAMPLE}text> "inner" .' in cold


@pytest.mark.parametrize("warm", [False, True])
def test_type_scoped_term_does_not_propagate_to_nested_nodes(warm: bool) -> None:
    # JSON-LD 1.1 §4.1.8: a type-scoped context applies to the typed node only.
    _forget()
    if warm:
        canonicalize(_box(1))
    subject = _box(4)["credentialSubject"]
    subject["contents"] = {"size": 5}
    with pytest.raises(VerificationError) as info:
        canonicalize(_credential(4, subject))
    assert info.value.reason == "undefined_term"


@pytest.mark.parametrize("warm", [False, True])
def test_protected_term_redefinition_is_refused_with_cached_contexts(warm: bool) -> None:
    # JSON-LD 1.1 §4.1.11.
    _forget()
    if warm:
        canonicalize(_box(1))
    document = _box(5)
    document["@context"] = [*document["@context"], {"VerifiableCredential": "https://evil/#X"}]
    with pytest.raises(MalformedError) as info:
        canonicalize(document)
    assert "protected term redefinition" in info.value.description
