"""VC Data Model 2.0 structural rules (VCDM §4.3-§4.13), with the W3C suite's inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from did_agents.credentials.model import (
    Credential,
    is_url,
    parse_date_time_stamp,
    validate_credential,
    validate_presentation,
)
from did_agents.errors import DIDAgentsError, MalformedError
from did_agents.jsonld import expand

VECTORS = Path(__file__).parent.parent / "vectors" / "vcdm2"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text("utf-8"))["cases"]
ISSUER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def _load(case: dict[str, Any]) -> dict[str, Any]:
    """The input as the suite's issuer endpoint sees it (SOURCE.md: issuer filled in)."""
    doc: dict[str, Any] = json.loads((VECTORS / case["file"]).read_text("utf-8"))
    if case["kind"] == "credential":
        if "issuer" not in doc:
            doc["issuer"] = ISSUER
        elif isinstance(doc["issuer"], dict) and "id" not in doc["issuer"]:
            doc["issuer"]["id"] = ISSUER
        if doc.get("validFrom") == "FUTURE DATE":
            doc["validFrom"] = "2027-12-01T00:00:00Z"
            doc["validUntil"] = "2025-12-01T00:00:00Z"
    return doc


def _validate(case: dict[str, Any], doc: dict[str, Any]) -> None:
    if case["kind"] == "credential":
        validate_credential(doc)
    else:
        validate_presentation(doc)


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["file"].removeprefix("input/") for c in cases]


MODEL_FAILS = [c for c in MANIFEST if c["expect"] == "fail" and c["stage"] == "model"]
JSONLD_FAILS = [c for c in MANIFEST if c["expect"] == "fail" and c["stage"] == "jsonld"]
OKS = [c for c in MANIFEST if c["expect"] == "ok"]


@pytest.mark.parametrize("case", MODEL_FAILS, ids=_ids(MODEL_FAILS))
def test_w3c_suite_fail_inputs_are_refused_with_their_reason(case: dict[str, Any]) -> None:
    with pytest.raises(MalformedError) as info:
        _validate(case, _load(case))
    assert info.value.reason == case["reason"]


@pytest.mark.parametrize("case", JSONLD_FAILS, ids=_ids(JSONLD_FAILS))
def test_w3c_suite_fail_inputs_pass_the_shape_but_fail_json_ld_safe_mode(case: dict[str, Any]) -> None:
    doc = _load(case)
    _validate(case, doc)
    with pytest.raises(DIDAgentsError) as info:
        expand(doc)
    assert info.value.reason == case["reason"]


@pytest.mark.parametrize("case", OKS, ids=_ids(OKS))
def test_w3c_suite_ok_inputs_are_accepted(case: dict[str, Any]) -> None:
    doc = _load(case)
    _validate(case, doc)
    if case["kind"] == "credential":
        expand(doc)


def _credential() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:6a2f3e2c-5a0e-4c0b-9f1e-2b9c6e0d7a11",
        "type": ["VerifiableCredential"],
        "issuer": ISSUER,
        "validFrom": "2026-12-01T09:00:00Z",
        "validUntil": "2026-12-01T17:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "x"},
    }


def _refused(doc: object, reason: str) -> None:
    with pytest.raises(MalformedError) as info:
        validate_credential(doc)
    assert info.value.reason == reason


def test_parsed_view_exposes_issuer_subjects_and_validity() -> None:
    parsed = validate_credential(_credential())
    assert isinstance(parsed, Credential)
    assert parsed.issuer == ISSUER
    assert parsed.subject_ids == ("did:example:subject",)
    assert parsed.valid_from is not None and parsed.valid_until is not None
    assert parsed.valid_from.isoformat() == "2026-12-01T09:00:00+00:00"


def test_issuer_object_gives_its_id() -> None:
    doc = _credential()
    doc["issuer"] = {"id": ISSUER, "name": "Urban Bites"}
    assert validate_credential(doc).issuer == ISSUER


def test_credential_must_be_an_object() -> None:
    _refused(["not", "an", "object"], "malformed")


def test_context_must_be_an_array_not_a_string() -> None:
    doc = _credential()
    doc["@context"] = "https://www.w3.org/ns/credentials/v2"
    _refused(doc, "invalid_context")


def test_context_v1_first_is_not_a_v2_credential() -> None:
    doc = _credential()
    doc["@context"] = ["https://www.w3.org/2018/credentials/v1"]
    _refused(doc, "invalid_context")


def test_type_as_single_string_is_accepted() -> None:
    doc = _credential()
    doc["type"] = "VerifiableCredential"
    assert validate_credential(doc).types == ("VerifiableCredential",)


def test_type_with_whitespace_is_neither_term_nor_url() -> None:
    doc = _credential()
    doc["type"] = ["VerifiableCredential", "Admin Delegation"]
    _refused(doc, "invalid_type")


