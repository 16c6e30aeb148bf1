"""The subject token's presentation: its holder proof every time, its credentials through a cache.

:func:`verify_subject_presentation` applies the rules of
``did_agents.credentials.verify.verify_presentation`` to the VCDM 2.0
presentations the token exchange accepts (Data Integrity JSON, ``vp+jwt``),
with two differences that make a repeated exchange cheap:

* every embedded credential is verified by an injected ``CredentialVerifier``
  (the exchange's :class:`~did_agents.exchange.credential_cache.VerifiedCredentialCache`),
  so an unchanged delegation is not canonicalized and signature-checked again;
* the JSON-LD safe-mode check of the presentation's *own* terms (VC-DI §2.4.1
  "Validating Contexts", SECURITY SEC-29/30) is remembered by the exact
  content it checks: the presentation without ``verifiableCredential``,
  ``proof`` and JWT claims, which is the same at every exchange of one agent
  (``@context``, ``type``, ``holder``). Expansion is a function of that content
  and the bundled contexts, so equal content gives the same verdict.

The holder proof (purpose ``authentication``, the verifier's challenge and
domain), the data model, the context allowlist and the holder binding are
checked on every call. Any problem with the presentation itself raises
``VerificationError`` with reason ``presentation_<code>`` (the code as
``verify_presentation`` names it); problems of embedded credentials are left
in the returned results for the chain's rule 1, which names them better.
``tests/exchange/test_presentation.py`` checks the verdicts against
``verify_presentation`` on valid and invalid presentations.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

from did_agents import multibase, strict_json
from did_agents.clock import Clock, FixedClock
from did_agents.credentials.model import (
    CREDENTIALS_V1_CONTEXT,
    ENVELOPED_CREDENTIAL_TYPE,
    Presentation,
    as_list,
    has_type,
    validate_credential,
    validate_presentation,
)
from did_agents.credentials.verify import Problem, VerificationResult
from did_agents.delegation.chain import CredentialVerifier
from did_agents.did.resolver import Resolver
from did_agents.errors import DIDAgentsError, InputTooLargeError, MalformedError, VerificationError
from did_agents.jsonld import KNOWN_CONTEXTS, expand
from did_agents.proofs import data_integrity, jose

__all__ = ["PresentationTerms", "SubjectPresentation", "verify_subject_presentation"]

#: Cryptosuites whose proof canonicalizes with JSON-LD in safe mode (undefined terms already refused).
_RDFC_SUITES: Final = frozenset({"eddsa-rdfc-2022", "ecdsa-rdfc-2019"})
#: VC-JOSE-COSE §3.1.3: registered JWT claims keep their JWT meaning; they are not JSON-LD terms.
_JWT_CLAIMS: Final = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "nonce", "cnf"})
_MAX_HEADER: Final = 4096


@dataclass(frozen=True, slots=True)
class SubjectPresentation:
    """A presentation whose holder proof verified; ``credentials[i]`` is the verifier's result
    for ``entries[i]`` (not necessarily verified: that is the chain's rule 1)."""

    document: Mapping[str, Any]
    format: Literal["data-integrity", "vp+jwt"]
    holder: str
    verification_method: str
    entries: tuple[Mapping[str, Any], ...]
    credentials: tuple[VerificationResult, ...]


class PresentationTerms:
    """The safe-mode verdicts on presentations' own terms, by exact content (bounded LRU)."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._max = max_entries
        self._safe: OrderedDict[bytes, None] = OrderedDict()

    def check(self, document: Mapping[str, Any]) -> None:
        """JSON-LD expansion in safe mode (raises on an undefined term), once per content."""
        try:
            text = json.dumps(
                document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
        except (TypeError, ValueError) as exc:
            raise MalformedError("the presentation is not JSON", reason="malformed") from exc
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        if key in self._safe:
            self._safe.move_to_end(key)
            return
        expand(document)
        self._safe[key] = None
        while len(self._safe) > self._max:
            self._safe.popitem(last=False)


def _refusal(exc: DIDAgentsError) -> VerificationError:
    return _problem(Problem.of(exc))


def _problem(problem: Problem) -> VerificationError:
    return VerificationError(
        f"subject_token: {problem.message}"[:300], reason=f"presentation_{problem.code}"[:64]
    )


def _jwt_typ(token: str) -> str | None:
    head = token.partition(".")[0]
    if not head or len(head) > _MAX_HEADER:
        raise MalformedError("not a compact JWT", reason="malformed")
    header = strict_json.loads(multibase.b64url_decode(head))
    if not isinstance(header, dict):
        raise MalformedError("JWT header is not an object", reason="malformed")
    typ = header.get("typ")
    return typ.removeprefix("application/") if isinstance(typ, str) else None


def _check_contexts(document: Mapping[str, Any]) -> None:
    # VC-DATA-INTEGRITY §2.4.1 "Validating Contexts": only contexts we hold a copy of;
    # SECURITY SEC-29: no inline context objects.
    for item in as_list(document.get("@context")):
        if not isinstance(item, str):
            raise VerificationError("inline @context objects are not accepted", reason="unknown_context")
        if item not in KNOWN_CONTEXTS:
            raise VerificationError(f"JSON-LD context {item[:120]!r} is not known", reason="unknown_context")


def _own_terms(document: Mapping[str, Any], *, jwt: bool) -> dict[str, Any]:
    # Embedded credentials are checked on their own; the proof is not a presentation term.
    dropped = {"verifiableCredential", "proof", *(_JWT_CLAIMS if jwt else ())}
    return {name: value for name, value in document.items() if name not in dropped}


async def _embedded(
    entry: Mapping[str, Any], verify: CredentialVerifier, resolver: Resolver, clock: Clock
) -> VerificationResult:
    if not has_type(entry, ENVELOPED_CREDENTIAL_TYPE) and "proof" not in entry:
        # VCDM §8.x "Unsigned Claims", SECURITY SEC-32: the presentation proof does not vouch for it.
        try:
            issuer = validate_credential(entry).issuer
        except DIDAgentsError as exc:
            return VerificationResult(False, dict(entry), None, problems=(Problem.of(exc),))
        problem = Problem("missing_proof", "an embedded credential has no proof of its own")
        return VerificationResult(False, dict(entry), "data-integrity", issuer=issuer, problems=(problem,))
    result = await verify(entry, resolver=resolver, clock=clock)
    assert isinstance(result, VerificationResult)
    return result


async def verify_subject_presentation(
    presentation: Mapping[str, Any] | str,
    *,
    resolver: Resolver,
    clock: Clock,
    challenge: str,
    domain: str,
    verify_credential: CredentialVerifier,
    terms: PresentationTerms,
    max_credentials: int,
    clock_skew: timedelta,
) -> SubjectPresentation:
    """Verify the holder proof of ``presentation`` (a parsed JSON presentation or a compact
    ``vp+jwt``) against ``challenge`` and ``domain``, then each embedded credential with
    ``verify_credential``. Raises ``VerificationError`` (``presentation_<code>``) when the
    presentation itself does not verify (module docstring)."""
    if not challenge or not domain:
        raise ValueError("a presentation must be verified against a challenge and a domain")
    clock = FixedClock(clock.now())
    try:
        controller, vm_id, parsed, fmt = await _holder_proof(
            presentation, resolver, clock, challenge, domain, terms, max_credentials, clock_skew
        )
    except DIDAgentsError as exc:
        raise _refusal(exc) from exc
    # VCDM §4.13 and §8.x "Spoofing Attack" / SECURITY SEC-33: the holder is who proved possession.
    if parsed.holder is None:
        raise _problem(Problem("missing_property", "the presentation must name its holder"))
    if parsed.holder != controller:
        raise _problem(Problem("holder_mismatch", f"the proof was made by {controller}, not by the holder"))
    results = [await _embedded(entry, verify_credential, resolver, clock) for entry in parsed.credentials]
    return SubjectPresentation(
        document=parsed.data,
        format=fmt,
        holder=parsed.holder,
        verification_method=vm_id,
        entries=parsed.credentials,
        credentials=tuple(results),
    )


async def _holder_proof(
    presentation: Mapping[str, Any] | str,
    resolver: Resolver,
    clock: Clock,
    challenge: str,
    domain: str,
    terms: PresentationTerms,
    max_credentials: int,
    clock_skew: timedelta,
) -> tuple[str, str, Presentation, Literal["data-integrity", "vp+jwt"]]:
    """``(controller, verification method, parsed presentation, format)`` of one whose proof,
    contexts and own terms check out; the rules and their order are ``verify_presentation``'s."""
    if isinstance(presentation, str):
        typ = _jwt_typ(presentation)
        if typ == jose.VC_JWT_TYP:
            raise MalformedError("a JWT presentation must be typed vp+jwt", reason="malformed")
        if typ != jose.VP_JWT_TYP:
            # VCDM 1.1 JWTs (typ "JWT" or none) are verifiable elsewhere, not exchanged.
            raise VerificationError("format jwt-1.1 is not accepted here", reason="unsupported_format")
        verified = await jose.verify_vp_jwt(
            presentation,
            resolver=resolver,
            clock=clock,
            challenge=challenge,
            domain=domain,
            leeway=clock_skew,
        )
        document: Mapping[str, Any] = verified.document
        _count(document, max_credentials)
        parsed = validate_presentation(document, validate_credentials=False)
        terms.check(_own_terms(document, jwt=True))
        return verified.verification_method.controller, verified.verification_method.id, parsed, "vp+jwt"
    document = presentation
    context = document.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    if first == CREDENTIALS_V1_CONTEXT:
        # VCDM 1.1 presentations are verifiable elsewhere, not exchanged.
        raise VerificationError("format ldp-1.1 is not accepted here", reason="unsupported_format")
    _count(document, max_credentials)
    parsed = validate_presentation(document, validate_credentials=False)
    if "proof" not in document:
        raise VerificationError("the presentation has no proof", reason="missing_proof")
    _check_contexts(document)
    proof = await data_integrity.verify_proof(
        document,
        resolver=resolver,
        expected_purpose="authentication",
        clock=clock,
        challenge=challenge,
        domain=domain,
        max_clock_skew=clock_skew,
    )
    if proof.cryptosuite not in _RDFC_SUITES:
        terms.check(_own_terms(document, jwt=False))
    return proof.controller, proof.verification_method.id, parsed, "data-integrity"


def _count(document: Mapping[str, Any], max_credentials: int) -> None:
    # DESIGN §10: bounded before any credential is verified (SECURITY SEC-42).
    value = document.get("verifiableCredential")
    count = len(value) if isinstance(value, list) else (0 if value is None else 1)
    if count > max_credentials:
        raise InputTooLargeError(f"the presentation holds {count} credentials; at most {max_credentials}")
