"""VC Data Model 2.0: structural validation of credentials and presentations.

W3C Recommendation "Verifiable Credentials Data Model v2.0" (15 May 2025),
https://www.w3.org/TR/vc-data-model-2.0/ — "VCDM §4.3" etc. below refer to it.

What is checked here is the JSON shape the data model prescribes (the rules the
W3C conformance suite ``w3c/vc-data-model-2.0-test-suite`` exercises):
``@context`` order, ``type``, identifiers, ``issuer``, ``credentialSubject``,
the validity period, the typed objects (``credentialStatus``, ``termsOfUse``,
``evidence``, ``refreshService``, ``credentialSchema``), names and
descriptions, and the presentation members. Credentials stay open-world:
extra properties are allowed here; whether every term is *defined* is the
JSON-LD processor's job in safe mode (``did_agents.jsonld``), and which context
URLs are acceptable is the static loader's (``unknown_context``).

Every refusal is a ``MalformedError`` with one of these reasons:

* ``malformed`` — not an object, or a member has the wrong JSON type/shape;
* ``missing_property`` — a required member is absent (or ``null``);
* ``invalid_context`` — ``@context`` is not an array starting with the v2 URL;
* ``invalid_type`` — ``type`` lacks ``VerifiableCredential`` /
  ``VerifiablePresentation`` or holds something that is not a term or URL;
* ``invalid_id`` — an identifier that must be a single URL is not;
* ``invalid_date`` — ``validFrom``/``validUntil`` is not an XSD dateTimeStamp;
* ``invalid_validity`` — ``validFrom`` is later than ``validUntil``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from did_agents.clock import parse_datetime
from did_agents.errors import MalformedError

__all__ = [
    "CREDENTIALS_V1_CONTEXT",
    "CREDENTIALS_V2_CONTEXT",
    "DID_AGENTS_CONTEXT",
    "ENVELOPED_CREDENTIAL_TYPE",
    "ENVELOPED_PRESENTATION_TYPE",
    "REASONS",
    "Credential",
    "Presentation",
    "as_list",
    "has_type",
    "is_url",
    "parse_date_time_stamp",
    "validate_credential",
    "validate_presentation",
]

CREDENTIALS_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1_CONTEXT: Final = "https://www.w3.org/2018/credentials/v1"
DID_AGENTS_CONTEXT: Final = "https://w3id.org/did-agents/v1"
ENVELOPED_CREDENTIAL_TYPE: Final = "EnvelopedVerifiableCredential"
ENVELOPED_PRESENTATION_TYPE: Final = "EnvelopedVerifiablePresentation"

REASONS: Final[frozenset[str]] = frozenset(
    {
        "malformed",
        "missing_property",
        "invalid_context",
        "invalid_type",
        "invalid_id",
        "invalid_date",
        "invalid_validity",
    }
)

# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":" and
# at least one character; no whitespace or controls anywhere (a URL, VCDM §4.4).
_URL: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]+$")
# A JSON-LD term (VCDM §4.5: "one or more terms and/or absolute URL strings"):
# anything without whitespace or a colon. Whether it is *defined* is JSON-LD's job.
_TERM: Final = re.compile(r"^[^\s:\x00-\x1f\x7f]+$")
# XML Schema 1.1 Part 2 §3.4.28 dateTimeStamp: dateTime with a mandatory time zone.
_DATE_TIME_STAMP: Final = re.compile(
    r"^-?(?:[1-9][0-9]{3,}|0[0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))$"
)
# BCP 47 language tag, loosely (VCDM §11.1: "@language" is a well-formed BCP47 tag).
_LANGUAGE: Final = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def _bad(message: str, reason: str = "malformed") -> MalformedError:
    return MalformedError(message, reason=reason)


def is_url(value: object) -> bool:
    """True for a string that is an absolute URL (any scheme: https, did, urn, data…)."""
    return isinstance(value, str) and len(value) <= 8192 and _URL.match(value) is not None


def as_list(value: object) -> list[Any]:
    """JSON-LD's "one or many": ``None`` → ``[]``, a list → itself, anything else → ``[value]``."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def has_type(document: Mapping[str, Any], wanted: str) -> bool:
    """True if ``document["type"]`` is ``wanted`` or a list containing it."""
    value = document.get("type")
    if isinstance(value, str):
        return value == wanted
    return isinstance(value, list) and wanted in value


