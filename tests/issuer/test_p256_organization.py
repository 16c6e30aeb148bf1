"""An organization whose signing key is P-256 (``did-agents init --key-type P-256``).

VC-DI-EDDSA needs an Ed25519 key, so such an issuer secures credentials and signs its status
lists with ``ecdsa-rdfc-2019`` (VC-DI-ECDSA §3.2) unless told otherwise; an explicit default
format the key cannot make refuses to start; a per-request format it cannot make is a clear
400-class refusal. Everything issued verifies with the project's own verifier, status included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from did_agents.clock import SystemClock
from did_agents.credentials.verify import verify_credential
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.errors import ConfigurationError, MalformedError
from did_agents.issuance.agents import OnboardingRequest, onboard_agent, suspend_agent
from did_agents.issuance.context import Actor, Issuer
from did_agents.issuance.organization import init_organization
from did_agents.issuance.status import publish_status_list
from did_agents.issuance.vc_api import issue_credential as vc_api_issue
from did_agents.issuance.vc_api import vc_api_signer
from did_agents.keys import KeyType
from did_agents.keystore import KeyStore, RawKey
from did_agents.storage import Database
from issuer.app import build_issuer
from issuer.settings import IssuerSettings

BASE_URL = "https://issuer.urbanbites.example"
OPERATOR = Actor("operator:alice", "admin")
CAPS = [{"resource": "https://mcp.urbanbites.example/", "scopes": ["orders:read"]}]


def _settings(tmp_path: Path, key_type: KeyType, **overrides: Any) -> IssuerSettings:
    key = RawKey.generate()
    setup = Database.connect(f"sqlite:///{tmp_path / 'did-agents.db'}", upgrade=True)
    init_organization(
        setup,
        KeyStore.create(tmp_path / "keystore.json", key),
        BASE_URL,
        clock=SystemClock(),
        key_type=key_type,
    )
    setup.dispose()
    return IssuerSettings(base_url=BASE_URL, data_dir=tmp_path, keystore_key=key.to_base64url(), **overrides)


def _request(**overrides: Any) -> OnboardingRequest:
    fields: dict[str, Any] = {
        "mode": "generate",
        "name": "ordering",
        "owner": "mailto:ops@urbanbites.example",
        "kind": "delegated",
        "capabilities": CAPS,
        **overrides,
    }
    return OnboardingRequest(**fields)


def _verify(issuer: Issuer, credential: Any) -> Any:
    organization = issuer.organization

    class _OrganizationWeb:
        async def resolve(self, did: str) -> DIDDocument:
            assert did == organization.did
            return DIDDocument(organization.did_document())

    async def status(url: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(publish_status_list(issuer, url.rsplit("/", 1)[1]).body)
        return document

    resolver = DIDResolver(methods={"web": _OrganizationWeb()}, clock=issuer.clock)
    return anyio.run(
        lambda: verify_credential(credential, resolver=resolver, clock=issuer.clock, status_resolver=status)
    )


def test_a_p256_organization_issues_ecdsa_rdfc_2019_and_signs_its_lists_with_it(tmp_path: Path) -> None:
    issuer = build_issuer(_settings(tmp_path, KeyType.P256))
    try:
        assert issuer.default_format == "ecdsa-rdfc-2019"
        onboarded = onboard_agent(issuer, _request(), OPERATOR)
        credential = onboarded.credential.document
        assert credential["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
        list_id = credential["credentialStatus"][0]["statusListCredential"].rsplit("/", 1)[1]
        status_list = json.loads(publish_status_list(issuer, list_id).body)
        assert status_list["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
        result = _verify(issuer, credential)
        assert result.verified, result.problems

        jose = onboard_agent(issuer, _request(name="jose agent", format="jose"), OPERATOR)
        assert _verify(issuer, jose.credential.document).verified  # ES256

        suspend_agent(issuer, onboarded.agent.id, OPERATOR)
        suspended = _verify(issuer, credential)
        assert not suspended.verified
        assert {p.code for p in suspended.problems} >= {"suspended"}

        with pytest.raises(MalformedError) as refused:
            onboard_agent(issuer, _request(name="eddsa agent", format="eddsa-jcs-2022"), OPERATOR)
        assert "Ed25519" in refused.value.description
    finally:
        issuer.database.dispose()


def test_an_ed25519_organization_keeps_eddsa_rdfc_2022_and_refuses_ecdsa(tmp_path: Path) -> None:
    issuer = build_issuer(_settings(tmp_path, KeyType.ED25519))
    try:
        assert issuer.default_format == "eddsa-rdfc-2022"
        onboarded = onboard_agent(issuer, _request(), OPERATOR)
        assert onboarded.credential.document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        with pytest.raises(MalformedError) as refused:
            onboard_agent(issuer, _request(name="ecdsa agent", format="ecdsa-rdfc-2019"), OPERATOR)
        assert "P-256" in refused.value.description
    finally:
        issuer.database.dispose()


def test_an_explicit_default_format_the_key_cannot_make_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DID_AGENTS_DEFAULT_FORMAT", "eddsa-jcs-2022")
    settings = _settings(tmp_path, KeyType.P256)
    with pytest.raises(ConfigurationError) as refused:
        build_issuer(settings)
    assert refused.value.reason == "default_format"
    assert "P-256" in refused.value.description and "ecdsa-rdfc-2019" in refused.value.description
    monkeypatch.setenv("DID_AGENTS_DEFAULT_FORMAT", "jose")
    issuer = build_issuer(_settings(tmp_path / "again", KeyType.P256))
    try:
        assert issuer.default_format == "jose"
    finally:
        issuer.database.dispose()


def test_vc_api_in_did_key_mode_issues_ecdsa_rdfc_2019_under_the_p256_did_key(tmp_path: Path) -> None:
    """What the W3C vc-di-ecdsa-test-suite needs: ``did:key:zDn…`` issuer, verifiable offline."""
    issuer = build_issuer(_settings(tmp_path, KeyType.P256))
    try:
        did, _ = vc_api_signer(issuer.organization, "did:key")
        assert did.startswith("did:key:zDn")
        credential = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": did,
            "credentialSubject": {"id": "did:example:subject"},
        }
        issued = vc_api_issue(issuer, credential, {}, OPERATOR, issuer_did_method="did:key")
        document = json.loads(issued.secured.body)
        assert document["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
        assert document["proof"]["verificationMethod"].startswith(did + "#")
        result = anyio.run(
            lambda: verify_credential(document, resolver=DIDResolver(clock=issuer.clock), clock=issuer.clock)
        )
        assert result.verified, result.problems
    finally:
        issuer.database.dispose()
