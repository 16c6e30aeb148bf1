"""JOSE verification cost against raw signature verification (medians; no pass/fail).

Run: ``.venv/bin/python -m bench.bench_jose``. Target: a JOSE verification costs
at most about twice a raw Ed25519 verification.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from did_agents import jws
from did_agents.clock import FixedClock
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.keys import KeyType, generate
from did_agents.proofs import jose

NOW = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


def median_us(fn: Callable[[], Any], *, rounds: int = 15, number: int = 200) -> float:
    """Median over ``rounds`` of the mean time of ``number`` calls, in microseconds."""
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter_ns() - start) / number / 1000)
    return statistics.median(samples)


def main() -> None:
    rows: list[tuple[str, float]] = []
    ed = generate(KeyType.ED25519)
    p256 = generate(KeyType.P256)
    message = b"x" * 200
    ed_sig, p_sig = ed.sign(message), p256.sign(message)
    raw_ed = median_us(lambda: ed.public_key._impl.verify(message, ed_sig))
    rows.append(("raw Ed25519 verify (libsodium)", raw_ed))
    rows.append(("PublicKey.verify Ed25519", median_us(lambda: ed.public_key.verify(ed_sig, message))))
    rows.append(("PublicKey.verify P-256", median_us(lambda: p256.public_key.verify(p_sig, message))))

    issuer_did = did_key.create(ed.public_key)
    kid = did_key.verification_method_id(issuer_did)
    claims = {
        "iss": issuer_did,
        "sub": issuer_did,
        "aud": "https://sts.example.com",
        "exp": 1796116000,
        "jti": "j",
    }
    actor = jws.sign_compact(claims, ed, typ="actor+jwt", kid=kid)
    rows.append(("jws.parse_compact (actor token)", median_us(lambda: jws.parse_compact(actor))))
    rows.append(
        (
            "jws.verify_compact EdDSA (actor token)",
            median_us(lambda: jws.verify_compact(actor, ed.public_key, typ="actor+jwt")),
        )
    )
    p_actor = jws.sign_compact(claims, p256, typ="actor+jwt", kid=kid)
    rows.append(
        (
            "jws.verify_compact ES256 (actor token)",
            median_us(lambda: jws.verify_compact(p_actor, p256.public_key, typ="actor+jwt")),
        )
    )
    rows.append(
        (
            "verify_compact + validate_claims",
            median_us(
                lambda: jws.validate_claims(
                    jws.verify_compact(actor, ed.public_key, typ="actor+jwt").claims or {},
                    now=1796115600,
                    expected_aud="https://sts.example.com",
                )
            ),
        )
    )

    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/did-agents/v1"],
        "id": "urn:uuid:0f3c7a4e-1111-4e55-9d4b-5d8f5c3b2a10",
        "type": ["VerifiableCredential", "DelegationCredential"],
        "issuer": issuer_did,
        "validFrom": "2026-12-01T09:00:00Z",
        "validUntil": "2026-12-01T17:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "capabilities": [
                {"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read", "orders:create"]}
            ],
            "maxDepth": 1,
        },
        "credentialStatus": {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://issuer.example/status/3",
        },
    }
    vc = jose.sign_vc_jwt(credential, ed, kid=kid)
    rows.append(
        (
            "jws.verify_compact EdDSA (vc+jwt)",
            median_us(lambda: jws.verify_compact(vc, ed.public_key, typ="vc+jwt")),
        )
    )
    resolver, clock = DIDResolver(), FixedClock(NOW)
    loop = asyncio.new_event_loop()
    try:
        rows.append(
            (
                "jose.verify_vc_jwt (did:key, cached, in loop)",
                median_us(
                    lambda: loop.run_until_complete(jose.verify_vc_jwt(vc, resolver=resolver, clock=clock))
                ),
            )
        )

        async def batch() -> None:
            for _ in range(200):
                await jose.verify_vc_jwt(vc, resolver=resolver, clock=clock)

        rows.append(
            (
                "jose.verify_vc_jwt (200 awaited in one task)",
                median_us(lambda: loop.run_until_complete(batch()), number=1) / 200,
            )
        )
    finally:
        loop.close()

    width = max(len(name) for name, _ in rows)
    print(f"{'operation'.ljust(width)}  median µs  × raw Ed25519")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value:9.1f}  {value / raw_ed:5.2f}")


if __name__ == "__main__":
    main()
