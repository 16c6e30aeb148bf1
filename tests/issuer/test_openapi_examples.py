"""Issue 3, "OpenAPI: accurate schemas and examples for every endpoint": every request body and
every 2xx JSON response of the issuer carries an example, and the examples are accurate — each
validates against its pydantic model, the request examples are accepted by the live routes, and
the examples of raw documents have the shape of what the routes serve.

The examples tell the Urban Bites story (DESIGN §4), so this harness is the organization
``did:web:urbanbites.example`` (the shared one in ``conftest.py`` is ``did:web:issuer.example``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from pydantic import BaseModel

import issuer.models
from did_agents.clock import FixedClock
from did_agents.issuance.context import Issuer, IssuerConfig
from did_agents.issuance.organization import init_organization
from did_agents.keys import generate
from did_agents.keystore import KeyStore, RawKey
from did_agents.storage.database import Database
from did_agents.storage.operators import OperatorRepository
from issuer.app import create_app
from issuer.settings import IssuerSettings
from tests.issuer.conftest import Harness, SyncClient

BASE_URL = "https://urbanbites.example"
ORG_DID = "did:web:urbanbites.example"
MCP = "https://mcp.urbanbites.example/mcp"
ROLES = {
    "staff": [{"resource": MCP, "scopes": ["orders:read"]}],
    "manager": [{"resource": MCP, "scopes": ["orders:read", "orders:create"]}],
}

# Operations that cannot carry an example yet (none).
NO_EXAMPLE_YET: set[str] = set()


@pytest.fixture
def urbanbites(db: Database, tmp_path: Path) -> Iterator[Harness]:
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC))
    raw = RawKey.generate()
    keystore = KeyStore.create(tmp_path / "keystore.json", raw, clock=clock)
    organization = init_organization(db, keystore, BASE_URL, clock=clock)
    issuer = Issuer(db, keystore, organization, clock=clock, config=IssuerConfig(role_capabilities=ROLES))
    with db.transaction() as conn:
        repo = OperatorRepository(conn)
        _, admin_token = repo.create("alice", "admin", now=clock.now())
        _, auditor_token = repo.create("audrey", "auditor", now=clock.now())
    settings = IssuerSettings(
        base_url=BASE_URL, data_dir=tmp_path, keystore_key=raw.to_base64url(), role_capabilities=ROLES
    )
    app = create_app(settings, issuer=issuer)
    with anyio.from_thread.start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        try:
            yield Harness(
                issuer=issuer,
                app=app,
                client=SyncClient(portal, client),
                db=db,
                clock=clock,
                admin={"Authorization": f"Bearer {admin_token}"},
                auditor={"Authorization": f"Bearer {auditor_token}"},
                settings=settings,
            )
        finally:
            portal.call(client.aclose)


def _spec(h: Harness) -> dict[str, Any]:
    spec: dict[str, Any] = h.client.get("/openapi.json").json()
    return spec


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def _examples(spec: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples of one media type object: its own, or those of the component it references."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [e["value"] for e in media["examples"].values()]
    ref = media.get("schema", {}).get("$ref", "")
    schema = spec["components"]["schemas"].get(ref.rpartition("/")[2], {}) if ref else {}
    found: list[Any] = schema.get("examples", [])
    return found


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _shape(value: Any) -> Any:
    """The member names of a JSON value, recursively; values and list lengths ignored."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shapes: list[Any] = []
        for item in map(_shape, value):
            if item not in shapes:
                shapes.append(item)
        return shapes
    return None


def _example(spec: dict[str, Any], method: str, path: str, status: str = "") -> Any:
    operation = spec["paths"][path][method.lower()]
    if status:
        content = operation["responses"][status]["content"]
    else:
        content = operation["requestBody"]["content"]
    (media,) = content.values()
    return _examples(spec, media)[0]


