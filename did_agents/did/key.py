"""The did:key method (W3C CCG did:key v0.7).

Create: ``did:key:`` + the public key's Multikey (``z6Mk…`` Ed25519, ``zDn…``
P-256). Read: expand the identifier into a DID document with a single
``Multikey`` verification method whose fragment is the multibase value
(§"Signature Method Creation Algorithm"), listed under authentication,
assertionMethod, capabilityInvocation and capabilityDelegation
(§"Document Creation Algorithm" step 7). With ``enable_encryption_key_derivation``
an Ed25519 key also yields its X25519 keyAgreement key (§"Derive Encryption Key
Algorithm"). Update and deactivate are not supported by the method.
"""

from __future__ import annotations

from typing import Any

import nacl.bindings
import nacl.exceptions

from did_agents import multibase
from did_agents.did.document import DIDDocument
from did_agents.errors import MalformedError, ResolutionError
from did_agents.keys import PublicKey

__all__ = ["create", "resolve", "verification_method_id"]

DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"


def create(public_key: PublicKey) -> str:
    """The did:key DID of ``public_key``."""
    return "did:key:" + public_key.to_multikey()


def verification_method_id(did: str) -> str:
    """``did:key:z…#z…``: the only signing verification method of a did:key."""
    return f"{did}#{did.removeprefix('did:key:')}"


def _decode(did: str) -> tuple[str, PublicKey]:
    parts = did.split(":")
    # §Document Creation step 2-3: scheme "did", method "key", optional positive version, "z" value.
    if len(parts) == 4:
        if not parts[2].isdigit() or int(parts[2]) < 1:
            raise ResolutionError(f"invalidDid: bad version in {did[:80]!r}", reason="invalid_did")
        if parts[2] != "1":
            raise ResolutionError(f"unsupported did:key version {parts[2]}", reason="invalid_did")
    elif len(parts) != 3:
        raise ResolutionError(f"invalidDid: {did[:80]!r}", reason="invalid_did")
    if parts[0] != "did" or parts[1] != "key" or not parts[-1].startswith("z"):
        raise ResolutionError(f"invalidDid: {did[:80]!r}", reason="invalid_did")
    value = parts[-1]
    try:
        key = PublicKey.from_multikey(value)
    except MalformedError as exc:
        # invalidPublicKeyLength / invalidPublicKey / unsupportedPublicKeyType
        raise ResolutionError(
            f"invalidPublicKey in {did[:80]!r}: {exc.description}", reason="invalid_did"
        ) from exc
    return value, key


def _x25519_from_ed25519(raw: bytes) -> bytes:
    try:
        return bytes(nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(raw))
    except nacl.exceptions.RuntimeError as exc:
        raise ResolutionError("cannot derive X25519 key", reason="invalid_did") from exc


def document(did: str, *, enable_encryption_key_derivation: bool = False) -> dict[str, Any]:
    """Expand a did:key into its DID document JSON (publicKeyFormat ``Multikey``)."""
    value, key = _decode(did)
    did = "did:key:" + value
    vm_id = f"{did}#{value}"
    doc: dict[str, Any] = {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": value}
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityDelegation": [vm_id],
        "capabilityInvocation": [vm_id],
    }
    if enable_encryption_key_derivation and key.multicodec == multibase.ED25519_PUB:
        x_value = multibase.encode(
            multibase.encode_multicodec(multibase.X25519_PUB, _x25519_from_ed25519(key.raw))
        )
        x_id = f"{did}#{x_value}"
        doc["verificationMethod"].append(
            {"id": x_id, "type": "Multikey", "controller": did, "publicKeyMultibase": x_value}
        )
        doc["keyAgreement"] = [x_id]
    return doc


def resolve(did: str) -> DIDDocument:
    """Resolve a did:key offline."""
    return DIDDocument(document(did))
