"""SEC-29 (JSON-LD context injection / term redefinition) and SEC-30 (remote context loading).

D_UA's ``@context`` is changed — after the user signed it, and (JCS, which can
sign any JSON) in a credential the user was tricked into signing with it:
an inline redefinition of ``VerifiableCredential``, ``@vocab`` appended,
``@vocab: null`` with an undefined type, a context URL not on the allowlist,
the base context missing or out of order (SEC-29); context URLs pointing at
cloud metadata or ``file://`` (SEC-30). Expected: 400 ``invalid_request`` from
the context check (``unknown_context`` / ``invalid_context``), i.e. before the
proof is trusted, with zero network I/O (socket guard). The C1/C2 look-alike
attack (w3c/vc-data-integrity#272) cannot be staged: contexts are only served
from bundled files pinned by SHA-256 (tests/jsonld/test_loader.py
``test_bundled_context_sha256_matches_sources_md``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.security.world import Attack, di_sign, unsigned_d_ua

V2 = "https://www.w3.org/ns/credentials/v2"
DA = "https://w3id.org/did-agents/v1"


def _ctx(*contexts: Any) -> Callable[[dict[str, Any]], None]:
    def change(vc: dict[str, Any]) -> None:
        vc["@context"] = list(contexts)

    return change


def _vocab_null(vc: dict[str, Any]) -> None:
    vc["@context"] = [V2, DA, {"@vocab": None}]
    vc["type"] = [*vc["type"], "UndefinedType"]


ATTACKS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "redefine VerifiableCredential": (
        _ctx(V2, DA, {"VerifiableCredential": "https://evil/#X"}),
        "unknown_context",
    ),
    "@vocab appended": (_ctx(V2, DA, {"@vocab": "https://evil/#"}), "unknown_context"),
    "@vocab null + undefined type": (_vocab_null, "unknown_context"),
    "context not on the allowlist": (_ctx(V2, DA, "https://evil.example/ctx.jsonld"), "unknown_context"),
    "base context missing": (_ctx(DA), "invalid_context"),
    "base context out of order": (_ctx(DA, V2), "invalid_context"),
    "SEC-30 metadata URL": (_ctx(V2, DA, "http://169.254.169.254/latest/meta-data/"), "unknown_context"),
    "SEC-30 file URL": (_ctx(V2, DA, "file:///etc/passwd"), "unknown_context"),
    "SEC-30 slow host": (_ctx(V2, DA, "https://slow.example/ctx"), "unknown_context"),
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """NEG-INV 4: any outbound connection attempt is recorded and fails."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network disabled by the security test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts
    assert attempts == []


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_context_changed_after_signing_is_refused(suite: str, attack: str) -> None:
    change, code = ATTACKS[attack]
    w = Attack(suite)
    d_ua = w.smith_to_ordering()
    assert isinstance(d_ua, dict)
    change(d_ua)
    refusal = w.refusal([d_ua, w.ordering_acc(), w.smith_role()], w.ordering)
    assert refusal.layer == "presentation"
    assert refusal.codes == ("invalid_credential", code), refusal.codes


SIGNABLE = [
    "redefine VerifiableCredential",
    "@vocab appended",
    "@vocab null + undefined type",
    "base context missing",
    "base context out of order",
]


@pytest.mark.parametrize("attack", SIGNABLE)
def test_context_signed_by_the_user_is_still_refused(attack: str) -> None:
    change, code = ATTACKS[attack]
    w = Attack("eddsa-jcs-2022")
    unsigned = unsigned_d_ua(w)
    change(unsigned)
    d_ua = di_sign(w, unsigned, w.smith, suite="eddsa-jcs-2022")
    refusal = w.refusal([d_ua, w.ordering_acc(), w.smith_role()], w.ordering)
    assert refusal.codes == ("invalid_credential", code), refusal.codes
