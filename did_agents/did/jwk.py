"""The did:jwk method (did:jwk specification, §Create / §Read).

``did:jwk:`` + base64url(UTF-8 JSON of the public JWK). The DID document has one
verification method ``#0`` of type ``JsonWebKey2020``; a key with ``"use": "sig"``
gets the signing relationships only, ``"use": "enc"`` only keyAgreement, and a
key without ``use`` gets all of them. Private members are refused.
"""

from __future__ import annotations

import json
from typing import Any

from did_agents import multibase, strict_json
from did_agents.did.document import DIDDocument
from did_agents.errors import MalformedError, ResolutionError
from did_agents.keys import PublicKey

__all__ = ["create", "document", "resolve", "verification_method_id"]

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def create(public_key: PublicKey) -> str:
    """The did:jwk DID of ``public_key`` (members in RFC 7638 lexicographic order, compact)."""
    jwk = json.dumps(public_key.to_jwk(), separators=(",", ":"), sort_keys=True)
    return "did:jwk:" + multibase.b64url_encode(jwk.encode("utf-8"))


def verification_method_id(did: str) -> str:
    return did + "#0"


def _decode(did: str) -> dict[str, Any]:
    if not isinstance(did, str) or not did.startswith("did:jwk:") or len(did) > 4096:
        raise ResolutionError("invalidDid: not a did:jwk", reason="invalid_did")
    try:
        jwk = strict_json.loads(multibase.b64url_decode(did[len("did:jwk:") :]), max_depth=4)
    except MalformedError as exc:
        raise ResolutionError(f"invalidDid: {exc.description}", reason="invalid_did") from exc
    if not isinstance(jwk, dict):
        raise ResolutionError("invalidDid: did:jwk value is not a JWK object", reason="invalid_did")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise ResolutionError("invalidDid: did:jwk contains private key material", reason="invalid_did")
    try:
        PublicKey.from_jwk(jwk)
    except MalformedError as exc:
        raise ResolutionError(f"invalidDid: {exc.description}", reason="invalid_did") from exc
    return jwk


def document(did: str) -> dict[str, Any]:
    jwk = _decode(did)
    vm_id = verification_method_id(did)
    doc: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/suites/jws-2020/v1",
        ],
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}
        ],
    }
    use = jwk.get("use")
    if use != "enc":
        for rel in (
            "assertionMethod",
            "authentication",
            "capabilityInvocation",
            "capabilityDelegation",
        ):
            doc[rel] = [vm_id]
    if use != "sig":
        doc["keyAgreement"] = [vm_id]
    return doc


def resolve(did: str) -> DIDDocument:
    return DIDDocument(document(did))
