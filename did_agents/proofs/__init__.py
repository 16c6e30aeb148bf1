"""Securing mechanisms for credentials and presentations.

* :mod:`did_agents.proofs.data_integrity`: W3C Data Integrity ``DataIntegrityProof``
  with the ``eddsa-rdfc-2022``, ``eddsa-jcs-2022`` and ``ecdsa-rdfc-2019`` (P-256)
  cryptosuites (one module per suite).
"""

from did_agents.proofs.data_integrity import (
    DATA_INTEGRITY_PROOF,
    DEFAULT_MAX_CLOCK_SKEW,
    Cryptosuite,
    ProofPurpose,
    VerifiedProof,
    add_proof,
    get_cryptosuite,
    register_cryptosuite,
    supported_cryptosuites,
    verify_proof,
)

__all__ = [
    "DATA_INTEGRITY_PROOF",
    "DEFAULT_MAX_CLOCK_SKEW",
    "Cryptosuite",
    "ProofPurpose",
    "VerifiedProof",
    "add_proof",
    "get_cryptosuite",
    "register_cryptosuite",
    "supported_cryptosuites",
    "verify_proof",
]
