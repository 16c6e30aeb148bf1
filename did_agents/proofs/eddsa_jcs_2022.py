"""The ``eddsa-jcs-2022`` cryptosuite (W3C Data Integrity EdDSA Cryptosuites v1.0 §3.3).

The document and the proof configuration are canonicalized with the JSON
Canonicalization Scheme (RFC 8785), each hashed with SHA-256, and the
concatenation ``H(proof configuration) || H(document)`` is signed with Ed25519
(RFC 8032, pure EdDSA). The proof carries the document's ``@context``
(§3.3.1 step 2), so the proof configuration covers it.

No JSON-LD processing happens here (that is the point of this suite: it is
the fast path). Two cheap context checks fail closed instead:

* every context URL in ``@context`` must be one the project bundles
  (DESIGN §4, VC-DATA-INTEGRITY §2.4.1 "Validating Contexts") -> ``unknown_context``;
* the proof's ``@context`` must be the document's whole ``@context``. §3.3.2
  step 4.1 accepts a document ``@context`` that merely *starts with* the proof's
  (a later proof of a proof set may have appended contexts); with a single
  proof, appended contexts would be unsigned (VC-DATA-INTEGRITY §2.4.2
  "Context Injection"), so they are refused -> ``malformed``.

Undefined terms are not looked for here; the credential layer validates what
the document means.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from did_agents.errors import VerificationError
from did_agents.jcs import canonicalize
from did_agents.jsonld import KNOWN_CONTEXTS
from did_agents.keys import KeyType, PrivateKey, PublicKey

__all__ = ["EddsaJcs2022"]

_PROOF_TYPE: Final = "DataIntegrityProof"


def _context_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_contexts(document: Mapping[str, Any]) -> None:
    context = document.get("@context")
    if context is None:
        return  # plain JSON: allowed (VC-DATA-INTEGRITY §2.1, Example 2)
    for entry in _context_list(context):
        if isinstance(entry, str):
            if entry not in KNOWN_CONTEXTS:
                raise VerificationError(
                    f"context {entry[:120]!r} is not a known context", reason="unknown_context"
                )
        elif not isinstance(entry, dict):
            raise VerificationError("@context entries must be URLs or objects", reason="malformed")


class EddsaJcs2022:
    """VC-DI-EDDSA §3.3 ``eddsa-jcs-2022`` (Ed25519 keys)."""

    name: Final = "eddsa-jcs-2022"
    key_type: Final = KeyType.ED25519

    def _check_options(self, options: Mapping[str, Any]) -> None:
        # §3.3.3 step 1 / §3.3.5 step 2: the options name this suite.
        if options.get("type") != _PROOF_TYPE or options.get("cryptosuite") != self.name:
            raise VerificationError(f"proof options are not {_PROOF_TYPE}/{self.name}", reason="malformed")

    def proof_options(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        """§3.3.1 steps 1-2: clone the options; copy the document's ``@context`` into the proof."""
        proof = dict(options)
        if "@context" in unsecured:
            proof["@context"] = unsecured["@context"]
        return proof

    def verification_document(
        self, unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """§3.3.2 step 4: check the proof's ``@context`` against the document's (see module docstring)."""
        if "@context" not in proof_options:
            return unsecured
        proof_context = _context_list(proof_options["@context"])
        document_context = _context_list(unsecured.get("@context"))
        # Step 4.1: the document's @context starts with the proof's, in order;
        # our single-proof policy requires the two to be equal.
        if document_context != proof_context:
            raise VerificationError("the proof's @context is not the document's @context", reason="malformed")
        # Step 4.2: unsecuredDocument.@context = proofOptions.@context (the same value here).
        return unsecured

    def transform(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        """§3.3.3 "Transformation": the JCS (RFC 8785) bytes of the document."""
        self._check_options(options)
        _check_contexts(unsecured)
        return canonicalize(unsecured)

    def proof_configuration(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        """§3.3.5 "Proof Configuration": the JCS bytes of the proof options.

        Step 3 (``created`` is a valid datetime) is enforced by
        ``data_integrity`` before any suite runs.
        """
        self._check_options(options)
        return canonicalize(options)

    def hash(self, transformed: bytes, proof_configuration: bytes) -> bytes:
        """§3.3.4 "Hashing": SHA-256(proof configuration) || SHA-256(document), 64 bytes."""
        return hashlib.sha256(proof_configuration).digest() + hashlib.sha256(transformed).digest()

    def serialize(self, hash_data: bytes, key: PrivateKey) -> bytes:
        """§3.3.6 "Proof Serialization": the 64-byte Ed25519 signature of ``hash_data``."""
        if key.key_type is not KeyType.ED25519:
            raise ValueError(f"{self.name} signs with Ed25519 keys only")
        return key.sign(hash_data)

    def verify(self, hash_data: bytes, proof_bytes: bytes, public_key: PublicKey) -> None:
        """§3.3.7 "Proof Verification": Ed25519 verification; raises ``SignatureError``."""
        if public_key.key_type is not KeyType.ED25519:
            raise VerificationError(f"{self.name} verifies with Ed25519 keys only", reason="wrong_key_type")
        public_key.verify(proof_bytes, hash_data)