def parse_date_time_stamp(value: object, member: str) -> datetime:
    """Parse an XSD ``dateTimeStamp`` (VCDM §4.9), refusing anything else with ``invalid_date``."""
    if not isinstance(value, str) or not _DATE_TIME_STAMP.match(value):
        raise _bad(
            f"{member} must be an XML Schema dateTimeStamp (e.g. 2026-12-01T09:00:00Z)", "invalid_date"
        )
    try:
        return parse_datetime(value)
    except (ValueError, OverflowError) as exc:
        # e.g. 2025-02-30, or a year Python cannot represent.
        raise _bad(f"{member} is not a valid date-time: {value[:40]!r}", "invalid_date") from exc


# --------------------------------------------------------------------------------------
# Parsed views


@dataclass(frozen=True, slots=True)
class Credential:
    """A credential that passed :func:`validate_credential`; ``data`` is the JSON itself."""

    data: Mapping[str, Any] = field(repr=False)
    id: str | None
    types: tuple[str, ...]
    issuer: str
    subjects: tuple[Mapping[str, Any], ...] = field(repr=False)
    valid_from: datetime | None
    valid_until: datetime | None
    statuses: tuple[Mapping[str, Any], ...] = field(repr=False)

    @property
    def subject_ids(self) -> tuple[str, ...]:
        """The ``id`` of every credential subject that has one."""
        return tuple(s["id"] for s in self.subjects if isinstance(s.get("id"), str))


@dataclass(frozen=True, slots=True)
class Presentation:
    """A presentation that passed :func:`validate_presentation`."""

    data: Mapping[str, Any] = field(repr=False)
    id: str | None
    types: tuple[str, ...]
    holder: str | None
    #: each entry is an embedded credential or an ``EnvelopedVerifiableCredential`` object
    credentials: tuple[Mapping[str, Any], ...] = field(repr=False)


# --------------------------------------------------------------------------------------
# Shared member rules


def _check_object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{what} must be a JSON object")
    return value


def _check_context(document: Mapping[str, Any]) -> None:
    # VCDM §4.3: "@context" MUST be present, an ordered set whose first item is the
    # v2 URL; "Subsequent items ... MUST be composed of any combination of URLs
    # and/or objects where each is processable as a JSON-LD Context."
    if "@context" not in document or document["@context"] is None:
        raise _bad("@context is required", "missing_property")
    context = document["@context"]
    if not isinstance(context, list) or not context:
        raise _bad("@context must be a non-empty array", "invalid_context")
    if context[0] != CREDENTIALS_V2_CONTEXT:
        raise _bad(f"the first @context item must be {CREDENTIALS_V2_CONTEXT}", "invalid_context")
    for item in context[1:]:
        if isinstance(item, str):
            if not is_url(item):
                raise _bad(f"@context item {item[:80]!r} is not a URL", "invalid_context")
        elif not isinstance(item, dict):
            raise _bad("@context items must be URLs or objects", "invalid_context")


def _check_types(document: Mapping[str, Any], required: str, what: str) -> tuple[str, ...]:
    # VCDM §4.5: "type" MUST be present; "one or more terms and/or absolute URL strings".
    if "type" not in document or document["type"] is None:
        raise _bad(f"{what} needs a type", "missing_property")
    types = _type_values(document["type"], what)
    if required not in types:
        raise _bad(f"{what} type must include {required}", "invalid_type")
    return types


def _type_values(value: object, what: str) -> tuple[str, ...]:
    values = as_list(value)
    if not values:
        raise _bad(f"{what} type must not be empty", "invalid_type")
    for item in values:
        if not isinstance(item, str) or not (_TERM.match(item) or is_url(item)):
            raise _bad(f"{what} type values must be terms or URLs", "invalid_type")
    return tuple(values)


