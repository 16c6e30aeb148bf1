"""The ``eddsa-rdfc-2022`` cryptosuite (W3C Data Integrity EdDSA Cryptosuites v1.0 §3.2).

The document and the proof configuration (the proof options with the
document's ``@context``) are turned into RDF, canonicalized with RDFC-1.0 and
serialized as canonical N-Quads (``did_agents.jsonld.canonicalize``, safe mode:
undefined terms -> ``undefined_term``, unbundled contexts -> ``unknown_context``),
each hashed with SHA-256, and ``H(proof configuration) || H(document)`` is
signed with Ed25519 (RFC 8032, pure EdDSA).

The proof itself carries no ``@context`` (§3.2.1). If a proof does carry one,
§3.2.5 step 4 replaces it by the document's for hashing; we additionally
require it to equal the document's, so that what a reader of the proof sees is
what was signed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from did_agents.errors import VerificationError
from did_agents.jsonld import canonicalize
from did_agents.keys import KeyType, PrivateKey, PublicKey

__all__ = [
    "EddsaRdfc2022",
    "RdfcSha256Suite",
    "check_proof_context",
    "rdfc_proof_configuration",
    "rdfc_transform",
]

_PROOF_TYPE: Final = "DataIntegrityProof"


def check_proof_context(unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]) -> None:
    """A proof ``@context``, if present, must equal the document's (module docstring)."""
    if "@context" not in proof_options:
        return
    proof_context, document_context = proof_options["@context"], unsecured.get("@context")
    # A single context and a one-element list are the same @context (JSON-LD 1.1 §3.1).
    if not isinstance(proof_context, list):
        proof_context = [proof_context]
    if not isinstance(document_context, list):
        document_context = [document_context]
    if proof_context != document_context:
        raise VerificationError("the proof's @context is not the document's @context", reason="malformed")


def _check_options(options: Mapping[str, Any], suite: str) -> None:
    if options.get("type") != _PROOF_TYPE or options.get("cryptosuite") != suite:
        raise VerificationError(f"proof options are not {_PROOF_TYPE}/{suite}", reason="malformed")


def rdfc_transform(unsecured: Mapping[str, Any], options: Mapping[str, Any], suite: str) -> bytes:
    """VC-DI-EDDSA §3.2.3 / VC-DI-ECDSA §3.2.3 "Transformation": canonical N-Quads, UTF-8."""
    # Step 1: the options name this suite.
    _check_options(options, suite)
    # Step 2: JSON-LD to RDF, RDFC-1.0, serialized canonical form.
    return canonicalize(unsecured).encode("utf-8")


def rdfc_proof_configuration(unsecured: Mapping[str, Any], options: Mapping[str, Any], suite: str) -> bytes:
    """VC-DI-EDDSA §3.2.5 / VC-DI-ECDSA §3.2.5 "Proof Configuration": canonical N-Quads, UTF-8."""
    # Step 1: clone the options. Step 2: they name this suite.
    _check_options(options, suite)
    proof_config = {name: value for name, value in options.items() if name != "@context"}
    # Step 3 (a valid ``created``) is enforced by data_integrity before any suite runs.
    # Step 4: proofConfig.@context = unsecuredDocument.@context.
    if "@context" in unsecured:
        proof_config["@context"] = unsecured["@context"]
    # Step 5: RDFC-1.0 of the proof configuration.
    return canonicalize(proof_config).encode("utf-8")


class RdfcSha256Suite:
    """The RDFC-1.0 + SHA-256 cryptosuite steps shared by ``eddsa-rdfc-2022`` and
    ``ecdsa-rdfc-2019`` (P-256): VC-DI-EDDSA §3.2 and VC-DI-ECDSA §3.2 define the same
    transformation, proof configuration and hashing; only the signature algorithm
    (and so the key type) differs."""

    name: str
    key_type: KeyType

    def proof_options(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        """§3.2.1 step 1: the proof is a clone of the options (no ``@context``)."""
        return dict(options)

    def verification_document(
        self, unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """§3.2.2 has no ``@context`` step; see :func:`check_proof_context`."""
        check_proof_context(unsecured, proof_options)
        return unsecured

    def transform(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        """§3.2.3 "Transformation": expanded form -> RDF -> RDFC-1.0 canonical N-Quads."""
        return rdfc_transform(unsecured, options, self.name)

    def proof_configuration(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        """§3.2.5 "Proof Configuration"."""
        return rdfc_proof_configuration(unsecured, options, self.name)

    def hash(self, transformed: bytes, proof_configuration: bytes) -> bytes:
        """§3.2.4 "Hashing": SHA-256(proof configuration) || SHA-256(document), 64 bytes."""
        return hashlib.sha256(proof_configuration).digest() + hashlib.sha256(transformed).digest()

    def serialize(self, hash_data: bytes, key: PrivateKey) -> bytes:
        """§3.2.6 "Proof Serialization": a 64-byte signature of ``hash_data`` (Ed25519, or ECDSA
        P-256/SHA-256 as IEEE P1363 ``r || s``)."""
        if key.key_type is not self.key_type:
            raise ValueError(f"{self.name} signs with {self.key_type.value} keys only")
        return key.sign(hash_data)

    def verify(self, hash_data: bytes, proof_bytes: bytes, public_key: PublicKey) -> None:
        """§3.2.7 "Proof Verification"; raises ``SignatureError``."""
        if public_key.key_type is not self.key_type:
            raise VerificationError(
                f"{self.name} verifies with {self.key_type.value} keys only", reason="wrong_key_type"
            )
        public_key.verify(proof_bytes, hash_data)


class EddsaRdfc2022(RdfcSha256Suite):
    """VC-DI-EDDSA §3.2 ``eddsa-rdfc-2022`` (Ed25519 keys)."""

    name = "eddsa-rdfc-2022"
    key_type = KeyType.ED25519
