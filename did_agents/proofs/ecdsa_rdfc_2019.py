"""The ``ecdsa-rdfc-2019`` cryptosuite with P-256 keys (W3C Data Integrity ECDSA Cryptosuites v1.0 §3.2).

Same transformation and proof configuration as ``eddsa-rdfc-2022`` (RDFC-1.0
canonical N-Quads of the document and of the proof options with the
document's ``@context``). For P-256 the hashes are SHA-256 (§3.2.4: "for curve
P-256 one uses SHA-256") and ``H(proof configuration) || H(document)`` is
signed with ECDSA over P-256 and SHA-256 (FIPS 186-5), the signature being the
64-byte IEEE P1363 ``r || s`` (§3.2.6).

The suite also defines P-384 with SHA-384; this implementation supports
P-256 only. A P-384 key is refused when its verification method is read
(``keys`` has no P-384 support), so no SHA-384 path exists here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from did_agents.errors import VerificationError
from did_agents.keys import KeyType, PrivateKey, PublicKey
from did_agents.proofs.eddsa_rdfc_2022 import (
    check_proof_context,
    rdfc_proof_configuration,
    rdfc_transform,
)

__all__ = ["EcdsaRdfc2019"]


class EcdsaRdfc2019:
    """VC-DI-ECDSA §3.2 ``ecdsa-rdfc-2019`` (P-256 keys only)."""

    name: Final = "ecdsa-rdfc-2019"
    key_type: Final = KeyType.P256

    def proof_options(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        """§3.2.1 step 1: the proof is a clone of the options (no ``@context``)."""
        return dict(options)

    def verification_document(
        self, unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """§3.2.2 has no ``@context`` step; a proof ``@context`` must equal the document's."""
        check_proof_context(unsecured, proof_options)
        return unsecured

    def transform(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        """§3.2.3 "Transformation": expanded form -> RDF -> RDFC-1.0 canonical N-Quads."""
        return rdfc_transform(unsecured, options, self.name)

    def proof_configuration(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        """§3.2.5 "Proof Configuration"."""
        return rdfc_proof_configuration(unsecured, options, self.name)

    def hash(self, transformed: bytes, proof_configuration: bytes) -> bytes:
        """§3.2.4 "Hashing" for P-256: SHA-256(proof configuration) || SHA-256(document)."""
        return hashlib.sha256(proof_configuration).digest() + hashlib.sha256(transformed).digest()

    def serialize(self, hash_data: bytes, key: PrivateKey) -> bytes:
        """§3.2.6 "Proof Serialization": ECDSA P-256/SHA-256 of ``hash_data``, 64 bytes ``r || s``."""
        if key.key_type is not KeyType.P256:
            raise ValueError(f"{self.name} signs with P-256 keys only")
        return key.sign(hash_data)

    def verify(self, hash_data: bytes, proof_bytes: bytes, public_key: PublicKey) -> None:
        """§3.2.7 "Proof Verification": ECDSA P-256/SHA-256; raises ``SignatureError``."""
        if public_key.key_type is not KeyType.P256:
            raise VerificationError(f"{self.name} verifies with P-256 keys only", reason="wrong_key_type")
        public_key.verify(proof_bytes, hash_data)
