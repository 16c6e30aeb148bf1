"""Interop: a delegation signed with an independent JOSE library (joserfc) is accepted."""

from __future__ import annotations

import json
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

from did_agents.clock import format_datetime
from did_agents.credentials.vocabulary import build_delegation_credential
from did_agents.storage.database import Database
from tests.delegation.urban_bites import T0, caps
from tests.exchange.harness import Harness, decode_jwt


@pytest.mark.interop
def test_joserfc_signed_delegation_is_accepted(db: Database, tmp_path: Path) -> None:
    h = Harness(db, tmp_path, suite="jose")
    w = h.w
    unsigned = build_delegation_credential(
        issuer=w.smith.did,
        agent=w.ordering.did,
        capabilities=caps("orders:read", "orders:create"),
        valid_from=T0,
        valid_until=T0 + timedelta(hours=8),
        max_depth=0,
        credential_status=w.status(),
    )
    assert unsigned["validFrom"] == format_datetime(T0)
    # VC-JOSE-COSE §3.1.1: the credential is the payload; typ vc+jwt; kid the issuer's DID URL.
    key = OKPKey.import_key(w.smith.key.to_jwk())
    with warnings.catch_warnings():
        # joserfc flags "EdDSA" as superseded by RFC 9864's "Ed25519"; VC-JOSE-COSE and we use EdDSA.
        warnings.simplefilter("ignore", SecurityWarning)
        token = jws.serialize_compact(
            {"alg": "EdDSA", "typ": "vc+jwt", "kid": w.smith.vm},
            json.dumps(unsigned).encode(),
            key,
            algorithms=["EdDSA"],
        )
    presented = h.present(w.ordering, [token, w.ordering_acc(), w.smith_role()])
    response = h.exchange_for(presented)
    _, claims = decode_jwt(response.access_token)
    assert claims["sub"] == w.smith.did
    assert claims["act"] == {"sub": w.ordering.did}