def test_empty_credential_subject_array_is_refused() -> None:
    doc = _credential()
    doc["credentialSubject"] = []
    _refused(doc, "malformed")


def test_credential_subject_must_hold_objects() -> None:
    doc = _credential()
    doc["credentialSubject"] = "did:example:subject"
    _refused(doc, "malformed")


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-01T00:00:00",  # no time zone (SEC-34)
        "2025-02-30T00:00:00Z",  # no such day (SEC-34)
        "2025-01-01",  # a date, not a dateTime
        "2025-01-01 00:00:00Z",  # space instead of T
        "20250101T000000Z",  # ISO 8601 basic format, not XSD
        "2025-01-01T24:00:01Z",
        "2025-13-01T00:00:00Z",
        "2025-01-01T00:00:00+15:00",
        1735689600,
    ],
)
def test_valid_from_must_be_a_date_time_stamp(value: object) -> None:
    doc = _credential()
    doc["validFrom"] = value
    _refused(doc, "invalid_date")


@pytest.mark.parametrize(
    "value", ["2025-01-01T00:00:00Z", "2025-01-01T00:00:00.123456Z", "2025-01-01T01:00:00+01:00"]
)
def test_date_time_stamp_forms_accepted(value: str) -> None:
    assert parse_date_time_stamp(value, "validFrom").year == 2025


def test_valid_from_equal_to_valid_until_is_allowed() -> None:
    # VCDM §4.9: "temporally the same or earlier".
    doc = _credential()
    doc["validUntil"] = doc["validFrom"]
    validate_credential(doc)


def test_valid_from_after_valid_until_is_refused() -> None:
    doc = _credential()
    doc["validFrom"], doc["validUntil"] = doc["validUntil"], doc["validFrom"]
    _refused(doc, "invalid_validity")


def test_validity_compares_instants_across_time_zones() -> None:
    doc = _credential()
    doc["validFrom"] = "2026-12-01T10:00:00+02:00"  # 08:00Z
    doc["validUntil"] = "2026-12-01T09:00:00Z"
    validate_credential(doc)


def test_credential_schema_needs_an_id() -> None:
    doc = _credential()
    doc["credentialSchema"] = {"type": "JsonSchema"}
    _refused(doc, "missing_property")


def test_language_value_direction_must_be_ltr_or_rtl() -> None:
    doc = _credential()
    doc["name"] = {"@value": "x", "@direction": "up"}
    _refused(doc, "malformed")


def test_proof_objects_need_a_type() -> None:
    doc = _credential()
    doc["proof"] = {"proofValue": "z123"}
    _refused(doc, "missing_property")


def test_extra_properties_are_allowed_open_world() -> None:
    doc = _credential()
    doc["x-anything"] = {"nested": [1, 2, 3]}
    validate_credential(doc)


def test_validation_does_not_modify_the_input() -> None:
    doc = _credential()
    before = copy.deepcopy(doc)
    validate_credential(doc)
    assert doc == before


def _presentation() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": ISSUER,
        "verifiableCredential": [_credential()],
    }


def test_presentation_parsed_view() -> None:
    parsed = validate_presentation(_presentation())
    assert parsed.holder == ISSUER
    assert len(parsed.credentials) == 1


def test_presentation_credentials_must_not_be_strings() -> None:
    # VCDM §4.13: "the values MUST NOT be non-object values such as numbers, strings, or URLs".
    vp = _presentation()
    vp["verifiableCredential"] = ["eyJhbGciOiJFZERTQSJ9.e30.sig"]
    with pytest.raises(MalformedError) as info:
        validate_presentation(vp)
    assert info.value.reason == "malformed"


def test_presentation_embedded_credentials_are_validated() -> None:
    vp = _presentation()
    del vp["verifiableCredential"][0]["issuer"]
    with pytest.raises(MalformedError) as info:
        validate_presentation(vp)
    assert info.value.reason == "missing_property"


def test_enveloped_credential_needs_a_data_url_id() -> None:
    # VCDM §4.13.1: an EnvelopedVerifiableCredential's id is a data: URL.
    vp = _presentation()
    vp["verifiableCredential"] = [
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": "EnvelopedVerifiableCredential",
            "id": "https://example.com/vc.jwt",
        }
    ]
    with pytest.raises(MalformedError) as info:
        validate_presentation(vp)
    assert info.value.reason == "invalid_id"
    vp["verifiableCredential"][0]["id"] = "data:application/vc+jwt,eyJhbGciOiJFZERTQSJ9.e30.c2ln"
    validate_presentation(vp)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com/a", True),
        ("did:key:z6Mk", True),
        ("urn:uuid:1234", True),
        ("https ://not-a-url", False),
        ("fake-issuer", False),
        ("https://exa mple.com", False),
        ("", False),
        (None, False),
        (["https://example.com"], False),
    ],
)
def test_is_url(value: object, expected: bool) -> None:
    assert is_url(value) is expected
