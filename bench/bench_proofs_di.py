"""Data Integrity sign/verify cost per cryptosuite (medians in µs; no pass/fail).

Run: ``.venv/bin/python -m bench.bench_proofs_di``. Target: verifying an
``eddsa-jcs-2022`` proof costs at most about twice a raw Ed25519 verification.

Each round times every operation once, back to back, and the ratio to the raw
Ed25519 verification is taken within the round: on a shared machine the load
changes between rounds, not within one. did:key documents are resolved once
and then served from the resolver's cache, as in a running verifier.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from did_agents import multibase
from did_agents.clock import FixedClock
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.jcs import canonicalize as jcs
from did_agents.keys import KeyType, PrivateKey, generate
from did_agents.proofs import add_proof, get_cryptosuite, verify_proof

VECTORS = Path(__file__).parent.parent / "tests" / "vectors" / "vc-di-eddsa"


def run_to_completion(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (did:key resolution is offline) without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the coroutine suspended; use asyncio for this benchmark")


def _key_and_vm(key_type: KeyType) -> tuple[PrivateKey, str]:
    key = generate(key_type)
    return key, did_key.verification_method_id(did_key.create(key.public_key))


def _operations() -> list[tuple[str, Callable[[], Any], int]]:
    """(name, operation, calls per round); the first one is the reference."""
    credential = json.loads((VECTORS / "jcs" / "unsigned.json").read_text("utf-8"))
    clock = FixedClock()
    resolver = DIDResolver(clock=clock)
    ed, ed_vm = _key_and_vm(KeyType.ED25519)
    p256, p256_vm = _key_and_vm(KeyType.P256)
    hash_data = hashlib.sha256(b"proof config").digest() + hashlib.sha256(b"document").digest()
    ed_signature, p256_signature = ed.sign(hash_data), p256.sign(hash_data)
    ops: list[tuple[str, Callable[[], Any], int]] = [
        (
            "raw Ed25519 verify, 64-byte hash data (libsodium)",
            lambda: ed.public_key._impl.verify(hash_data, ed_signature),
            200,
        ),
        (
            "raw P-256 verify (PublicKey.verify)",
            lambda: p256.public_key.verify(p256_signature, hash_data),
            200,
        ),
        ("JCS of the test-vector credential (did_agents.jcs)", lambda: jcs(credential), 200),
    ]
    for suite, key, vm, number in (
        ("eddsa-jcs-2022", ed, ed_vm, 200),
        ("eddsa-rdfc-2022", ed, ed_vm, 10),
        ("ecdsa-rdfc-2019", p256, p256_vm, 10),
    ):
        signed = add_proof(credential, key=key, verification_method=vm, cryptosuite=suite, clock=clock)

        def sign(s: str = suite, k: PrivateKey = key, v: str = vm) -> Any:
            return add_proof(credential, key=k, verification_method=v, cryptosuite=s, clock=clock)

        def verify(doc: dict[str, Any] = signed) -> Any:
            return run_to_completion(
                verify_proof(doc, resolver=resolver, expected_purpose="assertionMethod", clock=clock)
            )

        ops.append((f"{suite} add_proof", sign, number))
        ops.append((f"{suite} verify_proof (did:key, cached)", verify, number))
    ops.append(
        (
            "eddsa-jcs-2022 suite steps only (no DI checks/resolver)",
            _jcs_suite_steps(credential, ed, ed_vm),
            200,
        )
    )
    return ops


def _jcs_suite_steps(credential: dict[str, Any], key: PrivateKey, vm: str) -> Callable[[], None]:
    """The eddsa-jcs-2022 verification steps alone: transform, configure, hash, verify."""
    suite = get_cryptosuite("eddsa-jcs-2022")
    signed = add_proof(credential, key=key, verification_method=vm, cryptosuite=suite.name)
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    proof_bytes = multibase.decode(signed["proof"]["proofValue"])

    def steps() -> None:
        transformed = suite.transform(unsecured, options)
        suite.verify(
            suite.hash(transformed, suite.proof_configuration(unsecured, options)),
            proof_bytes,
            key.public_key,
        )

    return steps


def measure(rounds: int = 15) -> list[tuple[str, float, float]]:
    """(name, median µs per call, median ratio to the reference within a round)."""
    ops = _operations()
    for _, fn, _ in ops:
        fn()  # warm caches (contexts, did:key documents)
    samples: dict[str, list[float]] = {name: [] for name, _, _ in ops}
    ratios: dict[str, list[float]] = {name: [] for name, _, _ in ops}
    for _ in range(rounds):
        reference = 0.0
        for index, (name, fn, number) in enumerate(ops):
            start = time.perf_counter_ns()
            for _ in range(number):
                fn()
            per_call = (time.perf_counter_ns() - start) / number / 1000
            if index == 0:
                reference = per_call
            samples[name].append(per_call)
            ratios[name].append(per_call / reference)
    return [(name, statistics.median(samples[name]), statistics.median(ratios[name])) for name, _, _ in ops]


def main() -> None:
    rows = measure()
    width = max(len(name) for name, _, _ in rows)
    for name, micros, ratio in rows:
        print(f"{name:<{width}}  {micros:9.1f} µs  {ratio:6.2f}× raw Ed25519")


if __name__ == "__main__":
    main()
