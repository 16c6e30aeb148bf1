"""SEC-26 — proof-purpose confusion.

VC Data Integrity §"Proof Purpose Validation": credential proofs need
``assertionMethod``, presentation proofs ``authentication``. Inputs: D_UA signed
with ``proofPurpose: authentication`` (a login signature); a VP whose proof has
``assertionMethod``; ``capabilityDelegation`` / ``capabilityInvocation`` on
either (did:key lists the key under both relationships, so only the purpose
check can refuse them). Expected: 400 ``invalid_request``.
"""

from __future__ import annotations

import pytest

from did_agents.credentials.verify import build_presentation
from tests.security.world import CHALLENGE, DOMAIN, Attack, di_sign, run, unsigned_d_ua

OTHER_PURPOSES = ["authentication", "capabilityDelegation", "capabilityInvocation"]


@pytest.mark.parametrize("purpose", OTHER_PURPOSES)
@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_delegation_signed_for_another_purpose_is_refused(purpose: str, suite: str) -> None:
    w = Attack(suite)
    d_ua = di_sign(w, unsigned_d_ua(w), w.smith, purpose=purpose, suite=suite)
    refusal = w.refusal([d_ua, w.ordering_acc(), w.smith_role()], w.ordering)
    assert refusal.layer == "presentation"
    assert refusal.codes == ("invalid_credential", "wrong_purpose"), refusal.codes


@pytest.mark.parametrize("purpose", ["assertionMethod", "capabilityDelegation", "capabilityInvocation"])
@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_presentation_signed_for_another_purpose_is_refused(purpose: str, suite: str) -> None:
    w = Attack(suite)
    vp = build_presentation(w.ordering.did, w.standard_chain())
    signed = di_sign(w, vp, w.ordering, purpose=purpose, suite=suite, challenge=CHALLENGE, domain=DOMAIN)
    outcome = run(w.pipeline(signed))
    assert outcome.layer == "presentation"
    assert outcome.codes == ("wrong_purpose",), outcome.codes
