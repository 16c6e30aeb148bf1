"""DID documents and verification methods (W3C DID Core 1.0 §5).

A ``DIDDocument`` wraps the resolved JSON and answers the two questions a
verifier asks: *which key is this verification method?* and *is it authorized
for this verification relationship?* (DID Core §5.3; VC Data Integrity
§"Retrieve Verification Method" and §"Verification Relationship Validation").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from did_agents import multibase
from did_agents.errors import MalformedError, ResolutionError, VerificationError
from did_agents.keys import KeyType, PublicKey

__all__ = [
    "DID_PATTERN",
    "DIDDocument",
    "Relationship",
    "VerificationMethod",
    "parse_did",
    "split_did_url",
]

Relationship = Literal[
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
]

# DID Core §3.1 DID Syntax (ABNF): did:method-name:method-specific-id
DID_PATTERN = re.compile(
    r"^did:[a-z0-9]+:(?:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+$"
)
MAX_DID_LENGTH = 2048
# SECURITY SEC-49: bound the work one resolved document can cause.
MAX_VERIFICATION_METHODS = 64


def parse_did(did: Any) -> tuple[str, str]:
    """Validate a DID (no path, query or fragment) and return ``(method, method_specific_id)``."""
    if not isinstance(did, str) or len(did) > MAX_DID_LENGTH:
        raise MalformedError(f"not a valid DID: {str(did)[:80]!r}", reason="invalid_did")
    return _parse_did(did)


@lru_cache(maxsize=4096)
def _parse_did(did: str) -> tuple[str, str]:
    # Pure function of the string; cached because the resolver checks every DID it is asked
    # for on the verification hot path (failures raise and are not cached).
    if not DID_PATTERN.match(did):
        raise MalformedError(f"not a valid DID: {did[:80]!r}", reason="invalid_did")
    _, method, msid = did.split(":", 2)
    return method, msid


def split_did_url(url: str) -> tuple[str, str | None]:
    """Split a DID URL into ``(did, fragment)``. Paths and queries are refused."""
    if not isinstance(url, str):
        raise MalformedError("DID URL must be a string", reason="invalid_did")
    did, sep, fragment = url.partition("#")
    if "?" in did or "/" in did:
        raise MalformedError(
            f"DID URL paths and queries are not supported: {url[:80]!r}", reason="invalid_did"
        )
    parse_did(did)
    return did, (fragment if sep else None)


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    id: str
    type: str
    controller: str
    public_key: PublicKey

    @classmethod
    def from_json(cls, data: Any, *, base: str) -> VerificationMethod:
        if not isinstance(data, dict):
            raise MalformedError("verification method must be an object", reason="malformed")
        vm_id = _absolute(data.get("id"), base)
        vm_type = data.get("type")
        controller = data.get("controller")
        if not isinstance(vm_type, str) or not isinstance(controller, str):
            raise MalformedError("verification method needs type and controller", reason="malformed")
        return cls(vm_id, vm_type, controller, _public_key_of(data, vm_type))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "controller": self.controller}
        if self.type in ("JsonWebKey2020", "JsonWebKey"):
            out["publicKeyJwk"] = self.public_key.to_jwk()
        else:
            out["publicKeyMultibase"] = self.public_key.to_multikey()
        return out


def _absolute(vm_id: Any, base: str) -> str:
    if not isinstance(vm_id, str) or not vm_id:
        raise MalformedError("verification method id missing", reason="malformed")
    if vm_id.startswith("#"):
        return base + vm_id
    return vm_id


def _public_key_of(data: dict[str, Any], vm_type: str) -> PublicKey:
    # CID 1.0 §Multikey / §JsonWebKey; Ed25519VerificationKey2020 (multibase, same bytes as Multikey);
    # Ed25519VerificationKey2018 (publicKeyBase58, raw 32 bytes) for VCDM 1.1 interop.
    if vm_type == "Multikey":
        value = data.get("publicKeyMultibase")
        if not isinstance(value, str):
            raise MalformedError("Multikey without publicKeyMultibase", reason="malformed_key")
        return PublicKey.from_multikey(value)
    if vm_type == "Ed25519VerificationKey2020":
        value = data.get("publicKeyMultibase")
        if not isinstance(value, str):
            raise MalformedError("publicKeyMultibase missing", reason="malformed_key")
        key = PublicKey.from_multikey(value)
        if key.key_type is not KeyType.ED25519:
            raise MalformedError("Ed25519VerificationKey2020 with a non-Ed25519 key", reason="malformed_key")
        return key
    if vm_type == "Ed25519VerificationKey2018":
        value = data.get("publicKeyBase58")
        if isinstance(value, str):
            return PublicKey(KeyType.ED25519, multibase.decode("z" + value))
        if isinstance(data.get("publicKeyJwk"), dict):
            return PublicKey.from_jwk(data["publicKeyJwk"])
        raise MalformedError("Ed25519VerificationKey2018 without key material", reason="malformed_key")
    if vm_type in ("JsonWebKey2020", "JsonWebKey", "EcdsaSecp256r1VerificationKey2019"):
        jwk = data.get("publicKeyJwk")
        if isinstance(jwk, dict):
            if "d" in jwk:
                raise MalformedError("public key JWK contains private material", reason="malformed_key")
            return PublicKey.from_jwk(jwk)
        value = data.get("publicKeyMultibase")
        if isinstance(value, str):
            return PublicKey.from_multikey(value)
        raise MalformedError(f"{vm_type} without key material", reason="malformed_key")
    raise MalformedError(f"unsupported verification method type {vm_type!r}", reason="unsupported_key")


class DIDDocument:
    """A resolved DID document. ``data`` is the JSON as resolved (treat as read-only)."""

    __slots__ = ("_methods", "data", "deactivated", "id")

    def __init__(self, data: dict[str, Any], *, deactivated: bool = False) -> None:
        doc_id = data.get("id")
        if not isinstance(doc_id, str):
            raise ResolutionError("DID document has no id", reason="invalid_did_document")
        parse_did(doc_id)
        self.id = doc_id
        self.data = data
        self.deactivated = deactivated or data.get("deactivated") is True
        methods: dict[str, VerificationMethod] = {}
        declared = _as_list(data.get("verificationMethod"))
        if len(declared) > MAX_VERIFICATION_METHODS:
            raise ResolutionError(
                f"DID document lists more than {MAX_VERIFICATION_METHODS} verification methods",
                reason="invalid_did_document",
            )
        for entry in declared:
            vm = VerificationMethod.from_json(entry, base=doc_id)
            if vm.id in methods:
                raise ResolutionError(f"duplicate verification method {vm.id}", reason="invalid_did_document")
            methods[vm.id] = vm
        for rel in (
            "authentication",
            "assertionMethod",
            "capabilityInvocation",
            "capabilityDelegation",
        ):
            for entry in _as_list(data.get(rel)):
                if isinstance(entry, dict):  # embedded verification method
                    vm = VerificationMethod.from_json(entry, base=doc_id)
                    methods.setdefault(vm.id, vm)
        self._methods = methods

    def __repr__(self) -> str:
        return f"DIDDocument({self.id!r})"

    @property
    def verification_methods(self) -> tuple[VerificationMethod, ...]:
        return tuple(self._methods.values())

    def verification_method(self, vm_id: str) -> VerificationMethod:
        """The verification method ``vm_id`` (absolute, or ``#fragment``) of this document."""
        full = self.id + vm_id if vm_id.startswith("#") else vm_id
        vm = self._methods.get(full)
        if vm is None:
            raise VerificationError(
                f"verification method {full} is not in the DID document of {self.id}",
                reason="unknown_key",
            )
        if vm.controller != self.id:
            # DID Core §5.2.1 allows other controllers; we only accept keys the subject controls.
            raise VerificationError(
                f"verification method {full} is controlled by {vm.controller}, not {self.id}",
                reason="unknown_key",
            )
        return vm

    def is_authorized(self, vm_id: str, relationship: Relationship) -> bool:
        """True if ``vm_id`` is listed (by reference or embedded) under ``relationship``."""
        full = self.id + vm_id if vm_id.startswith("#") else vm_id
        for entry in _as_list(self.data.get(relationship)):
            ref = entry.get("id") if isinstance(entry, dict) else entry
            if isinstance(ref, str) and (self.id + ref if ref.startswith("#") else ref) == full:
                return True
        return False

    def authorized_method(self, vm_id: str, relationship: Relationship) -> VerificationMethod:
        """The key for ``vm_id`` if it may be used for ``relationship``; else ``VerificationError``.

        VC Data Integrity §4.x "Verification Relationship Validation": a key listed
        only under ``authentication`` must not verify an ``assertionMethod`` proof.
        """
        if self.deactivated:
            raise VerificationError(f"{self.id} is deactivated", reason="deactivated_did")
        vm = self.verification_method(vm_id)
        if not self.is_authorized(vm.id, relationship):
            raise VerificationError(f"{vm.id} is not authorized for {relationship}", reason="wrong_purpose")
        return vm


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]
