"""SEC-25 — tampering after signing.

The delegation D_UA (smith → ordering agent) is modified after the user signed
it, then presented in a presentation the (honest) holder signs over the
tampered copy. Expected: 400 ``invalid_request`` (proof verification error).
Catalog inputs: scopes widened to a wildcard, an undefined property added to
``credentialSubject``, an extra ``type`` ``AdminDelegation``, ``validUntil``
pushed out by a year. Run in every securing suite (Data Integrity RDFC and JCS,
and the payload of a ``vc+jwt``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from did_agents import multibase
from did_agents.clock import format_datetime, parse_datetime
from tests.security.world import Attack, run


def _wider_scopes(vc: dict[str, Any]) -> None:
    vc["credentialSubject"]["capabilities"][0]["scopes"] = ["orders:*"]


def _undefined_property(vc: dict[str, Any]) -> None:
    vc["credentialSubject"]["isAdmin"] = True


def _extra_type(vc: dict[str, Any]) -> None:
    vc["type"] = [*vc["type"], "AdminDelegation"]


def _later_valid_until(vc: dict[str, Any]) -> None:
    vc["validUntil"] = format_datetime(parse_datetime(vc["validUntil"]) + timedelta(days=365))


TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "scopes_widened": _wider_scopes,
    "undefined_property": _undefined_property,
    "extra_type": _extra_type,
    "valid_until_plus_one_year": _later_valid_until,
}


def _tamper(secured: dict[str, Any] | str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any] | str:
    if isinstance(secured, str):  # vc+jwt: change the payload, keep header and signature
        header, payload, signature = secured.split(".")
        claims = json.loads(multibase.b64url_decode(payload))
        change(claims)
        encoded = multibase.b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
        return f"{header}.{encoded}.{signature}"
    change(secured)
    return secured


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022", "jose"])
@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_tampered_delegation_is_refused(suite: str, tampering: str) -> None:
    w = Attack(suite)
    d_ua = _tamper(w.smith_to_ordering(), TAMPERINGS[tampering])
    refusal = w.refusal([d_ua, w.ordering_acc(), w.smith_role()], w.ordering)
    assert refusal.layer == "presentation"
    # A proof that does not verify is bad_signature; an undefined term or type is refused by
    # JSON-LD safe mode before the signature is even checked (VC-DI §"Context Injection").
    rdfc_safe_mode = suite == "eddsa-rdfc-2022" and tampering in {"undefined_property", "extra_type"}
    expected = "undefined_term" if rdfc_safe_mode else "bad_signature"
    assert refusal.codes == ("invalid_credential", expected), refusal.codes


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022", "jose"])
def test_untampered_control_is_accepted(suite: str) -> None:
    w = Attack(suite)
    chain = run(w.pipeline(w.present(w.standard_chain(), w.ordering)))
    assert chain.subject == w.smith.did
