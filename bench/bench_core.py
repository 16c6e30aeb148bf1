"""Credential sign/verify through the full ``verify_credential`` path, against raw Ed25519 and didkit.

Run: ``.venv/bin/python -m bench.bench_core`` (or ``python -m bench`` for every benchmark).

Rows are medians in µs per call. Each round times every operation once, back
to back, and ratios are taken within a round (on a shared machine the load
changes between rounds, not within one); the ratio printed is the median of
the per-round ratios. Caches are warm, as in a running verifier: did:key
documents, processed JSON-LD contexts, and the JSON-LD term check of a
credential already seen (a delegation is presented at every token exchange);
one row shows the eddsa-jcs-2022 path with that last cache cleared every call.

didkit's ``verify_credential`` (SpruceID didkit 0.3.3, a Rust library) runs in a
child process, because its runtime crashes the interpreter at exit; that child
times our eddsa-rdfc-2022 verification in the same rounds, so the didkit ratio
is also measured side by side.

Targets: eddsa-jcs-2022 and JOSE verification ≤ 2× a raw Ed25519 verification;
eddsa-rdfc-2022 verification faster than didkit's VCDM 1.1 Ed25519Signature2018
verification (ratio < 1.0).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from did_agents import keys
from did_agents.clock import FixedClock
from did_agents.credentials import verify as verify_module
from did_agents.credentials.verify import issue_credential, verify_credential
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver

NOW = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
V1 = "https://www.w3.org/2018/credentials/v1"
V2 = "https://www.w3.org/ns/credentials/v2"
ROUNDS = 15

Op = tuple[str, Callable[[], Awaitable[Any] | Any], int]


def credential_v2(issuer: str, subject: str) -> dict[str, Any]:
    """The credential every suite signs: VCDM 2.0, the same members as :func:`credential_v1`."""
    return {
        "@context": [V2],
        "id": "urn:uuid:6b1e5a3c-2f1d-4a8e-9c55-0d7e1f2a3b4c",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2036-01-01T00:00:00Z",
        "credentialSubject": {"id": subject},
    }


def credential_v1(issuer: str, subject: str) -> dict[str, Any]:
    """The VCDM 1.1 equivalent didkit signs (issuanceDate/expirationDate for validFrom/validUntil)."""
    return {
        "@context": [V1],
        "id": "urn:uuid:6b1e5a3c-2f1d-4a8e-9c55-0d7e1f2a3b4c",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "expirationDate": "2036-01-01T00:00:00Z",
        "credentialSubject": {"id": subject},
    }


async def measure(ops: list[Op], rounds: int = ROUNDS) -> list[tuple[str, float, float]]:
    """(name, median µs per call, median within-round ratio to the first op)."""
    for _, fn, _ in ops:  # warm every cache
        result = fn()
        if asyncio.iscoroutine(result):
            await result
    samples: dict[str, list[float]] = {name: [] for name, _, _ in ops}
    ratios: dict[str, list[float]] = {name: [] for name, _, _ in ops}
    for _ in range(rounds):
        reference = 0.0
        for index, (name, fn, number) in enumerate(ops):
            start = time.perf_counter_ns()
            for _ in range(number):
                result = fn()
                if asyncio.iscoroutine(result):
                    await result
            per_call = (time.perf_counter_ns() - start) / number / 1000
            if index == 0:
                reference = per_call
            samples[name].append(per_call)
            ratios[name].append(per_call / reference)
    return [(name, statistics.median(samples[name]), statistics.median(ratios[name])) for name, _, _ in ops]


def _verifier(
    signed: Any, resolver: DIDResolver, clock: FixedClock, *, cold_terms: bool = False
) -> Callable[[], Any]:
    async def verify() -> None:
        if cold_terms:
            verify_module._SAFE_CACHE.clear()
        result = await verify_credential(signed, resolver=resolver, clock=clock)
        if not result.verified:
            raise RuntimeError(f"benchmark credential did not verify: {result.codes}")

    return verify


def core_operations() -> list[Op]:
    clock = FixedClock(NOW)
    resolver = DIDResolver(clock=clock)
    message = os.urandom(64)
    nacl_key = keys.generate("ed25519")
    nacl_signature = nacl_key.sign(message)
    nacl_verify_key = nacl_key.public_key._impl  # the libsodium VerifyKey itself
    pyca_key = Ed25519PrivateKey.generate()
    pyca_signature = pyca_key.sign(message)
    pyca_public = pyca_key.public_key()
    p256 = keys.generate("p256")
    p256_signature = p256.sign(message)
    ops: list[Op] = [
        (
            "raw Ed25519 verify (PyNaCl / libsodium)",
            lambda: nacl_verify_key.verify(message, nacl_signature),
            200,
        ),
        (
            "raw Ed25519 verify (cryptography / OpenSSL)",
            lambda: pyca_public.verify(pyca_signature, message),
            200,
        ),
        (
            "raw P-256 verify (cryptography / OpenSSL)",
            lambda: p256.public_key.verify(p256_signature, message),
            200,
        ),
    ]
    subject = did_key.create(keys.generate().public_key)
    for suite, key_type, number in (
        ("eddsa-jcs-2022", "ed25519", 200),
        ("jose", "ed25519", 200),
        ("jose", "p256", 200),
        ("eddsa-rdfc-2022", "ed25519", 10),
        ("ecdsa-rdfc-2019", "p256", 10),
    ):
        key = keys.generate(key_type)
        did = did_key.create(key.public_key)
        vm = did_key.verification_method_id(did)
        credential = credential_v2(did, subject)
        label = f"{suite} ({key.key_type.value})" if suite == "jose" else suite

        def sign(c: dict[str, Any] = credential, k: Any = key, v: str = vm, s: Any = suite) -> Any:
            return issue_credential(c, key=k, verification_method=v, suite=s, clock=clock)

        signed = sign()
        ops.append((f"sign   {label}", sign, number))
        ops.append((f"verify {label}", _verifier(signed, resolver, clock), number))
        if suite == "eddsa-jcs-2022":
            ops.append(
                (
                    f"verify {label}, term-check cache cleared",
                    _verifier(signed, resolver, clock, cold_terms=True),
                    20,
                )
            )
    return ops


# -- didkit, in a child process ----------------------------------------------------------------


async def _didkit_child() -> dict[str, Any]:
    # Imported only in the child: didkit's runtime crashes the interpreter at exit.
    import didkit

    issuer_jwk = didkit.generate_ed25519_key()
    issuer = didkit.key_to_did("key", issuer_jwk)
    issuer_vm = await didkit.key_to_verification_method("key", issuer_jwk)
    subject = did_key.create(keys.generate().public_key)
    options = {
        "proofPurpose": "assertionMethod",
        "verificationMethod": issuer_vm,
        "type": "Ed25519Signature2018",
        "created": "2026-06-01T00:00:00Z",
    }
    legacy_vc = json.loads(
        await didkit.issue_credential(
            json.dumps(credential_v1(issuer, subject)), json.dumps(options), issuer_jwk
        )
    )
    legacy_text = json.dumps(legacy_vc)
    verify_options = json.dumps({"proofPurpose": "assertionMethod"})

    async def didkit_verify() -> None:
        outcome = json.loads(await didkit.verify_credential(legacy_text, verify_options))
        if outcome.get("errors"):
            raise RuntimeError(f"didkit did not verify its own credential: {outcome['errors']}")

    clock = FixedClock(NOW)
    resolver = DIDResolver(clock=clock)
    key = keys.generate("ed25519")
    did = did_key.create(key.public_key)
    ours = issue_credential(
        credential_v2(did, subject),
        key=key,
        verification_method=did_key.verification_method_id(did),
        suite="eddsa-rdfc-2022",
    )
    ops: list[Op] = [
        ("didkit 0.3.3 verify_credential, VCDM 1.1 Ed25519Signature2018", didkit_verify, 10),
        ("verify eddsa-rdfc-2022 (same rounds, same process)", _verifier(ours, resolver, clock), 10),
        ("verify didkit's Ed25519Signature2018 credential (ours)", _verifier(legacy_vc, resolver, clock), 10),
    ]
    rows = await measure(ops)
    return {"version": didkit.get_version(), "rows": rows}


def didkit_rows() -> tuple[str, list[tuple[str, float, float]]] | None:
    """Run the didkit measurements in a child process; None if didkit is not installed."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_core", "--didkit-child"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    if done.returncode != 0 or not done.stdout.strip():
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        print(f"(didkit measurements skipped: {tail[0]})")
        return None
    data = json.loads(done.stdout)
    return data["version"], [tuple(row) for row in data["rows"]]  # type: ignore[misc]


