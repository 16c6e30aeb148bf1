"""Per-resource requirements of the policy file (docs/policy.md ``[[resources]]``) through the exchange:
``allowed_formats`` (how chain credentials may be secured) and ``require_role_credential``."""

from __future__ import annotations

from pathlib import Path

import pytest

from did_agents.errors import VerificationError
from did_agents.storage.database import Database
from tests.exchange.harness import Harness, decode_jwt


def smith_chain(h: Harness) -> list[object]:
    w = h.w
    return [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]


# -- allowed_formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "allowed"),
    [
        ("eddsa-jcs-2022", ["eddsa-rdfc-2022", "jose"]),
        ("eddsa-rdfc-2022", ["eddsa-jcs-2022"]),
        ("jose", ["eddsa-jcs-2022", "eddsa-rdfc-2022"]),
    ],
)
def test_format_the_resource_does_not_allow_is_refused(
    db: Database, tmp_path: Path, suite: str, allowed: list[str]
) -> None:
    """docs/policy.md: a credential whose format is not in ``allowed_formats`` is ``chain_signature``."""
    h = Harness(db, tmp_path, suite=suite)
    w = h.w
    formats = ", ".join(f'"{f}"' for f in allowed)
    h.with_policy(w.policy(extra=f"allowed_formats = [{formats}]"))
    presented = h.present(w.ordering, smith_chain(h))
    exc = h.refused(h.form(presented), VerificationError, "chain_signature")
    assert "is not allowed here" in exc.description


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022", "jose"])
def test_format_the_resource_allows_is_granted(db: Database, tmp_path: Path, suite: str) -> None:
    h = Harness(db, tmp_path, suite=suite)
    w = h.w
    h.with_policy(w.policy(extra=f'allowed_formats = ["{suite}"]'))
    response = h.exchange_for(h.present(w.ordering, smith_chain(h)))
    _, claims = decode_jwt(response.access_token)
    assert claims["sub"] == w.smith.did


def test_allowed_formats_is_per_resource(h: Harness) -> None:
    """A second resource allowing only ``jose`` does not change what the first accepts."""
    w = h.w
    menu = "https://mcp.urbanbites.example/menu"
    h.with_policy(
        w.policy(
            extra=f'\n[[resources]]\nurl = "{menu}"\nallowed_formats = ["jose"]\nscopes = ["menu:read"]\n'
        )
    )
    assert h.exchange_for(h.present(w.ordering, smith_chain(h))).scope == "orders:create orders:read"
    delegation = w.delegation(w.smith, w.ordering, ["menu:read"], resource=menu)
    presented = h.present(w.ordering, [delegation, w.ordering_acc(), w.smith_role()])
    h.refused(h.form(presented, resource=menu, scope="menu:read"), VerificationError, "chain_signature")


# -- require_role_credential ------------------------------------------------------------------
# The HR agent's delegators name smith's DID, so its chain verifies without smith's RoleCredential.


def hr_chain(h: Harness, *, role: bool) -> list[object]:
    w = h.w
    chain: list[object] = [w.delegation(w.smith, w.hr, ["orders:read"]), w.hr_acc()]
    return [*chain, w.smith_role()] if role else chain


def test_resource_requiring_a_role_credential_refuses_without_one(h: Harness) -> None:
    w = h.w
    h.with_policy(w.policy(require_role=True))
    presented = h.present(w.hr, hr_chain(h, role=False))
    h.refused(h.form(presented, scope="orders:read"), VerificationError, "role_credential_required")


def test_resource_requiring_a_role_credential_grants_with_one(h: Harness) -> None:
    w = h.w
    h.with_policy(w.policy(require_role=True))
    response = h.exchange_for(h.present(w.hr, hr_chain(h, role=True)), scope="orders:read")
    _, claims = decode_jwt(response.access_token)
    assert claims["sub"] == w.smith.did
    assert claims["act"] == {"sub": w.hr.did}
    assert response.scope == "orders:read"


def test_resource_not_requiring_a_role_credential_grants_without_one(h: Harness) -> None:
    w = h.w
    h.with_policy(w.policy(require_role=False))
    response = h.exchange_for(h.present(w.hr, hr_chain(h, role=False)), scope="orders:read")
    assert response.scope == "orders:read"


def test_role_credential_from_an_untrusted_issuer_does_not_count(h: Harness) -> None:
    """A RoleCredential signed by mallory is ignored (docs/policy.md, Decisions): still required."""
    w = h.w
    h.with_policy(w.policy(require_role=True))
    fake = w.role_credential(w.smith, ["staff"], ["orders:*"])
    # Re-sign the same claims as mallory: an issuer the policy does not trust.
    document = w.document(fake)
    document.pop("proof", None)
    document["issuer"] = w.mallory.did
    forged = w.sign(document, w.mallory)
    presented = h.present(w.hr, [*hr_chain(h, role=False), forged])
    h.refused(h.form(presented, scope="orders:read"), VerificationError, "role_credential_required")