def test_every_request_body_and_2xx_json_response_has_an_example(urbanbites: Harness) -> None:
    spec = _spec(urbanbites)
    missing = set()
    for method, path, operation in _operations(spec):
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            if not _examples(spec, media):
                missing.add(f"{method} {path} request {media_type}")
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, media in response.get("content", {}).items():
                if _is_json(media_type) and not _examples(spec, media):
                    missing.add(f"{method} {path} {status}")
    assert missing == NO_EXAMPLE_YET


def test_every_model_example_validates_against_its_model(urbanbites: Harness) -> None:
    """Each example is accepted by the model and survives a round trip unchanged: no unknown,
    misspelt or wrongly typed member (response models ignore unknown members, so validation
    alone would not catch them)."""
    checked = []
    for name, schema in _spec(urbanbites)["components"]["schemas"].items():
        for example in schema.get("examples", []):
            model = getattr(issuer.models, name)
            assert issubclass(model, BaseModel)
            parsed = model.model_validate(example)
            assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == example, name
            checked.append(name)
    assert set(checked) >= {"AgentRegistration", "OnboardingOut", "AgentOut", "AgentList", "KeyRotation"}
    assert set(checked) >= {"UserRegistration", "UserPatch", "UserOut", "IssueRequest", "IssueResponse"}
    assert set(checked) >= {"StatusUpdate", "StatusUpdateOut", "AgentChallengeRequest", "ChallengeOut"}


def test_raw_document_examples_have_the_shape_served(urbanbites: Harness) -> None:
    """DID documents, the context and status lists have no response model: compare each example
    with what the route serves, and its media type with the one documented."""
    h = urbanbites
    spec = _spec(h)
    key = generate()
    nonce = h.challenge()
    hosted = h.onboard(
        mode="did_web", publicKeyMultibase=key.public_key.to_multikey(), proof=h.pop(key, nonce, aud=ORG_DID)
    )
    status_list = hosted["credential"]["credentialStatus"][0]["statusListCredential"]
    live = {
        "/.well-known/did.json": "/.well-known/did.json",
        "/contexts/did-agents/v1": "/contexts/did-agents/v1",
        "/agents/{agent_id}/did.json": f"/agents/{hosted['id']}/did.json",
        "/status/{list_id}": status_list.removeprefix(BASE_URL),
    }
    for path, url in live.items():
        ((media_type, media),) = spec["paths"][path]["get"]["responses"]["200"]["content"].items()
        response = h.client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media_type
        assert _shape(media["example"]) == _shape(json.loads(response.text)), path
    context = spec["paths"]["/contexts/did-agents/v1"]["get"]["responses"]["200"]["content"][
        "application/ld+json"
    ]
    assert context["example"] == h.client.get("/contexts/did-agents/v1").json()


def _send(h: Harness, method: str, url: str, body: Any, status: int) -> dict[str, Any]:
    response = h.client.request(method, url, json=body, headers=h.admin)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_request_examples_are_accepted_by_the_live_routes(urbanbites: Harness) -> None:
    """Each request example sent as is, in story order; the answer has the shape of the response
    example. Not sent: the second AgentRegistration example (mode did_key) and the KeyRotation
    example, which need proof-of-possession JWS signed over a fresh challenge."""
    h = urbanbites
    spec = _spec(h)

    def exchange(method: str, template: str, url: str, status: int) -> dict[str, Any]:
        answer = _send(h, method, url, _example(spec, method, template), status)
        assert _shape(answer) == _shape(_example(spec, method, template, str(status))), template
        return answer

    exchange("POST", "/agents/challenges", "/agents/challenges", 201)
    agent = exchange("POST", "/agents", "/agents", 201)
    exchange("PATCH", "/agents/{agent_id}", f"/agents/{agent['id']}", 200)
    user = exchange("POST", "/users", "/users", 201)
    exchange("PATCH", "/users/{did}", f"/users/{user['did']}", 200)
    exchange("POST", "/credentials/issue", "/credentials/issue", 201)
    # The StatusUpdate example names the credential the IssueRequest example issues.
    assert exchange("POST", "/credentials/status", "/credentials/status", 200)["status"] == ["revoked"]
