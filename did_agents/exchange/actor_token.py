"""Actor tokens: the acting agent's own signed statement that it is making this exchange.

An actor token (RFC 8693 §2.1 ``actor_token``) is a compact JWS signed by the
agent's DID key. Decisions (also in ``docs/architecture.md``, "Verifier"):

* header ``typ`` is ``actor+jwt`` (explicit typing, RFC 8725 §3.11): an access
  token (``at+jwt``), a VC-JWT or a VP-JWT can never pass as an actor token,
  nor the reverse (SECURITY SEC-09). Plain ``JWT`` is *not* accepted;
* the key is found only through ``kid``, a DID URL of ``iss`` authorized for
  ``authentication`` (``did_agents.proofs.jose.verify_did_jwt``);
* ``iss`` = ``sub`` = the agent DID (RFC 7523 §3 items 1-2, with the agent as
  its own client);
* ``aud`` is exactly the verifier's issuer identifier, as one string — not a
  list, not the token endpoint URL (RFC 7523 §3 item 3; draft-ietf-oauth-rfc7523bis
  audience rules; SECURITY SEC-14);
* ``exp`` and ``iat`` are required NumericDates, ``exp - iat`` ≤ 300 s, ``iat``
  not in the future (RFC 7523 §3 items 4 and 6; SECURITY SEC-13, SEC-18);
* ``jti`` is required (RFC 7523 §3 item 7): the exchange remembers it in the
  replay cache and a second use is refused;
* any ``act`` / ``may_act`` inside is ignored: the minted ``act`` is built from
  the verified chain only (SECURITY SEC-21).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from did_agents import jws
from did_agents.clock import Clock
from did_agents.did.resolver import Resolver
from did_agents.errors import MalformedError, VerificationError
from did_agents.keys import PrivateKey
from did_agents.proofs.jose import verify_did_jwt

__all__ = [
    "ACTOR_TOKEN_TYP",
    "MAX_ACTOR_TOKEN_LIFETIME",
    "ActorToken",
    "sign_actor_token",
    "verify_actor_token",
]

ACTOR_TOKEN_TYP: Final = "actor+jwt"  # noqa: S105 - a media type / URN, not a secret
MAX_ACTOR_TOKEN_LIFETIME: Final = timedelta(seconds=300)
_MAX_JTI_LENGTH: Final = 256
_MAX_ACTOR_TOKEN_LENGTH: Final = 8 * 1024


@dataclass(frozen=True, slots=True)
class ActorToken:
    """A verified actor token: who signed it, its ``jti`` and when it stops being acceptable."""

    agent: str
    jti: str
    expires_at: datetime


def sign_actor_token(
    key: PrivateKey,
    *,
    agent: str,
    verification_method: str,
    audience: str,
    clock: Clock,
    lifetime: timedelta = timedelta(seconds=60),
    jti: str | None = None,
) -> str:
    """An actor token for ``agent`` (its DID) addressed to the verifier ``audience``."""
    if lifetime > MAX_ACTOR_TOKEN_LIFETIME or lifetime <= timedelta(0):
        raise ValueError("an actor token lives between 1 and 300 seconds")
    now = int(clock.now().timestamp())
    claims = {
        "iss": agent,
        "sub": agent,
        "aud": audience,
        "iat": now,
        "exp": now + int(lifetime.total_seconds()),
        "jti": jti or secrets.token_urlsafe(16),
    }
    return jws.sign_compact(claims, key, typ=ACTOR_TOKEN_TYP, kid=verification_method)


async def verify_actor_token(
    token: str,
    *,
    resolver: Resolver,
    clock: Clock,
    audience: str,
    max_lifetime: timedelta = MAX_ACTOR_TOKEN_LIFETIME,
    leeway: timedelta = timedelta(seconds=60),
) -> ActorToken:
    """Verify an actor token (rules in the module docstring).

    Raises a ``DIDAgentsError`` whose ``reason`` says what failed; callers
    answer any of them with RFC 8693 §2.2.2 ``invalid_request``.
    """
    if len(token) > _MAX_ACTOR_TOKEN_LENGTH:
        raise MalformedError("actor token too long", reason="malformed")
    verified = await verify_did_jwt(token, resolver=resolver, typ=ACTOR_TOKEN_TYP)
    claims = verified.document
    agent = claims["iss"]  # verify_did_jwt: iss is the DID of the signing key
    if claims.get("sub") != agent:
        raise VerificationError("actor token sub must equal iss (the agent)", reason="wrong_subject")
    jws.validate_claims(
        claims,
        now=clock.now(),
        expected_iss=agent,
        expected_aud=audience,
        allow_aud_list=False,
        require=("exp", "iat", "jti", "aud"),
        leeway=int(leeway.total_seconds()),
    )
    exp = jws.check_numeric_date(claims, "exp")
    iat = jws.check_numeric_date(claims, "iat")
    assert exp is not None and iat is not None
    if exp - iat > max_lifetime.total_seconds() or exp <= iat:
        raise VerificationError(
            f"actor token lifetime must be at most {int(max_lifetime.total_seconds())} s",
            reason="lifetime_too_long",
        )
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_LENGTH:
        raise MalformedError("actor token jti must be a short non-empty string", reason="bad_claim_type")
    return ActorToken(agent=agent, jti=jti, expires_at=datetime.fromtimestamp(exp, tz=clock.now().tzinfo))
