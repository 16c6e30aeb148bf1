"""SEC-27 — verification method not controlled by the issuer / wrong relationship.

VC Data Integrity §"Verification Method Binding" and §"Verification
Relationship Validation". D_UA claims ``issuer = USER`` (smith) but:
(a) its proof is by ``MALLORY#key``; (b) the verification method is
``did:key:USER#<mallory's multibase>`` (USER's DID, a fragment naming another
key); (c) — a did:web issuer listing the key only under ``authentication`` — is
covered by tests/proofs/test_data_integrity.py
``test_key_only_under_authentication_cannot_assert``; (d) the proof carries a
verification-method *object* whose ``controller`` claims USER but which USER's
DID document does not list. Expected: 400 ``invalid_request``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.world import Attack, di_sign, unsigned_d_ua

SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]


@pytest.mark.parametrize("suite", SUITES)
def test_a_proof_by_mallorys_key_on_a_users_credential(suite: str) -> None:
    w = Attack(suite)
    d_ua = di_sign(w, unsigned_d_ua(w), w.mallory, suite=suite)
    refusal = w.refusal([d_ua, w.ordering_acc(), w.smith_role()], w.ordering)
    assert refusal.codes == ("invalid_credential", "issuer_mismatch"), refusal.codes


@pytest.mark.parametrize("suite", SUITES)
def test_b_users_did_with_a_fragment_naming_mallorys_key(suite: str) -> None:
    w = Attack(suite)
    mallory_fragment = w.mallory.vm.split("#", 1)[1]
    vm = f"{w.smith.did}#{mallory_fragment}"
    d_ua = di_sign(w, unsigned_d_ua(w), w.mallory, verification_method=vm, suite=suite)
    refusal = w.refusal([d_ua, w.ordering_acc(), w.smith_role()], w.ordering)
    assert refusal.layer == "presentation"
    # did:key spec: the only VM of did:key:X is did:key:X#X — another fragment is unknown.
    assert refusal.codes == ("invalid_credential", "unknown_key"), refusal.codes


@pytest.mark.parametrize("suite", SUITES)
def test_d_embedded_verification_method_object_claiming_the_user(suite: str) -> None:
    w = Attack(suite)
    d_ua = di_sign(w, unsigned_d_ua(w), w.mallory, suite=suite)
    multibase_key = w.mallory.vm.split("#", 1)[1]
    vm_object: dict[str, Any] = {
        "id": f"{w.smith.did}#{multibase_key}",
        "type": "Multikey",
        "controller": w.smith.did,
        "publicKeyMultibase": multibase_key,
    }
    d_ua["proof"]["verificationMethod"] = vm_object
    refusal = w.refusal([d_ua, w.ordering_acc(), w.smith_role()], w.ordering)
    assert refusal.layer == "presentation"
    # The key always comes from resolving the DID, never from the proof: a non-string
    # verificationMethod is malformed.
    assert refusal.codes == ("invalid_credential", "malformed"), refusal.codes