# -- report ------------------------------------------------------------------------------------


def _print(rows: list[tuple[str, float, float]], reference: str) -> None:
    width = max(len(name) for name, _, _ in rows)
    for name, micros, ratio in rows:
        print(f"  {name:<{width}}  {micros:9.1f} µs  {ratio:6.2f}× {reference}")


def main() -> None:
    print("bench_core: credentials through verify_credential (medians of", ROUNDS, "rounds)")
    rows = asyncio.run(measure(core_operations()))
    _print(rows, "PyNaCl Ed25519 verify")
    by_name = {name: ratio for name, _, ratio in rows}
    print("  ratios (target ≤ 2.0× the raw signature verification):")
    for name in ("verify eddsa-jcs-2022", "verify jose (Ed25519)"):
        verdict = "ok" if by_name[name] <= 2.0 else "over target"
        print(f"    {name:<28} {by_name[name]:5.2f}× raw Ed25519  {verdict}")
    p256_ratio = by_name["verify jose (P-256)"] / by_name["raw P-256 verify (cryptography / OpenSSL)"]
    verdict = "ok" if p256_ratio <= 2.0 else "over target"
    print(f"    {'verify jose (P-256)':<28} {p256_ratio:5.2f}× raw P-256    {verdict}")
    measured = didkit_rows()
    if measured is not None:
        version, dk = measured
        print(f"didkit {version} (child process, same rounds):")
        _print(dk, "didkit verify")
        ratio = dk[1][2]
        verdict = "ok" if ratio < 1.0 else "over target"
        print(f"  ratio eddsa-rdfc-2022 verify / didkit verify (target < 1.0): {ratio:.2f}  {verdict}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--didkit-child"]:
        result = asyncio.run(_didkit_child())
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        os._exit(0)  # didkit's runtime crashes a normal interpreter shutdown
    main()
