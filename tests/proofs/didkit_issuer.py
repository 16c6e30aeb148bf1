"""Issue VCDM 1.1 credentials and presentations with SpruceID didkit, in a child process.

Run by ``tests/proofs/test_legacy.py`` as ``python didkit_issuer.py`` with a JSON
plan on stdin; prints one JSON object. didkit 0.3.3's Rust runtime crashes the
interpreter while it shuts down (SIGSEGV/SIGABRT in ``PyGILState_Release``), so
it never runs inside the pytest process, and this script leaves with
``os._exit`` once its output is flushed. This is the only module importing didkit.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import didkit  # type: ignore[import-not-found]

V1 = "https://www.w3.org/2018/credentials/v1"
CREATED = "2026-06-01T00:00:00Z"
CHALLENGE = "c-2f6f0b1e"
DOMAIN = "https://sts.example.com"


async def identity(jwk: str | None = None) -> dict[str, str]:
    key = jwk or didkit.generate_ed25519_key()
    return {
        "jwk": key,
        "did": didkit.key_to_did("key", key),
        "vm": await didkit.key_to_verification_method("key", key),
    }


async def issue(credential: dict[str, Any], who: dict[str, str], **options: Any) -> Any:
    opts = {"proofPurpose": "assertionMethod", "verificationMethod": who["vm"], **options}
    out = await didkit.issue_credential(json.dumps(credential), json.dumps(opts), who["jwk"])
    return out if options.get("proofFormat") == "jwt" else json.loads(out)


async def present(presentation: dict[str, Any], who: dict[str, str], **options: Any) -> Any:
    opts = {
        "proofPurpose": "authentication",
        "verificationMethod": who["vm"],
        "challenge": CHALLENGE,
        "domain": DOMAIN,
        **options,
    }
    out = await didkit.issue_presentation(json.dumps(presentation), json.dumps(opts), who["jwk"])
    return out if options.get("proofFormat") == "jwt" else json.loads(out)


async def main(plan: dict[str, Any]) -> dict[str, Any]:
    issuer, holder, p256 = await identity(), await identity(), await identity(plan["p256_jwk"])
    credential = {
        "@context": [V1],
        "id": "urn:uuid:0f3c7a4e-1111-4e55-9d4b-5d8f5c3b2a10",
        "type": ["VerifiableCredential"],
        "issuer": issuer["did"],
        "issuanceDate": "2026-01-01T00:00:00Z",
        "expirationDate": "2027-01-01T00:00:00Z",
        "credentialSubject": {"id": holder["did"]},
    }
    out: dict[str, Any] = {
        "issuer": issuer,
        "holder": holder,
        "credential": credential,
        "version": didkit.get_version(),
    }
    out["vc_2018"] = await issue(credential, issuer, type="Ed25519Signature2018", created=CREATED)
    # A different id for the 2020 credential: didkit 0.3.3 (ssi) canonicalizes a presentation that
    # has an id and holds one credential id twice differently from RDFC-1.0 (pyld and oxigraph agree).
    credential_2020 = {**credential, "id": "urn:uuid:5a1b2c3d-3333-4e55-9d4b-5d8f5c3b2a10"}
    out["credential_2020"] = credential_2020
    out["vc_2020"] = await issue(credential_2020, issuer, type="Ed25519Signature2020", created=CREATED)
    out["vc_jwt"] = await issue(credential, issuer, proofFormat="jwt")
    out["vc_jwt_es256"] = await issue({**credential, "issuer": p256["did"]}, p256, proofFormat="jwt")
    out["vc_2020_by_holder"] = await issue(
        {**credential, "issuer": holder["did"]}, holder, type="Ed25519Signature2020", created=CREATED
    )
    presentation = {
        "@context": [V1],
        "id": "urn:uuid:7d2c1b0a-2222-4e55-9d4b-5d8f5c3b2a10",
        "type": ["VerifiablePresentation"],
        "holder": holder["did"],
        "verifiableCredential": [out["vc_2018"], out["vc_2020"]],
    }
    out["vp_2018"] = await present(presentation, holder, type="Ed25519Signature2018", created=CREATED)
    out["vp_2020"] = await present(presentation, holder, type="Ed25519Signature2020", created=CREATED)
    out["vp_jwt"] = await present(
        {**presentation, "verifiableCredential": [out["vc_jwt"], out["vc_2020"]]}, holder, proofFormat="jwt"
    )
    tampered = json.loads(json.dumps(out["vc_2020"]))
    tampered["credentialSubject"]["id"] = "did:example:mallory"
    out["vp_with_tampered_vc"] = await present(
        {**presentation, "verifiableCredential": [tampered]},
        holder,
        type="Ed25519Signature2020",
        created=CREATED,
    )
    # What didkit itself says about that presentation (it does not look at embedded credentials).
    out["didkit_verifies_vp_with_tampered_vc"] = json.loads(
        await didkit.verify_presentation(
            json.dumps(out["vp_with_tampered_vc"]),
            json.dumps({"proofPurpose": "authentication", "challenge": CHALLENGE, "domain": DOMAIN}),
        )
    )
    out["vp_signed_for_assertion"] = await present(
        presentation, holder, proofPurpose="assertionMethod", type="Ed25519Signature2020", created=CREATED
    )
    return out


if __name__ == "__main__":
    result = asyncio.run(main(json.loads(sys.stdin.read())))
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter finalization, where didkit crashes
