"""SEC-32 (proof stripping, self-issued substitutes), SEC-33 (holder binding),
SEC-34 (validity window, frozen clock, 60 s skew) and SEC-35 (cryptosuite
downgrade), through the STS pipeline (verify_presentation → verify_chain).
Every refusal is 400 ``invalid_request`` (tests/security/world.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from did_agents.clock import format_datetime
from did_agents.credentials.verify import build_presentation
from tests.delegation.urban_bites import T0
from tests.security.world import CHALLENGE, DOMAIN, Attack, Refusal, di_sign, run, unsigned_d_ua

JCS = "eddsa-jcs-2022"


def chain_of(w: Attack, d_ua: Any) -> list[Any]:
    return [d_ua, w.ordering_acc(), w.smith_role()]


# -- SEC-32 ----------------------------------------------------------------------------------------


def test_sec32_proof_removed_from_d_ua() -> None:
    w = Attack(JCS)
    d_ua = w.smith_to_ordering()
    assert isinstance(d_ua, dict)
    del d_ua["proof"]
    assert w.refusal(chain_of(w, d_ua), w.ordering).codes == ("invalid_credential", "missing_proof")


def test_sec32_proof_set_with_the_users_proof_removed() -> None:
    w = Attack(JCS)
    other = di_sign(w, unsigned_d_ua(w), w.mallory)
    other["proof"] = [other["proof"]]  # [userProof, otherProof] minus userProof
    refusal = w.refusal(chain_of(w, other), w.ordering)
    assert refusal.layer == "presentation"
    assert refusal.codes[0] == "invalid_credential" and refusal.codes[1] in {"malformed", "issuer_mismatch"}


def test_sec32_look_alike_root_issued_by_the_agent_itself() -> None:
    w = Attack(JCS)
    self_issued = w.delegation(w.ordering, w.ordering, ["orders:read", "orders:create"], max_depth=1)
    refusal = w.refusal([self_issued, w.ordering_acc(), w.smith_role()], w.ordering)
    assert refusal.layer == "chain" and refusal.codes in {("chain_root",), ("chain_cycle",)}, refusal.codes


def test_sec32_unsigned_presentation() -> None:
    w = Attack(JCS)
    vp = build_presentation(w.ordering.did, w.standard_chain())
    outcome = run(w.pipeline(vp))
    assert isinstance(outcome, Refusal) and outcome.codes == ("missing_proof",), outcome


# -- SEC-33 ----------------------------------------------------------------------------------------


def test_sec33_presentation_signed_by_mallory_for_the_agent() -> None:
    w = Attack(JCS)
    vp = w.present(w.standard_chain(), w.ordering, signer=w.mallory)
    outcome = run(w.pipeline(vp))
    assert isinstance(outcome, Refusal) and outcome.codes == ("holder_mismatch",), outcome


def test_sec33_holder_absent() -> None:
    w = Attack(JCS)
    vp = build_presentation(w.ordering.did, w.standard_chain())
    del vp["holder"]
    signed = di_sign(w, vp, w.ordering, purpose="authentication", challenge=CHALLENGE, domain=DOMAIN)
    outcome = run(w.pipeline(signed))
    assert isinstance(outcome, Refusal) and outcome.layer == "presentation", outcome


def test_sec33_holder_is_not_the_leaf_subject() -> None:
    w = Attack(JCS)
    # The payment agent presents smith → ordering: holder ≠ leaf credentialSubject.id.
    refusal = w.refusal([w.smith_to_ordering(), w.ordering_acc(), w.smith_role()], w.payment)
    assert refusal.codes == ("agent_credential",), refusal.codes


def test_sec33_mixed_chains_in_one_presentation() -> None:
    w = Attack(JCS)
    other = w.delegation(w.jones, w.hr, ["orders:read"])
    refusal = w.refusal([*w.standard_chain(), other], w.ordering)
    assert refusal.layer == "chain" and refusal.codes == ("chain_link",), refusal.codes


# -- SEC-34 ----------------------------------------------------------------------------------------


def _window(w: Attack, **dates: str) -> Refusal | Any:
    unsigned = unsigned_d_ua(w)
    unsigned.update(dates)
    d_ua = di_sign(w, unsigned, w.smith)
    return run(w.pipeline(w.present(chain_of(w, d_ua), w.ordering)))


@pytest.mark.parametrize(
    ("name", "dates", "codes"),
    [
        (
            "validFrom now+61s",
            {"validFrom": format_datetime(T0 + timedelta(seconds=61))},
            ("invalid_credential", "not_yet_valid"),
        ),
        (
            "validUntil now-61s",
            {
                "validFrom": format_datetime(T0 - timedelta(hours=1)),
                "validUntil": format_datetime(T0 - timedelta(seconds=61)),
            },
            ("invalid_credential", "expired"),
        ),
        (
            "validUntil == now",
            {"validFrom": format_datetime(T0 - timedelta(hours=1)), "validUntil": format_datetime(T0)},
            ("chain_validity",),
        ),
        ("validFrom > validUntil", {"validFrom": format_datetime(T0 + timedelta(hours=9))}, None),
        ("RFC 2822 date", {"validFrom": "Sat 25 Feb 2023 07:16:31 PM CST"}, None),
        ("no time zone", {"validFrom": "2025-01-01T00:00:00"}, None),
        ("30 February", {"validFrom": "2025-02-30T00:00:00Z"}, None),
    ],
)
def test_sec34_validity_window_refusals(
    name: str, dates: dict[str, str], codes: tuple[str, ...] | None
) -> None:
    w = Attack(JCS)
    outcome = _window(w, **dates)
    assert isinstance(outcome, Refusal), f"{name} accepted"
    if codes is not None:
        assert outcome.codes == codes, outcome
    else:  # a data-model violation of the credential: refused at the presentation layer
        assert outcome.layer == "presentation", outcome


def test_sec34_boundaries_with_60s_skew() -> None:
    # Documented boundary (did_agents/delegation/chain.py): validFrom - skew <= now < validUntil.
    # validFrom = now + 60 s is inside the skew; validUntil = now + 1 s is still valid;
    # validUntil = now is expired (test above), deterministically with the frozen clock.
    w = Attack(JCS)
    accepted = _window(w, validFrom=format_datetime(T0 + timedelta(seconds=60)))
    assert not isinstance(accepted, Refusal), accepted
    accepted = _window(
        w,
        validFrom=format_datetime(T0 - timedelta(hours=1)),
        validUntil=format_datetime(T0 + timedelta(seconds=1)),
    )
    assert not isinstance(accepted, Refusal), accepted


def test_sec34_proof_expired_and_proof_created_in_the_future() -> None:
    w = Attack(JCS)
    expired = di_sign(
        w, unsigned_d_ua(w), w.smith, created=T0 - timedelta(hours=2), expires=T0 - timedelta(hours=1)
    )
    outcome = run(w.pipeline(w.present(chain_of(w, expired), w.ordering)))
    assert isinstance(outcome, Refusal) and outcome.layer in {"presentation", "chain"}, outcome
    future = di_sign(w, unsigned_d_ua(w), w.smith, created=T0 + timedelta(hours=1))
    outcome = run(w.pipeline(w.present(chain_of(w, future), w.ordering)))
    assert isinstance(outcome, Refusal) and outcome.layer in {"presentation", "chain"}, outcome


# -- SEC-35 ----------------------------------------------------------------------------------------


def _proof_changed(**changes: Any) -> Refusal:
    w = Attack(JCS)
    d_ua = w.smith_to_ordering()
    assert isinstance(d_ua, dict)
    for name, value in changes.items():
        if value is None:
            d_ua["proof"].pop(name)
        else:
            d_ua["proof"][name] = value
    return w.refusal(chain_of(w, d_ua), w.ordering)


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "Ed25519Signature2018"},
        {"type": "Ed25519Signature2020"},
        {"cryptosuite": "eddsa-2022"},
        {"cryptosuite": 42},
        {"cryptosuite": None},
        {"proofValue": "not-multibase"},
        {"proofValue": "u" + "A" * 86},
    ],
    ids=[
        "Ed25519Signature2018",
        "Ed25519Signature2020",
        "eddsa-2022",
        "cryptosuite 42",
        "no cryptosuite",
        "proofValue not multibase",
        "proofValue base64url",
    ],
)
def test_sec35_downgraded_or_unknown_suite(changes: dict[str, Any]) -> None:
    refusal = _proof_changed(**changes)
    assert refusal.layer == "presentation"
    assert refusal.codes[0] == "invalid_credential" and refusal.codes[1] != "bad_signature", refusal.codes


def test_sec35_ecdsa_when_the_policy_allows_only_eddsa() -> None:
    from did_agents.keys import KeyType, generate
    from tests.delegation.urban_bites import Party

    w = Attack(JCS)
    w.smith = Party("smith", generate(KeyType.P256))
    d_ua = di_sign(w, unsigned_d_ua(w), w.smith, suite="ecdsa-rdfc-2019")
    refusal = w.refusal(
        [d_ua, w.ordering_acc(), w.smith_role()],
        w.ordering,
        chain_kw={"allowed_formats": ["eddsa-rdfc-2022", "eddsa-jcs-2022"]},
    )
    assert refusal.layer == "chain" and refusal.codes == ("chain_signature",), refusal.codes
