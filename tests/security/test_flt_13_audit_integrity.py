"""FLT-13 — audit-log integrity at the issuer (SQLite and PostgreSQL).

A mix of granted and refused requests: every change has exactly one ``allowed``
event, every refusal exactly one ``denied`` event with a machine reason, the
hash chain verifies, and neither the audit log nor the application logs hold
the raw PoP JWS, operator tokens or generated private keys. Append-only
enforcement (UPDATE/DELETE/TRUNCATE refused by triggers) is
tests/audit/test_log.py ``test_change_refused`` / ``test_truncate_refused_on_postgresql``.
"""

from __future__ import annotations

import json
import logging

import pytest

from did_agents.did import key as did_key
from did_agents.keys import generate
from tests.issuer.conftest import CAPS, Harness
from tests.security.issuer_checks import audit_events


def test_every_decision_is_audited_once_and_no_secret_is_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [harness.admin["Authorization"].split()[1]]
    start = len(audit_events(harness))

    generated = harness.onboard()
    secrets.append(generated["privateKeyJwk"]["d"])
    victim = did_key.create(generate().public_key)
    mallory = generate()
    forged = harness.pop(mallory, harness.challenge(), iss=victim)
    secrets.append(forged)
    body = {
        "mode": "did_key",
        "did": victim,
        "proof": forged,
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    assert harness.client.post("/agents", json=body, headers=harness.admin).status_code == 400
    assert (
        harness.client.post("/agents/" + generated["id"] + "/suspend", headers=harness.admin).status_code
        == 200
    )
    assert (
        harness.client.post(
            "/users", json={"did": "did:key:zBad", "roles": ["staff"]}, headers=harness.admin
        ).status_code
        == 400
    )

    events = audit_events(harness)[start:]
    decisions = [(e["decision"], e["type"]) for e in events]
    assert [d for d, _ in decisions].count("allowed") == 2, decisions  # onboarding + suspension
    denied = [e for e in events if e["decision"] == "denied"]
    assert len(denied) == 2 and all(e["reason"] for e in denied), denied
    verify = harness.client.get("/audit/verify", headers=harness.auditor)
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text

    logged = "\n".join(r.getMessage() for r in caplog.records) + json.dumps(events)
    for secret in secrets:
        assert secret not in logged