def _check_id(value: object, what: str) -> str:
    # VCDM §4.4: "If present, the value of the id property MUST be a single URL".
    if not is_url(value):
        raise _bad(f"{what} id must be a single URL", "invalid_id")
    assert isinstance(value, str)
    return value


def _optional_id(obj: Mapping[str, Any], what: str) -> str | None:
    if "id" not in obj:
        return None
    return _check_id(obj["id"], what)


def _check_language_value(value: object, member: str) -> None:
    # VCDM §4.6 / §11.1: a string, or a language value object with @value and
    # optional @language / @direction and nothing else; or an array of those.
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            continue
        if not isinstance(item, dict) or not isinstance(item.get("@value"), str):
            raise _bad(f"{member} must be a string or a language value object")
        extra = set(item) - {"@value", "@language", "@direction"}
        if extra:
            raise _bad(f"{member} language value object has extra members {sorted(extra)}")
        language = item.get("@language")
        if language is not None and (not isinstance(language, str) or not _LANGUAGE.match(language)):
            raise _bad(f"{member} @language must be a BCP47 language tag")
        direction = item.get("@direction")
        if direction is not None and direction not in ("ltr", "rtl"):
            raise _bad(f"{member} @direction must be 'ltr' or 'rtl'")
    if isinstance(value, list) and not value:
        raise _bad(f"{member} must not be an empty array")


def _check_names(obj: Mapping[str, Any], what: str) -> None:
    for member in ("name", "description"):
        if member in obj:
            _check_language_value(obj[member], f"{what} {member}")


def _typed_objects(
    document: Mapping[str, Any], member: str, *, id_required: bool = False
) -> tuple[Mapping[str, Any], ...]:
    # VCDM §4.5 table "objects that MUST have a type specified": credentialStatus,
    # termsOfUse, evidence, refreshService, credentialSchema (and proof, which the
    # securing mechanism checks). §4.10/§4.11/§5.x: if present, id is a single URL.
    if member not in document:
        return ()
    values = as_list(document[member])
    if not values:
        raise _bad(f"{member} must not be empty")
    out = []
    for value in values:
        obj = _check_object(value, member)
        if "type" not in obj or obj["type"] is None:
            raise _bad(f"every {member} object needs a type", "missing_property")
        _type_values(obj["type"], member)
        if id_required and "id" not in obj:
            raise _bad(f"every {member} object needs an id", "missing_property")
        _optional_id(obj, member)
        out.append(obj)
    return tuple(out)


