"""VC-JOSE: credentials and presentations secured as JWTs (W3C VC-JOSE-COSE, VCDM 2.0).

Securing Verifiable Credentials using JOSE and COSE (W3C Recommendation),
§3.1.1 / §3.1.2: the unsecured credential (presentation) *is* the JWS payload;
``typ`` SHOULD be ``vc+jwt`` (``vp+jwt``) and ``cty``, when present, SHOULD be
``vc`` (``vp``). We always send ``typ`` and never ``cty`` (it is optional and
says nothing ``typ`` does not), and we *require* ``typ`` on receipt: explicit
typing keeps the validation rules of VC-JWTs, actor tokens and access tokens
mutually exclusive (RFC 8725 §3.11, SECURITY SEC-09).

Key discovery (§4.1.1, §4.3): ``kid`` MUST be present when the key is expressed
as a DID URL, and it is the only way we find a key: it must be an absolute DID
URL whose DID is the credential's ``issuer`` (the presentation's ``holder``),
resolved through the DID resolver and authorized for ``assertionMethod``
(``authentication``). Header ``jwk``/``jku``/``x5c``… are refused by
:mod:`did_agents.jws`. §4.3 says a controlled-identifier verification method
"MUST be ``JsonWebKey``"; DID methods we resolve (did:key, did:web) also give
``Multikey`` methods, which we accept: the key bytes, not the encoding, are
what the signature binds to (and did:key has no ``JsonWebKey`` form by default).

Claims (§3.1.3, §4.1.2): ``vc`` and ``vp`` MUST NOT be present; ``iss``, if
present, MUST match ``issuer`` (or ``issuer.id``); ``iat``/``exp`` (and ``nbf``)
are about the signature and are honoured with the NumericDate rules of
:func:`did_agents.jws.validate_claims`; ``validFrom``/``validUntil`` are the
credential layer's business.

Presentations and replay: VC-JOSE-COSE defines no challenge/domain binding of
its own. Its §3.1.3 says JWT claims registered with IANA keep their registered
meaning, so we bind a VP-JWT to the verifier with the registered claims
``nonce`` (OpenID Connect Core §2, IANA JWT registry: the verifier's challenge)
and ``aud`` (RFC 7519 §4.1.3: the verifier's domain), as VCDM 1.1 §6.3.1 and
OpenID4VP do. Both are checked by exact string equality; an ``aud`` list is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from did_agents import jws, strict_json
from did_agents.clock import Clock
from did_agents.did.document import Relationship, VerificationMethod, split_did_url
from did_agents.did.resolver import Resolver
from did_agents.errors import MalformedError, VerificationError
from did_agents.keys import PrivateKey

__all__ = [
    "DEFAULT_LEEWAY",
    "ENVELOPED_VC_PREFIX",
    "VC_JWT_TYP",
    "VP_JWT_TYP",
    "VerifiedJOSE",
    "parse_enveloped",
    "sign_vc_jwt",
    "sign_vp_jwt",
    "verify_did_jwt",
    "verify_vc_jwt",
    "verify_vp_jwt",
]

VC_JWT_TYP: Final = "vc+jwt"
VP_JWT_TYP: Final = "vp+jwt"
#: VCDM 2.0 §4.13.1 / VC-JOSE-COSE §3.1.2: an enveloped VC-JWT is a data: URL of this media type.
ENVELOPED_VC_PREFIX: Final = "data:application/vc+jwt,"
ENVELOPED_VC_TYPE: Final = "EnvelopedVerifiableCredential"
CREDENTIALS_V2: Final = "https://www.w3.org/ns/credentials/v2"
#: Clock skew allowed on exp/nbf/iat (SECURITY SEC-34: 60 s).
DEFAULT_LEEWAY: Final = timedelta(seconds=60)
#: VP-JWT lifetime when the holder signs with a clock.
DEFAULT_VP_LIFETIME: Final = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class VerifiedJOSE:
    """A verified JWT: its payload, protected header and the verification method that signed it."""

    document: dict[str, Any]
    header: dict[str, Any]
    verification_method: VerificationMethod


# -- signing ---------------------------------------------------------------------------------


def _party_id(value: Any, member: str) -> str:
    # VCDM 2.0 §4.7 (issuer) / §4.13 (holder): a URL, or an object with an id.
    if isinstance(value, Mapping):
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise MalformedError(f"{member} must be a URL or an object with an id", reason="malformed")
    return value


@functools.lru_cache(maxsize=1024)
def _kid_did(kid: str) -> str:
    """The DID of ``kid``, which must be an absolute DID URL with a fragment (VC-JOSE-COSE §4.3).

    A pure function of ``kid``, which an issuer's tokens share: remembered
    (a refusal raises and is not kept).
    """
    try:
        did, fragment = split_did_url(kid)
    except MalformedError as exc:
        raise VerificationError("kid is not a DID URL", reason="unknown_key") from exc
    if fragment is None:
        raise VerificationError("kid has no fragment", reason="unknown_key")
    return did


def _check_signer(kid: str, document: Mapping[str, Any], member: str) -> None:
    try:
        did = _kid_did(kid)
    except VerificationError as exc:
        raise ValueError(f"kid must be a DID URL with a fragment: {exc.description}") from exc
    if did != _party_id(document.get(member), member):
        raise ValueError(f"kid must name a key of the {member}")


def sign_vc_jwt(credential: Mapping[str, Any], key: PrivateKey, *, kid: str) -> str:
    """Secure ``credential`` as ``application/vc+jwt`` (VC-JOSE-COSE §3.1.1).

    The payload is the credential itself (no ``vc`` claim, no ``iss``: the
    ``issuer`` property says it); header ``{"alg", "typ": "vc+jwt", "kid"}``
    where ``kid`` is the DID URL of the issuer's verification method.
    """
    if "vc" in credential or "vp" in credential:
        raise ValueError("VC-JOSE-COSE §3.1.3: the JWT claims vc and vp MUST NOT be present")
    if "proof" in credential:
        raise ValueError("a credential secured with JOSE carries no embedded proof")
    _check_signer(kid, credential, "issuer")
    return jws.sign_compact(credential, key, typ=VC_JWT_TYP, kid=kid)


def sign_vp_jwt(
    presentation: Mapping[str, Any],
    key: PrivateKey,
    *,
    kid: str,
    nonce: str,
    aud: str,
    clock: Clock | None = None,
    lifetime: timedelta = DEFAULT_VP_LIFETIME,
) -> str:
    """Secure ``presentation`` as ``application/vp+jwt`` (VC-JOSE-COSE §3.1.2).

    ``nonce`` is the verifier's challenge and ``aud`` its domain; both are added
    as JWT claims to (a copy of) the presentation. With a ``clock``, ``iat`` and
    ``exp`` (``iat`` + ``lifetime``) are added as well. ``holder`` must be the DID
    of ``kid``. Embedded credentials must already be secured (enveloped).
    """
    for claim in ("vc", "vp", "nonce", "aud", "iat", "exp", "iss"):
        if claim in presentation:
            raise ValueError(f"presentation already has a {claim!r} member")
    if "proof" in presentation:
        raise ValueError("a presentation secured with JOSE carries no embedded proof")
    _check_signer(kid, presentation, "holder")
    payload: dict[str, Any] = {**presentation, "nonce": nonce, "aud": aud}
    if clock is not None:
        issued = int(clock.now().timestamp())
        payload["iat"] = issued
        payload["exp"] = issued + int(lifetime.total_seconds())
    return jws.sign_compact(payload, key, typ=VP_JWT_TYP, kid=kid)


# -- verification ----------------------------------------------------------------------------


async def _verify_with_kid(
    token: str,
    *,
    resolver: Resolver,
    typ: str | tuple[str, ...],
    relationship: Relationship,
    allow_application_prefix: bool = False,
    iss_is_kid_did: bool = False,
) -> tuple[jws.VerifiedJWS, VerificationMethod, str]:
    parsed = jws.parse_compact(token)
    kid = parsed.header.get("kid")
    if not isinstance(kid, str):  # parse_compact already refused a kid that is present but not a string
        # VC-JOSE-COSE §4.1.1: kid MUST be present when the key is expressed as a DID URL.
        raise VerificationError("JWT has no kid", reason="unknown_key")
    did = _kid_did(kid)
    # Cheapest refusals first: a token of the wrong type never reaches DID resolution (which may fetch).
    jws.check_typ(parsed.header, typ, allow_application_prefix=allow_application_prefix)
    if iss_is_kid_did:
        # RFC 8725 §3.10: a kid that is not a key of the claimed issuer is refused before its DID is
        # resolved, so a token cannot make us fetch a DID document it could never verify with
        # (SECURITY SEC-06, NEG-INV 4). The signature and the verified iss are checked again below.
        unverified = (
            strict_json.loads(parsed.payload, max_bytes=jws.DEFAULT_MAX_TOKEN_LENGTH)
            if parsed.payload.lstrip(b" \t\r\n").startswith(b"{")
            else None
        )
        if (
            isinstance(unverified, dict)
            and isinstance(unverified.get("iss"), str)
            and unverified["iss"] != did
        ):
            raise VerificationError("JWT iss is not the DID of its signing key", reason="wrong_issuer")
    vm = await resolver.verification_method(kid, relationship)
    verified = jws.verify_parsed(
        parsed, vm.public_key, typ=typ, allow_application_prefix=allow_application_prefix
    )
    if verified.claims is None:
        raise MalformedError("JWT payload is not a JSON object", reason="malformed")
    return verified, vm, did


_TIME_CLAIMS: Final = ("exp", "nbf", "iat")


def _check_time_claims(claims: Mapping[str, Any], clock: Clock, leeway: timedelta) -> None:
    times = {name: claims[name] for name in _TIME_CLAIMS if name in claims}
    if times:  # a credential without JWT time claims has nothing to check here
        jws.validate_claims(times, now=clock.now(), require=(), leeway=int(leeway.total_seconds()))


def _has_type(document: Mapping[str, Any], wanted: str) -> bool:
    value = document.get("type")
    return value == wanted or (isinstance(value, list) and wanted in value)


def _check_no_vc_vp(claims: Mapping[str, Any]) -> None:
    # VC-JOSE-COSE §1.1.2.1 / §3.1.3: "The JWT Claim Names vc and vp MUST NOT be present".
    if "vc" in claims or "vp" in claims:
        raise MalformedError("a VC-JOSE payload must not carry a vc or vp claim", reason="malformed")


def _check_iss(claims: Mapping[str, Any], party: str) -> None:
    # VC-JOSE-COSE §4.1.2: iss, if present, MUST match issuer (issuer.id).
    if "iss" in claims and claims["iss"] != party:
        raise VerificationError("JWT iss does not match the document", reason="wrong_issuer")


async def verify_vc_jwt(
    token: str, *, resolver: Resolver, clock: Clock, leeway: timedelta = DEFAULT_LEEWAY
) -> VerifiedJOSE:
    """Verify an ``application/vc+jwt`` (VC-JOSE-COSE §5.1, RFC 7519 §7.2).

    Checks: strict JWS (``typ`` ``vc+jwt``), ``kid`` a DID URL of the issuer
    authorized for ``assertionMethod``, signature, ``iss`` = issuer, no
    ``vc``/``vp`` claims, JWT ``exp``/``nbf``/``iat``. Does *not* check the
    credential's data model, ``validFrom``/``validUntil`` or status.
    """
    verified, vm, did = await _verify_with_kid(
        token,
        resolver=resolver,
        typ=VC_JWT_TYP,
        relationship="assertionMethod",
        allow_application_prefix=True,  # RFC 7515 §4.1.9: "vc+jwt" is short for "application/vc+jwt"
    )
    claims = verified.claims
    assert claims is not None
    _check_no_vc_vp(claims)
    if not _has_type(claims, "VerifiableCredential"):
        raise MalformedError("a vc+jwt payload must be a VerifiableCredential", reason="malformed")
    issuer = _party_id(claims.get("issuer"), "issuer")
    if did != issuer:
        raise VerificationError("the signing key is not the issuer's", reason="wrong_issuer")
    _check_iss(claims, issuer)
    _check_time_claims(claims, clock, leeway)
    return VerifiedJOSE(document=claims, header=verified.header, verification_method=vm)


async def verify_vp_jwt(
    token: str,
    *,
    resolver: Resolver,
    clock: Clock,
    challenge: str,
    domain: str,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> VerifiedJOSE:
    """Verify an ``application/vp+jwt`` bound to ``challenge`` (``nonce``) and ``domain`` (``aud``).

    Checks: strict JWS (``typ`` ``vp+jwt``), ``kid`` a DID URL of the
    ``holder`` authorized for ``authentication``, signature, ``nonce`` ==
    ``challenge`` and ``aud`` == ``domain`` exactly, ``iss`` = holder if present,
    JWT time claims. Embedded credentials are *not* verified here: the
    presentation layer unwraps them with :func:`parse_enveloped` and verifies each.
    """
    if not challenge or not domain:
        raise ValueError("a presentation must be bound to a challenge and a domain")
    verified, vm, did = await _verify_with_kid(
        token,
        resolver=resolver,
        typ=VP_JWT_TYP,
        relationship="authentication",
        allow_application_prefix=True,
    )
    claims = verified.claims
    assert claims is not None
    _check_no_vc_vp(claims)
    if not _has_type(claims, "VerifiablePresentation"):
        raise MalformedError("a vp+jwt payload must be a VerifiablePresentation", reason="malformed")
    if "holder" not in claims:
        raise VerificationError("a vp+jwt must name its holder", reason="wrong_holder")
    holder = _party_id(claims["holder"], "holder")
    if did != holder:
        raise VerificationError("the signing key is not the holder's", reason="wrong_holder")
    _check_iss(claims, holder)
    nonce = claims.get("nonce")
    if "nonce" in claims and not isinstance(nonce, str):
        raise MalformedError("JWT claim nonce is not a string", reason="bad_claim_type")
    if nonce != challenge:
        raise VerificationError("presentation is not bound to this challenge", reason="wrong_challenge")
    jws.validate_claims(
        claims, now=clock.now(), expected_aud=domain, require=(), leeway=int(leeway.total_seconds())
    )
    return VerifiedJOSE(document=claims, header=verified.header, verification_method=vm)


def parse_enveloped(obj: Any) -> str:
    """The VC-JWT inside an ``EnvelopedVerifiableCredential`` (VCDM 2.0 §4.13.1).

    ``{"@context": …v2…, "type": "EnvelopedVerifiableCredential",
    "id": "data:application/vc+jwt,<jwt>"}`` → ``<jwt>`` (unverified; pass it to
    :func:`verify_vc_jwt`). Other media types are refused.
    """
    if not isinstance(obj, Mapping):
        raise MalformedError("an enveloped credential must be an object", reason="malformed")
    if not _has_type(obj, ENVELOPED_VC_TYPE):
        raise MalformedError("not an EnvelopedVerifiableCredential", reason="malformed")
    context = obj.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    if first != CREDENTIALS_V2:
        raise MalformedError("an enveloped credential needs the VCDM 2.0 base context", reason="malformed")
    value = obj.get("id")
    if not isinstance(value, str) or not value.startswith("data:"):
        raise MalformedError("an enveloped credential id must be a data: URL", reason="malformed")
    if not value.startswith(ENVELOPED_VC_PREFIX):
        raise MalformedError(
            "only application/vc+jwt enveloped credentials are supported", reason="unsupported_envelope"
        )
    token = value[len(ENVELOPED_VC_PREFIX) :]
    if token.count(".") != 2:
        raise MalformedError("enveloped credential is not a compact JWS", reason="malformed")
    return token


async def verify_did_jwt(
    token: str,
    *,
    resolver: Resolver,
    typ: str | tuple[str, ...],
    relationship: Relationship = "authentication",
) -> VerifiedJOSE:
    """Verify a JWT signed by a DID key (actor tokens and the like).

    The key is found only through ``kid``, which must be a DID URL authorized
    for ``relationship`` in its DID document; header ``jwk`` etc. are refused.
    The ``iss`` claim is required and must be the DID of ``kid`` (RFC 8725
    §3.10: the key must be bound to the claimed issuer). Other claims (``aud``,
    ``exp``, ``jti``…) are left to the caller: :func:`did_agents.jws.validate_claims`.
    """
    verified, vm, did = await _verify_with_kid(
        token, resolver=resolver, typ=typ, relationship=relationship, iss_is_kid_did=True
    )
    claims = verified.claims
    assert claims is not None
    iss = claims.get("iss")
    if not isinstance(iss, str):
        raise MalformedError("JWT claim iss is missing or not a string", reason="bad_claim_type")
    if iss != did:
        raise VerificationError("JWT iss is not the DID of its signing key", reason="wrong_issuer")
    return VerifiedJOSE(document=claims, header=verified.header, verification_method=vm)
