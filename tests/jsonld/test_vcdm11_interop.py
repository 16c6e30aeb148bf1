"""VCDM 1.1 credentials as SpruceID didkit 0.3.3 signs them canonicalize in safe mode.

DESIGN §4: such credentials are verified (not issued); every context they
reference must be bundled. didkit is imported only here, as another implementation.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from did_agents.jsonld import KNOWN_CONTEXTS, canonicalize

didkit = pytest.importorskip("didkit")

pytestmark = pytest.mark.interop


def _contexts(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                found.update(c for c in (item if isinstance(item, list) else [item]) if isinstance(c, str))
            else:
                found |= _contexts(item)
    elif isinstance(value, list):
        for item in value:
            found |= _contexts(item)
    return found


async def _issue(proof_type: str | None) -> dict[str, Any]:
    key = didkit.generate_ed25519_key()
    did = didkit.key_to_did("key", key)
    method = await didkit.key_to_verification_method("key", key)
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "id": "urn:uuid:5b9d1c2e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
        "type": ["VerifiableCredential"],
        "issuer": did,
        "issuanceDate": "2026-11-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }
    options: dict[str, str] = {"proofPurpose": "assertionMethod", "verificationMethod": method}
    if proof_type is not None:
        options["type"] = proof_type
    signed = await didkit.issue_credential(json.dumps(credential), json.dumps(options), key)
    result = json.loads(signed)
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    ("proof_type", "expected"),
    [(None, "Ed25519Signature2018"), ("Ed25519Signature2020", "Ed25519Signature2020")],
)
def test_didkit_vcdm11_credentials_use_only_bundled_contexts(proof_type: str | None, expected: str) -> None:
    signed = asyncio.run(_issue(proof_type))
    assert signed["proof"]["type"] == expected
    assert _contexts(signed) <= set(KNOWN_CONTEXTS)
    canonical = canonicalize(signed)
    assert f"<https://w3id.org/security#{expected}>" in canonical
