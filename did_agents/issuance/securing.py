"""Securing an unsecured credential in one of the issuer's formats.

- ``eddsa-rdfc-2022`` (default) and ``eddsa-jcs-2022``: an embedded
  ``DataIntegrityProof`` (VC Data Integrity §4.2 "Add Proof"; VC-DI-EDDSA §3.2, §3.3);
- ``jose``: an enveloping JWS, ``typ: vc+jwt``, payload = the
  credential (VC-JOSE-COSE §3.1.1). The W3C VC API answers it as an
  ``EnvelopedVerifiableCredential`` whose ``id`` is a ``data:`` URL
  (VCDM 2.0 §4.13).

Signing failures caused by the credential itself (an undefined term or an
unknown context found while canonicalizing, VC Data Integrity §4.1 "Validating
Contexts") surface as ``MalformedError`` (``undefined_term`` /
``unknown_context`` / ``invalid_credential``); only genuine faults are 500s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from did_agents.clock import Clock
from did_agents.errors import DIDAgentsError, MalformedError
from did_agents.issuance.organization import OrganizationIdentity
from did_agents.keys import KeyType
from did_agents.proofs.data_integrity import add_proof
from did_agents.proofs.jose import sign_vc_jwt
from did_agents.storage.credentials import CredentialFormat

__all__ = [
    "FORMATS",
    "FORMATS_FOR_KEY",
    "SecuredCredential",
    "SecuringFormat",
    "choose_format",
    "enveloped",
    "rdfc_suite",
    "secure_credential",
    "stored_document",
]

SecuringFormat = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019", "jose"]
FORMATS: Final[tuple[str, ...]] = ("eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019", "jose")
#: The formats each organization key type can make (VC-DI-EDDSA needs Ed25519, VC-DI-ECDSA
#: P-256; VC-JOSE-COSE signs with either, EdDSA or ES256).
FORMATS_FOR_KEY: Final[dict[KeyType, tuple[str, ...]]] = {
    KeyType.ED25519: ("eddsa-rdfc-2022", "eddsa-jcs-2022", "jose"),
    KeyType.P256: ("ecdsa-rdfc-2019", "jose"),
}


def rdfc_suite(key_type: KeyType) -> str:
    """The RDF-canonicalizing Data Integrity cryptosuite for an organization key: what status
    lists are signed with, and the default format (``eddsa-rdfc-2022`` for Ed25519,
    ``ecdsa-rdfc-2019`` for P-256)."""
    return "eddsa-rdfc-2022" if key_type is KeyType.ED25519 else "ecdsa-rdfc-2019"


_CREDENTIALS_V2: Final = "https://www.w3.org/ns/credentials/v2"


@dataclass(frozen=True)
class SecuredCredential:
    """A secured credential: ``body`` is stored and served exactly as issued."""

    format: CredentialFormat
    body: str
    #: The JSON-LD form: the credential with its proof, or the enveloped credential (JOSE).
    document: dict[str, Any]


def enveloped(token: str) -> dict[str, Any]:
    """VCDM 2.0 §4.13: an ``EnvelopedVerifiableCredential`` carrying a ``vc+jwt``."""
    return {
        "@context": [_CREDENTIALS_V2],
        "id": "data:application/vc+jwt," + token,
        "type": "EnvelopedVerifiableCredential",
    }


def choose_format(requested: str | None, default: str) -> str:
    """The securing format a request asked for, else the issuer's ``default``; one of :data:`FORMATS`."""
    chosen = requested or default
    if chosen not in FORMATS:
        raise MalformedError(f"format must be one of {', '.join(FORMATS)}", reason="unsupported_format")
    return chosen


def stored_document(format: CredentialFormat, body: str) -> Any:
    """The JSON-LD form of a stored credential: its JSON, or the enveloped ``vc+jwt``."""
    if format == "application/vc+jwt":
        return enveloped(body)
    return json.loads(body)


def secure_credential(
    credential: Mapping[str, Any],
    organization: OrganizationIdentity,
    securing: str,
    *,
    clock: Clock,
    verification_method: str | None = None,
) -> SecuredCredential:
    """Sign ``credential`` with the organization's active key in the ``securing`` format.

    ``verification_method`` names that key in the proof (``kid`` for ``jose``);
    by default the organization's did:web key id. The VC API's did:key mode passes
    ``did:key:z…#z…`` (the same key under its did:key, :mod:`did_agents.issuance.vc_api`).
    """
    kid = verification_method or organization.signing_kid
    if securing not in FORMATS:
        raise MalformedError(
            f"unknown securing format {securing[:40]!r} (use one of {', '.join(FORMATS)})",
            reason="unsupported_format",
        )
    if securing == "jose":
        # VC-JOSE-COSE §3.1.1: typ vc+jwt, cty vc; kid names the verification method.
        try:
            token = sign_vc_jwt(credential, organization.signing_key, kid=kid)
        except ValueError as exc:
            raise MalformedError(f"credential cannot be secured: {exc}", reason="invalid_credential") from exc
        return SecuredCredential(format="application/vc+jwt", body=token, document=enveloped(token))
    try:
        signed = add_proof(
            credential,
            key=organization.signing_key,
            verification_method=kid,
            cryptosuite=securing,
            proof_purpose="assertionMethod",
            clock=clock,
        )
    except DIDAgentsError as exc:
        # Canonicalization refused the document (undefined term, unknown context, ...).
        reason = exc.reason if exc.reason in ("undefined_term", "unknown_context") else "invalid_credential"
        raise MalformedError(f"credential cannot be secured: {exc.description}", reason=reason) from exc
    except ValueError as exc:
        raise MalformedError(f"credential cannot be secured: {exc}", reason="invalid_credential") from exc
    return SecuredCredential(
        format="application/vc",
        body=json.dumps(signed, separators=(",", ":"), ensure_ascii=False),
        document=signed,
    )
