"""``GET /.well-known/oauth-authorization-server``: RFC 8414 authorization server metadata.

Besides the RFC 8414 §2 members, the token types of RFC 8693 are listed under
extension names (``subject_token_types_supported``, ``actor_token_types_supported``,
``issued_token_types_supported``) and the challenge endpoint under
``challenge_endpoint``. There is no authorization endpoint (yet: DESIGN §11),
so ``response_types_supported`` is empty.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from did_agents.exchange import (
    ACCESS_TOKEN_TYPE,
    GRANT_TYPE_TOKEN_EXCHANGE,
    JWT_TOKEN_TYPE,
    VP_TOKEN_TYPE,
)
from verifier.deps import VerifierDep

__all__ = ["router"]

router = APIRouter(tags=["metadata"])


@router.get("/.well-known/oauth-authorization-server", summary="RFC 8414 metadata")
def metadata(verifier: VerifierDep) -> JSONResponse:
    issuer = verifier.exchange.config.issuer
    policy = verifier.exchange.policy
    scopes = sorted({s for r in policy.resources for s in (r.scopes or ())})
    body = {
        # RFC 8414 §2 / §3.3: issuer is identical to the identifier the metadata was fetched for.
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "challenge_endpoint": f"{issuer}/challenges",
        "grant_types_supported": [GRANT_TYPE_TOKEN_EXCHANGE],
        "response_types_supported": [],
        # Clients prove who they are with the presentation and actor token, not a secret.
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": scopes,
        "subject_token_types_supported": [VP_TOKEN_TYPE, JWT_TOKEN_TYPE],
        "actor_token_types_supported": [JWT_TOKEN_TYPE],
        "issued_token_types_supported": [ACCESS_TOKEN_TYPE],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256"],
        "resource_indicators_supported": True,
    }
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})
