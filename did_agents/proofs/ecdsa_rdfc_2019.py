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

from did_agents.keys import KeyType
from did_agents.proofs.eddsa_rdfc_2022 import RdfcSha256Suite

__all__ = ["EcdsaRdfc2019"]


class EcdsaRdfc2019(RdfcSha256Suite):
    """VC-DI-ECDSA §3.2 ``ecdsa-rdfc-2019`` (P-256 keys only; §3.2.4: P-256 uses SHA-256)."""

    name = "ecdsa-rdfc-2019"
    key_type = KeyType.P256
