"""Proof of possession for agent onboarding (DESIGN §3; SECURITY SEC-52).

1. An operator asks the issuer for a challenge (:func:`issue_challenge`): 256
   random bits, single use, expiring (default 5 minutes), optionally bound to
   the DID that will use it.
2. The agent signs a compact JWS with the key behind the DID it registers::

       header  {"alg": "EdDSA" | "ES256", "typ": "did-agents-pop+jwt", "kid": <verification method>}
       claims  {"iss": <agent DID, or omitted for a hosted did:web>, "aud": <organization DID>,
                "nonce": <challenge>, "iat": ..., "exp": ...}

3. :func:`verify_possession` checks the signature with *that* key (never a key
   named by the token, RFC 8725 §3.10), the audience, the time claims
   (RFC 7519 §4.1.4-4.1.6) and spends the challenge atomically — in the
   registration's transaction, so a refused registration leaves it unspent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from did_agents import jws
from did_agents.errors import MalformedError, VerificationError
from did_agents.keys import PublicKey
from did_agents.storage.challenges import Challenge, ChallengeRepository

__all__ = ["CHALLENGE_PURPOSE", "POP_TYP", "issue_challenge", "verify_possession"]

POP_TYP: Final = "did-agents-pop+jwt"
CHALLENGE_PURPOSE: Final = "agent_onboarding"
_MAX_POP_LENGTH: Final = 8 * 1024
_LEEWAY_SECONDS: Final = 60
_MAX_LIFETIME_SECONDS: Final = 600


def issue_challenge(
    conn: Connection, *, domain: str, ttl_seconds: float, now: datetime, did: str | None
) -> Challenge:
    """A fresh onboarding challenge for the organization ``domain`` (its DID)."""
    return ChallengeRepository(conn).issue(
        purpose=CHALLENGE_PURPOSE, domain=domain, ttl=timedelta(seconds=ttl_seconds), now=now, client_id=did
    )


def verify_possession(
    conn: Connection,
    proof: object,
    public_key: PublicKey,
    *,
    audience: str,
    now: datetime,
    did: str | None,
) -> Challenge:
    """Check the proof-of-possession JWS and spend its challenge (see module doc).

    Refusals: ``MalformedError``/``VerificationError`` from :mod:`did_agents.jws`
    (``bad_signature`` for a proof by another key), ``wrong_audience``,
    ``wrong_issuer``, ``expired``, ``challenge_unknown``/``challenge_spent``/
    ``challenge_expired``/``challenge_mismatch``.
    """
    if not isinstance(proof, str) or not proof:
        raise MalformedError("proof must be a compact JWS string", reason="missing_proof")
    verified = jws.verify_compact(proof, public_key, typ=POP_TYP, max_length=_MAX_POP_LENGTH)
    claims = verified.claims
    if claims is None:
        raise MalformedError("the proof's payload must be a JSON object", reason="malformed")
    jws.validate_claims(
        claims, now=now, expected_aud=audience, require=("exp", "iat", "aud"), leeway=_LEEWAY_SECONDS
    )
    if claims["exp"] - claims["iat"] > _MAX_LIFETIME_SECONDS:
        raise VerificationError("the proof is valid for too long", reason="proof_lifetime")
    if did is not None and claims.get("iss") != did:
        raise VerificationError("the proof's iss is not the registered DID", reason="wrong_issuer")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str):
        raise MalformedError("the proof has no nonce", reason="missing_claim")
    # A challenge bound to a DID is spendable for that DID only (the repository checks it).
    return ChallengeRepository(conn).spend(
        nonce, now, purpose=CHALLENGE_PURPOSE, domain=audience, client_id=did
    )