def _check_validity_period(document: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    # VCDM §4.9: validFrom / validUntil are dateTimeStamps; "If a validUntil value
    # also exists, the validFrom value MUST express a datetime that is temporally
    # the same or earlier than the datetime expressed by the validUntil value."
    valid_from = (
        parse_date_time_stamp(document["validFrom"], "validFrom") if "validFrom" in document else None
    )
    valid_until = (
        parse_date_time_stamp(document["validUntil"], "validUntil") if "validUntil" in document else None
    )
    if valid_from is not None and valid_until is not None and valid_from > valid_until:
        raise _bad("validFrom is later than validUntil", "invalid_validity")
    return valid_from, valid_until


def _check_issuer(document: Mapping[str, Any]) -> str:
    # VCDM §4.7: "A verifiable credential MUST have an issuer property"; "either a
    # URL or an object containing an id property whose value is a URL".
    if "issuer" not in document or document["issuer"] is None:
        raise _bad("issuer is required", "missing_property")
    issuer = document["issuer"]
    if isinstance(issuer, dict):
        if "id" not in issuer or issuer["id"] is None:
            raise _bad("an issuer object needs an id", "missing_property")
        _check_names(issuer, "issuer")
        return _check_id(issuer["id"], "issuer")
    return _check_id(issuer, "issuer")


def _check_subjects(document: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    # VCDM §4.8: credentialSubject MUST be present; "a set of objects where each
    # object MUST be the subject of one or more claims".
    if "credentialSubject" not in document or document["credentialSubject"] is None:
        raise _bad("credentialSubject is required", "missing_property")
    subjects = as_list(document["credentialSubject"])
    if not subjects:
        raise _bad("credentialSubject must not be an empty array")
    for subject in subjects:
        obj = _check_object(subject, "credentialSubject")
        if not obj:
            raise _bad("each credentialSubject must make at least one claim")
        _optional_id(obj, "credentialSubject")
    return tuple(subjects)


# --------------------------------------------------------------------------------------
# Credentials and presentations


def validate_credential(document: object) -> Credential:
    """Validate a VCDM 2.0 credential (with or without ``proof``) and return its parsed view.

    Raises ``MalformedError`` (reasons in :data:`REASONS`) for the first rule broken.
    """
    doc = _check_object(document, "a credential")
    _check_context(doc)
    types = _check_types(doc, "VerifiableCredential", "a credential")
    credential_id = _optional_id(doc, "credential")
    issuer = _check_issuer(doc)
    subjects = _check_subjects(doc)
    valid_from, valid_until = _check_validity_period(doc)
    _check_names(doc, "credential")
    statuses = _typed_objects(doc, "credentialStatus")
    _typed_objects(doc, "termsOfUse")
    _typed_objects(doc, "evidence")
    _typed_objects(doc, "refreshService")
    # VCDM §4.11: each credentialSchema "MUST specify its type ... and an id".
    _typed_objects(doc, "credentialSchema", id_required=True)
    _check_proof_shape(doc)
    return Credential(
        data=doc,
        id=credential_id,
        types=types,
        issuer=issuer,
        subjects=subjects,
        valid_from=valid_from,
        valid_until=valid_until,
        statuses=statuses,
    )


def _check_proof_shape(doc: Mapping[str, Any]) -> None:
    # VC-DATA-INTEGRITY §2.1: proof is a map or a set of maps, each with a type.
    if "proof" not in doc:
        return
    proofs = as_list(doc["proof"])
    if not proofs:
        raise _bad("proof must not be empty")
    for proof in proofs:
        obj = _check_object(proof, "proof")
        if not isinstance(obj.get("type"), str):
            raise _bad("every proof needs a type", "missing_property")


def _check_enveloped(entry: Mapping[str, Any], wanted: str) -> None:
    # VCDM §4.13.1 (Enveloped Verifiable Credentials): @context, id a data: URL, type.
    _check_context(entry)
    value = entry.get("id")
    if not isinstance(value, str) or not value.startswith("data:"):
        raise _bad(f"an {wanted} id must be a data: URL", "invalid_id")


def validate_presentation(document: object, *, validate_credentials: bool = True) -> Presentation:
    """Validate a VCDM 2.0 presentation (VCDM §4.13) and return its parsed view.

    With ``validate_credentials`` every embedded credential is validated too
    (enveloped ones only for their envelope; their content is checked once
    unwrapped).
    """
    doc = _check_object(document, "a presentation")
    _check_context(doc)
    types = _check_types(doc, "VerifiablePresentation", "a presentation")
    presentation_id = _optional_id(doc, "presentation")
    holder: str | None = None
    if "holder" in doc:
        # VCDM §4.13: "If present, the value MUST be either a URL or an object
        # containing an id property."
        value = doc["holder"]
        if isinstance(value, dict):
            if "id" not in value or value["id"] is None:
                raise _bad("a holder object needs an id", "missing_property")
            holder = _check_id(value["id"], "holder")
        else:
            holder = _check_id(value, "holder")
    entries: list[Mapping[str, Any]] = []
    if "verifiableCredential" in doc:
        # VCDM §4.13: "one or more verifiable credential and/or enveloped verifiable
        # credential objects (the values MUST NOT be non-object values such as
        # numbers, strings, or URLs)".
        for entry in as_list(doc["verifiableCredential"]):
            obj = _check_object(entry, "each verifiableCredential entry")
            if has_type(obj, ENVELOPED_CREDENTIAL_TYPE):
                _check_enveloped(obj, ENVELOPED_CREDENTIAL_TYPE)
            elif validate_credentials:
                validate_credential(obj)
            entries.append(obj)
    _check_names(doc, "presentation")
    _check_proof_shape(doc)
    return Presentation(data=doc, id=presentation_id, types=types, holder=holder, credentials=tuple(entries))
