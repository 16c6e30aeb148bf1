"""Verification (never issuance) of VCDM 1.1 credentials and presentations.

So that credentials from existing wallets (SpruceID didkit and its peers) are
accepted, this module verifies three VCDM 1.1 securing mechanisms:

* ``Ed25519Signature2018`` (W3C CCG "Ed25519 Signature 2018"): a detached JWS
  with ``{"alg":"EdDSA","b64":false,"crit":["b64"]}`` (RFC 7797) over the
  concatenated SHA-256 hashes of the URDNA2015 canonical proof options and
  document. This is the only place an unencoded payload is legal, and only the
  exact header of this suite is accepted; :mod:`did_agents.jws` stays strict.
* ``Ed25519Signature2020`` (W3C CCG "Ed25519 Signature 2020"): the same hashes,
  signed directly, ``proofValue`` a multibase base58-btc signature.
* VC-JWT (VCDM 1.1 §6.3.1): a JWS whose ``vc`` / ``vp`` claim holds the
  credential / presentation, with registered claims mapped per §6.3.1.

Linked Data proofs (both suites, "Create Verify Hash" of LD Proofs / the
suite specs): ``verifyData = SHA-256(c14n(proof options)) ||
SHA-256(c14n(document without proof))`` where the proof options are the proof
without ``jws``/``proofValue``, under the proof's own ``@context`` when it has
one (didkit adds the ed25519-2020 context there) and the document's otherwise.
Canonicalization runs in JSON-LD safe mode with only bundled contexts
(:mod:`did_agents.jsonld`): a term that would be silently dropped is refused.

Beyond the signature, we check: ``proofPurpose`` (``assertionMethod`` for
credentials, ``authentication`` for presentations), that the verification
method is the issuer's (holder's) and authorized for that purpose in its DID
document, the proof's ``created``/``expires``, ``challenge``/``domain`` of
presentation proofs, the VCDM 1.1 ``issuanceDate``/``expirationDate`` window,
and, for presentations, *every* embedded credential (didkit's own
``verify_presentation`` does not look inside).
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from did_agents import jws, multibase, strict_json
from did_agents.clock import Clock, format_datetime, parse_datetime
from did_agents.did.document import Relationship, VerificationMethod, split_did_url
from did_agents.did.resolver import Resolver
from did_agents.errors import InputTooLargeError, MalformedError, SignatureError, VerificationError
from did_agents.jsonld import canonicalize
from did_agents.keys import KeyType

__all__ = [
    "CREDENTIALS_V1",
    "DEFAULT_LEEWAY",
    "MAX_PRESENTED_CREDENTIALS",
    "SUPPORTED_PROOF_TYPES",
    "LegacyFormat",
    "VerifiedLegacy",
    "verify_jwt_credential",
    "verify_ldp_credential",
    "verify_legacy_credential",
    "verify_legacy_presentation",
]

#: VCDM 1.1 §4.1: the first @context item.
CREDENTIALS_V1: Final = "https://www.w3.org/2018/credentials/v1"
ED25519_2018: Final = "Ed25519Signature2018"
ED25519_2020: Final = "Ed25519Signature2020"
SUPPORTED_PROOF_TYPES: Final = frozenset({ED25519_2018, ED25519_2020})
#: The one JWS header Ed25519Signature2018 uses (RFC 7797 §3, §6: b64 must be listed in crit).
_DETACHED_HEADER: Final = {"alg": "EdDSA", "b64": False, "crit": ["b64"]}
#: DESIGN §10: bounded number of credentials in a presentation.
MAX_PRESENTED_CREDENTIALS: Final = 32
#: SECURITY SEC-34: clock skew tolerated on every time check.
DEFAULT_LEEWAY: Final = timedelta(seconds=60)

LegacyFormat = Literal["Ed25519Signature2018", "Ed25519Signature2020", "jwt-1.1"]


@dataclass(frozen=True, slots=True)
class VerifiedLegacy:
    """A verified VCDM 1.1 credential or presentation.

    ``document`` is the credential (presentation); for VC-JWTs it is rebuilt
    from the claims per VCDM 1.1 §6.3.1 "JWT decoding". ``issuer`` is the
    credential's issuer or the presentation's holder. ``credentials`` holds the
    verified embedded credentials of a presentation, in order.
    """

    document: dict[str, Any]
    format: LegacyFormat
    issuer: str
    verification_method: VerificationMethod
    credentials: tuple[VerifiedLegacy, ...] = ()


# -- shared checks -----------------------------------------------------------------------------


def _party(value: Any, member: str) -> str:
    # VCDM 1.1 §4.7 issuer / §4.10 holder: a URI, or an object with an id.
    if isinstance(value, Mapping):
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise MalformedError(f"{member} must be a URI or an object with an id", reason="malformed")
    return value


def _has_type(document: Mapping[str, Any], wanted: str) -> bool:
    value = document.get("type")
    return value == wanted or (isinstance(value, list) and wanted in value)


def _check_context(document: Mapping[str, Any]) -> None:
    # VCDM 1.1 §4.1: "The value of the @context property MUST be an ordered set where the
    # first item is a URI with the value https://www.w3.org/2018/credentials/v1."
    context = document.get("@context")
    if not isinstance(context, list) or not context or context[0] != CREDENTIALS_V1:
        raise MalformedError(
            "a VCDM 1.1 document must start its @context with credentials/v1", reason="malformed"
        )


def _datetime(value: Any, member: str) -> datetime:
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise MalformedError(
            f"{member} is not an XML Schema dateTime with a time zone", reason="malformed"
        ) from exc


def _check_credential(document: Mapping[str, Any], now: datetime, leeway: timedelta) -> str:
    """VCDM 1.1 credential rules that matter for trusting it; returns the issuer."""
    _check_context(document)
    if not _has_type(document, "VerifiableCredential"):
        raise MalformedError("not a VerifiableCredential", reason="malformed")
    issuer = _party(document.get("issuer"), "issuer")
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping | list) or not subject:
        raise MalformedError("credentialSubject is required", reason="malformed")
    # VCDM 1.1 §4.7: "A credential MUST have an issuanceDate property" (when it becomes valid).
    if "issuanceDate" not in document:
        raise MalformedError("issuanceDate is required", reason="malformed")
    if now + leeway < _datetime(document["issuanceDate"], "issuanceDate"):
        raise VerificationError("credential is not yet valid (issuanceDate)", reason="not_yet_valid")
    # VCDM 1.1 §4.8: expirationDate, if present, is when the credential ceases to be valid.
    if "expirationDate" in document and now - leeway >= _datetime(
        document["expirationDate"], "expirationDate"
    ):
        raise VerificationError("credential has expired (expirationDate)", reason="expired")
    return issuer


def _kid_did(vm_url: Any) -> str:
    if not isinstance(vm_url, str):
        raise VerificationError("verification method must be a DID URL", reason="unknown_key")
    try:
        did, fragment = split_did_url(vm_url)
    except MalformedError as exc:
        raise VerificationError("verification method is not a DID URL", reason="unknown_key") from exc
    if fragment is None:
        raise VerificationError("verification method has no fragment", reason="unknown_key")
    return did


# -- Linked Data proofs ------------------------------------------------------------------------------


def _single_proof(document: Mapping[str, Any]) -> Mapping[str, Any]:
    proof = document.get("proof")
    if isinstance(proof, list):
        # Proof sets/chains are not supported: one proof, or refuse (SECURITY SEC-54).
        if len(proof) != 1:
            raise VerificationError("exactly one proof is supported", reason="unsupported_proof")
        proof = proof[0]
    if not isinstance(proof, Mapping):
        raise VerificationError("the document has no proof", reason="missing_proof")
    return proof


def _sha256(document: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(canonicalize(document, safe=True).encode("utf-8")).digest()


def _verify_data(document: Mapping[str, Any], proof: Mapping[str, Any]) -> bytes:
    # LD Proofs "Create Verify Hash": hash(c14n(proof options)) || hash(c14n(document)).
    options = {k: v for k, v in proof.items() if k not in ("jws", "proofValue", "signatureValue")}
    if "@context" not in options:
        options = {"@context": document["@context"], **options}
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    return _sha256(options) + _sha256(unsigned)


def _check_detached_jws(value: Any) -> tuple[bytes, bytes]:
    """``(encoded header bytes, signature)`` of an Ed25519Signature2018 detached JWS."""
    if not isinstance(value, str):
        raise MalformedError("proof.jws must be a string", reason="malformed")
    parts = value.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise MalformedError("proof.jws must be a detached JWS (header..signature)", reason="malformed")
    header = strict_json.loads(multibase.b64url_decode(parts[0]), max_bytes=1024, max_depth=4)
    if not isinstance(header, dict):
        raise MalformedError("proof.jws header is not a JSON object", reason="malformed")
    if header.get("alg") != "EdDSA":
        raise VerificationError("Ed25519Signature2018 requires alg EdDSA", reason="alg_not_allowed")
    # RFC 7797 §6: b64 must be understood, so it must be in crit; nothing else is understood here.
    if header != _DETACHED_HEADER:
        raise VerificationError(
            "Ed25519Signature2018 accepts only the header {alg: EdDSA, b64: false, crit: [b64]}",
            reason="header_not_allowed",
        )
    return parts[0].encode("ascii"), multibase.b64url_decode(parts[2])


async def _verify_ld_proof(
    document: Mapping[str, Any],
    *,
    party: str,
    purpose: Relationship,
    resolver: Resolver,
    now: datetime,
    leeway: timedelta,
    challenge: str | None = None,
    domain: str | None = None,
) -> tuple[VerificationMethod, LegacyFormat]:
    proof = _single_proof(document)
    suite = proof.get("type")
    if suite not in SUPPORTED_PROOF_TYPES:
        raise VerificationError(
            f"proof type {str(suite)[:64]!r} is not supported", reason="unsupported_proof_type"
        )
    # SECURITY SEC-26: assertionMethod for credentials, authentication for presentations.
    if proof.get("proofPurpose") != purpose:
        raise VerificationError(f"proofPurpose must be {purpose}", reason="wrong_purpose")
    vm_url = proof.get("verificationMethod")
    # SECURITY SEC-27: the verification method must belong to the issuer (holder).
    if _kid_did(vm_url) != party:
        reason = "wrong_issuer" if purpose == "assertionMethod" else "wrong_holder"
        raise VerificationError("the proof's verification method is not the signer's", reason=reason)
    if "created" not in proof:
        raise MalformedError("proof.created is required", reason="malformed")
    if _datetime(proof["created"], "proof.created") > now + leeway:
        raise VerificationError("proof was created in the future", reason="not_yet_valid")
    if "expires" in proof and now - leeway >= _datetime(proof["expires"], "proof.expires"):
        raise VerificationError("proof has expired", reason="expired")
    if challenge is not None and proof.get("challenge") != challenge:
        raise VerificationError("proof is not bound to this challenge", reason="wrong_challenge")
    if domain is not None and proof.get("domain") != domain:
        raise VerificationError("proof is not bound to this domain", reason="wrong_domain")
    assert isinstance(vm_url, str)
    vm = await resolver.verification_method(vm_url, purpose)
    if vm.public_key.key_type is not KeyType.ED25519:
        raise VerificationError(f"{suite} needs an Ed25519 key", reason="alg_key_mismatch")
    if suite == ED25519_2018:
        encoded_header, signature = _check_detached_jws(proof.get("jws"))
        message = encoded_header + b"." + _verify_data(document, proof)
    else:
        value = proof.get("proofValue")
        if not isinstance(value, str) or not value.startswith("z"):
            raise MalformedError("proofValue must be multibase base58-btc", reason="malformed")
        signature = multibase.decode(value)
        message = _verify_data(document, proof)
    try:
        vm.public_key.verify(signature, message)
    except SignatureError as exc:
        raise SignatureError(f"{suite} signature does not verify", reason="bad_signature") from exc
    return vm, suite


# -- VC-JWT (VCDM 1.1 §6.3.1) --------------------------------------------------------------------------


def _numeric_date(claims: Mapping[str, Any], name: str, *, upper: bool) -> int | None:
    """A NumericDate that may be fractional (RFC 7519 §2; didkit writes ``1767225600.0``).

    Rounded towards the stricter side: ``exp`` down, ``nbf``/``iat`` up.
    Booleans, strings, non-finite and out-of-range values are refused.
    """
    if name not in claims:
        return None
    value = claims[name]
    if type(value) is float:
        if not math.isfinite(value) or not 0 <= value < jws.MAX_NUMERIC_DATE:
            raise MalformedError(f"JWT claim {name} is not a NumericDate", reason="bad_claim_type")
        return math.ceil(value) if upper else math.floor(value)
    return jws.check_numeric_date(claims, name)


def _time_claims(claims: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, upper in (("exp", False), ("nbf", True), ("iat", True)):
        value = _numeric_date(claims, name, upper=upper)
        if value is not None:
            out[name] = value
    return out


def _map_claim(document: dict[str, Any], member: str, value: Any, *, current: Any = None) -> None:
    # VCDM 1.1 §6.3.1 "JWT decoding": the claim MUST be used to set the property. Where the
    # property is also present, the two must agree: two different answers are refused.
    if member not in document:
        document[member] = value
    elif (current if current is not None else document[member]) != value:
        raise VerificationError(f"JWT claim and {member} disagree", reason="claim_mismatch")


def _map_date(document: dict[str, Any], member: str, timestamp: int | None) -> None:
    if timestamp is None:
        return
    if member not in document:
        document[member] = format_datetime(datetime.fromtimestamp(timestamp, UTC))
        return
    if int(_datetime(document[member], member).timestamp()) != timestamp:
        raise VerificationError(f"JWT time claim and {member} disagree", reason="claim_mismatch")


async def _verify_jwt(
    token: str, *, member: str, purpose: Relationship, resolver: Resolver
) -> tuple[dict[str, Any], VerificationMethod, str]:
    parsed = jws.parse_compact(token)
    vm_url = parsed.header.get("kid")
    if vm_url is None:
        raise VerificationError("JWT has no kid", reason="unknown_key")
    did = _kid_did(vm_url)
    # VCDM 1.1 §6.3.1: "typ, if present, MUST be set to JWT" (checked before any DID resolution).
    jws.check_typ(parsed.header, "JWT", typ_optional=True)
    vm = await resolver.verification_method(vm_url, purpose)
    verified = jws.verify_parsed(parsed, vm.public_key, typ="JWT", typ_optional=True)
    claims = verified.claims
    if claims is None or not isinstance(claims.get(member), dict):
        raise MalformedError(f"a VCDM 1.1 JWT needs a {member} claim object", reason="malformed")
    if ("vp" if member == "vc" else "vc") in claims:
        raise MalformedError("a JWT carries either vc or vp, not both", reason="malformed")
    # §6.3.1: iss MUST represent the issuer (holder); it must be the signing key's DID.
    iss = claims.get("iss")
    if not isinstance(iss, str):
        raise MalformedError("JWT claim iss is missing or not a string", reason="bad_claim_type")
    if iss != did:
        raise VerificationError("JWT iss is not the DID of its signing key", reason="wrong_issuer")
    return claims, vm, did


async def verify_jwt_credential(
    token: str, *, resolver: Resolver, clock: Clock, leeway: timedelta = DEFAULT_LEEWAY
) -> VerifiedLegacy:
    """Verify a VCDM 1.1 VC-JWT and return the credential decoded per §6.3.1."""
    claims, vm, did = await _verify_jwt(token, member="vc", purpose="assertionMethod", resolver=resolver)
    now = clock.now()
    times = _time_claims(claims)
    jws.validate_claims(times, now=now, require=(), leeway=int(leeway.total_seconds()))
    credential: dict[str, Any] = copy.deepcopy(claims["vc"])
    _map_claim(
        credential,
        "issuer",
        did,
        current=_party(credential["issuer"], "issuer") if "issuer" in credential else None,
    )
    _map_date(credential, "issuanceDate", times.get("nbf"))
    _map_date(credential, "expirationDate", times.get("exp"))
    if "jti" in claims:
        _map_claim(credential, "id", claims["jti"])
    if "sub" in claims:
        subject = credential.get("credentialSubject")
        if not isinstance(subject, dict):
            raise MalformedError("sub needs a single credentialSubject object", reason="malformed")
        _map_claim(subject, "id", claims["sub"])
    issuer = _check_credential(credential, now, leeway)
    return VerifiedLegacy(document=credential, format="jwt-1.1", issuer=issuer, verification_method=vm)


async def verify_ldp_credential(
    document: Mapping[str, Any], *, resolver: Resolver, clock: Clock, leeway: timedelta = DEFAULT_LEEWAY
) -> VerifiedLegacy:
    """Verify a VCDM 1.1 credential secured with Ed25519Signature2018 or Ed25519Signature2020."""
    if not isinstance(document, Mapping):
        raise MalformedError("a credential must be a JSON object", reason="malformed")
    now = clock.now()
    issuer = _check_credential(document, now, leeway)
    vm, suite = await _verify_ld_proof(
        document, party=issuer, purpose="assertionMethod", resolver=resolver, now=now, leeway=leeway
    )
    return VerifiedLegacy(document=dict(document), format=suite, issuer=issuer, verification_method=vm)


async def verify_legacy_credential(
    doc_or_jwt: Mapping[str, Any] | str,
    *,
    resolver: Resolver,
    clock: Clock,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> VerifiedLegacy:
    """Verify a VCDM 1.1 credential: a JSON-LD document with an Ed25519 LD proof, or a VC-JWT."""
    if isinstance(doc_or_jwt, str):
        return await verify_jwt_credential(doc_or_jwt, resolver=resolver, clock=clock, leeway=leeway)
    return await verify_ldp_credential(doc_or_jwt, resolver=resolver, clock=clock, leeway=leeway)


# -- presentations -------------------------------------------------------------------------------------


async def _embedded(
    presentation: Mapping[str, Any], *, resolver: Resolver, clock: Clock, leeway: timedelta
) -> tuple[VerifiedLegacy, ...]:
    entries = presentation.get("verifiableCredential", [])
    if not isinstance(entries, list):
        entries = [entries]
    if len(entries) > MAX_PRESENTED_CREDENTIALS:
        raise InputTooLargeError(f"more than {MAX_PRESENTED_CREDENTIALS} credentials in a presentation")
    verified = []
    for entry in entries:
        if not isinstance(entry, Mapping | str):
            raise MalformedError("verifiableCredential entries must be objects or JWTs", reason="malformed")
        verified.append(await verify_legacy_credential(entry, resolver=resolver, clock=clock, leeway=leeway))
    return tuple(verified)


def _check_presentation(document: Mapping[str, Any]) -> str:
    _check_context(document)
    if not _has_type(document, "VerifiablePresentation"):
        raise MalformedError("not a VerifiablePresentation", reason="malformed")
    # VCDM 1.1 makes holder optional; we need it to bind the proof to someone (SECURITY SEC-33).
    if "holder" not in document:
        raise VerificationError("a presentation must name its holder", reason="wrong_holder")
    return _party(document["holder"], "holder")


async def verify_legacy_presentation(
    doc_or_jwt: Mapping[str, Any] | str,
    *,
    resolver: Resolver,
    clock: Clock,
    challenge: str,
    domain: str,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> VerifiedLegacy:
    """Verify a VCDM 1.1 presentation and *every* credential in it.

    JSON-LD: an ``authentication`` Ed25519Signature2018/2020 proof by the
    holder with ``challenge`` and ``domain`` equal to the expected values.
    VP-JWT (§6.3.1): ``iss`` = holder = the ``kid`` DID, ``nonce`` =
    ``challenge``, ``aud`` = ``domain`` (one string).
    """
    if not challenge or not domain:
        raise ValueError("a presentation must be bound to a challenge and a domain")
    now = clock.now()
    if isinstance(doc_or_jwt, str):
        claims, vm, did = await _verify_jwt(
            doc_or_jwt, member="vp", purpose="authentication", resolver=resolver
        )
        nonce = claims.get("nonce")
        if "nonce" in claims and not isinstance(nonce, str):
            raise MalformedError("JWT claim nonce is not a string", reason="bad_claim_type")
        if nonce != challenge:
            raise VerificationError("presentation is not bound to this challenge", reason="wrong_challenge")
        checked: dict[str, Any] = _time_claims(claims)
        if "aud" in claims:
            checked["aud"] = claims["aud"]
        # §6.3.1: aud MUST identify the intended audience (the verifier): exactly our domain.
        jws.validate_claims(
            checked,
            now=now,
            expected_aud=domain,
            require=(),
            leeway=int(leeway.total_seconds()),
        )
        document: dict[str, Any] = copy.deepcopy(claims["vp"])
        _map_claim(
            document,
            "holder",
            did,
            current=_party(document["holder"], "holder") if "holder" in document else None,
        )
        if "jti" in claims:
            _map_claim(document, "id", claims["jti"])
        holder = _check_presentation(document)
        fmt: LegacyFormat = "jwt-1.1"
    else:
        if not isinstance(doc_or_jwt, Mapping):
            raise MalformedError("a presentation must be a JSON object or a JWT", reason="malformed")
        document = dict(doc_or_jwt)
        holder = _check_presentation(document)
        vm, fmt = await _verify_ld_proof(
            document,
            party=holder,
            purpose="authentication",
            resolver=resolver,
            now=now,
            leeway=leeway,
            challenge=challenge,
            domain=domain,
        )
    credentials = await _embedded(document, resolver=resolver, clock=clock, leeway=leeway)
    return VerifiedLegacy(
        document=document, format=fmt, issuer=holder, verification_method=vm, credentials=credentials
    )
