"""The one verification entry point for credentials and presentations.

``verify_credential`` and ``verify_presentation`` accept every format the
project speaks, find out which one they were given, and always answer with a
:class:`VerificationResult` (never a bare ``bool`` or ``None``): ``verified``
plus the list of :class:`Problem` codes that explain a refusal.

Formats (``VerificationResult.format``):

* ``data-integrity`` — VCDM 2.0 JSON with an embedded ``DataIntegrityProof``
  (``eddsa-rdfc-2022``, ``eddsa-jcs-2022``, ``ecdsa-rdfc-2019``);
* ``vc+jwt`` / ``vp+jwt`` — VC-JOSE-COSE compact JWS (also inside an
  ``EnvelopedVerifiableCredential``);
* ``ldp-1.1`` / ``jwt-1.1`` — VCDM 1.1 credentials (``Ed25519Signature2018/2020``,
  VC-JWT 1.1) as produced by existing wallets such as SpruceID didkit
  (verification only, through ``did_agents.proofs.legacy``).

What a credential must pass, cheapest first (DESIGN §10 "bounded inputs"):

1. size and nesting bounds (``too_large``) before anything else;
2. format detection and the VCDM 2.0 data model (``did_agents.credentials.model``);
3. the JSON-LD contexts: only bundled context URLs (``unknown_context``) and, by
   default, no inline context objects (SECURITY SEC-29);
4. the proof, through the module of its format (reasons such as
   ``bad_signature``, ``unknown_key``, ``wrong_purpose``, ``unsupported_cryptosuite``);
5. JSON-LD safe mode for formats whose proof does not canonicalize with JSON-LD
   (``eddsa-jcs-2022``, VC-JOSE): every term must be defined (``undefined_term``);
6. the proof's verification method is controlled by the ``issuer``
   (VC-DATA-INTEGRITY §5.9 "Verification Method Binding", ``issuer_mismatch``);
7. the validity period against the clock (VCDM §4.9: ``expired``, ``not_yet_valid``);
8. with a ``status_resolver``, every ``credentialStatus`` entry (W3C Bitstring
   Status List §3.2: ``revoked``, ``suspended``; failing closed with
   ``status_unavailable`` when a list cannot be fetched or verified).

A presentation additionally needs an ``authentication`` proof bound to the
verifier's ``challenge`` and ``domain`` (``challenge_mismatch``,
``domain_mismatch``), its ``holder`` must be the proof's controller
(``holder_mismatch``), and *every* embedded credential is verified; their
results are nested in ``VerificationResult.credentials``. A caller that keeps
state across presentations (the token exchange) injects an
:class:`EmbeddedVerifier` for the embedded credentials and a
:class:`TermsVerdicts` for the safe-mode check of the presentation's own terms;
the rules stay these.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol, get_args

from did_agents import strict_json
from did_agents.clock import Clock, FixedClock
from did_agents.credentials.model import (
    CREDENTIALS_V1_CONTEXT,
    CREDENTIALS_V2_CONTEXT,
    ENVELOPED_CREDENTIAL_TYPE,
    Credential,
    as_list,
    has_type,
    validate_credential,
    validate_presentation,
)
from did_agents.did.document import split_did_url
from did_agents.did.resolver import Resolver
from did_agents.errors import DIDAgentsError, InputTooLargeError, MalformedError, VerificationError
from did_agents.jsonld import KNOWN_CONTEXTS, expand
from did_agents.keys import KeyType, PrivateKey
from did_agents.proofs import data_integrity, jose, legacy
from did_agents.status.bitstring import check_status

__all__ = [
    "ALL_FORMATS",
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_MAX_CREDENTIALS",
    "EmbeddedVerifier",
    "Format",
    "IssueSuite",
    "Problem",
    "StatusResolver",
    "TermsVerdicts",
    "VerificationResult",
    "build_presentation",
    "default_suite",
    "envelope_credential",
    "issue_credential",
    "sign_presentation",
    "verify_credential",
    "verify_presentation",
]

Format = Literal["data-integrity", "vc+jwt", "vp+jwt", "ldp-1.1", "jwt-1.1"]
ALL_FORMATS: Final[frozenset[str]] = frozenset(get_args(Format))
IssueSuite = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019", "jose"]
_ISSUE_SUITES: Final = frozenset(get_args(IssueSuite))

#: Fetches the status list credential published at a URL (JSON object, or a VC-JWT).
StatusResolver = Callable[[str], Awaitable[Mapping[str, Any] | str]]

#: Allowed clock difference for validFrom / validUntil (SECURITY SEC-34: 60 s).
DEFAULT_CLOCK_SKEW: Final = timedelta(seconds=60)
DEFAULT_MAX_CREDENTIALS: Final = 100
#: Cryptosuites whose proof canonicalizes with JSON-LD in safe mode (undefined terms already refused).
_RDFC_SUITES: Final = frozenset({"eddsa-rdfc-2022", "ecdsa-rdfc-2019"})
_ENVELOPED_VC_PREFIX: Final = "data:application/vc+jwt,"

# Reasons of the proof modules renamed to the one vocabulary of Problem codes.
_CODE_ALIASES: Final[Mapping[str, str]] = {
    "wrong_issuer": "issuer_mismatch",
    "wrong_holder": "holder_mismatch",
    "wrong_challenge": "challenge_mismatch",
    "wrong_audience": "domain_mismatch",
    "duplicate_member": "malformed",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a credential or presentation is not accepted.

    ``code`` is the error's reason slug (``bad_signature``, ``expired``,
    ``revoked``…), stable for programs; ``message`` is for people and never
    holds tokens or key material.
    """

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def of(cls, exc: DIDAgentsError, prefix: str = "") -> Problem:
        return cls(_CODE_ALIASES.get(exc.reason, exc.reason), prefix + exc.description)


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The answer of :func:`verify_credential` / :func:`verify_presentation`.

    ``document`` is the credential or presentation JSON (the JWT payload for
    JOSE formats; ``None`` when it could not be read or trusted). ``issuer`` is
    set for credentials, ``holder`` for presentations; ``credentials`` holds
    one nested result per embedded credential of a presentation, in order.
    ``verified`` is True only when there is no problem here or in any nested result.
    """

    verified: bool
    document: dict[str, Any] | None = field(repr=False)
    format: Format | None
    issuer: str | None = None
    holder: str | None = None
    verification_method: str | None = None
    problems: tuple[Problem, ...] = ()
    credentials: tuple[VerificationResult, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """The problem codes, in order."""
        return tuple(p.code for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready rendering (used by the CLI and the VC API endpoints)."""
        out: dict[str, Any] = {"verified": self.verified, "format": self.format}
        if self.issuer is not None:
            out["issuer"] = self.issuer
        if self.holder is not None:
            out["holder"] = self.holder
        if self.verification_method is not None:
            out["verificationMethod"] = self.verification_method
        out["problems"] = [p.to_json() for p in self.problems]
        if self.credentials:
            out["credentials"] = [c.to_json() for c in self.credentials]
        out["document"] = self.document
        return out


class EmbeddedVerifier(Protocol):
    """Verifies one credential embedded in a presentation, as :func:`verify_credential` would
    (e.g. ``did_agents.exchange.credential_cache.VerifiedCredentialCache``)."""

    def __call__(
        self, credential: Mapping[str, Any], /, *, resolver: Resolver, clock: Clock
    ) -> Awaitable[VerificationResult]: ...


class TermsVerdicts(Protocol):
    """JSON-LD safe mode on a presentation's own terms (``document`` is the presentation less
    its credentials, proof and JWT claims): raises like ``did_agents.jsonld.expand``, and may
    remember verdicts (e.g. ``did_agents.exchange.presentation.PresentationTerms``)."""

    def check(self, document: Mapping[str, Any], /) -> None: ...


def _fail(
    problems: Sequence[Problem],
    *,
    fmt: Format | None = None,
    document: Mapping[str, Any] | None = None,
    **extra: Any,
) -> VerificationResult:
    return VerificationResult(
        verified=False,
        document=dict(document) if document is not None else None,
        format=fmt,
        problems=tuple(problems),
        **extra,
    )


# --------------------------------------------------------------------------------------
# Bounds


def _check_bounds(value: object, max_bytes: int, max_depth: int) -> None:
    """Refuse a JSON value larger (approximately, in serialized bytes) or deeper than allowed.

    A walk over the containers that refuses a container as soon as its member
    count alone exceeds what is left, so a huge input costs little (SECURITY
    SEC-53). Recursion is bounded by ``max_depth``.
    """
    if isinstance(value, (dict, list)):
        try:
            _remaining(value, max_bytes, max_depth)
        except TypeError as exc:  # a non-string key: not JSON
            raise MalformedError("JSON object keys must be strings", reason="malformed") from exc


def _remaining(value: dict[Any, Any] | list[Any], budget: int, depth: int) -> int:
    if depth <= 0:
        raise InputTooLargeError("JSON nested too deeply")
    budget -= 2 + len(value)
    if budget < 0:
        raise InputTooLargeError("input too large")
    if type(value) is dict:
        for key, member in value.items():
            kind = type(member)
            if kind is str:
                budget -= len(key) + len(member) + 3
            elif kind is dict or kind is list:
                budget = _remaining(member, budget - len(key) - 3, depth - 1)
            else:
                budget -= len(key) + 11
    else:
        for member in value:
            kind = type(member)
            if kind is str:
                budget -= len(member) + 2
            elif kind is dict or kind is list:
                budget = _remaining(member, budget, depth - 1)
            else:
                budget -= 8
    if budget < 0:
        raise InputTooLargeError("input too large")
    return budget


def _count_credentials(document: Mapping[str, Any]) -> int:
    value = document.get("verifiableCredential")
    return len(value) if isinstance(value, list) else (0 if value is None else 1)


# --------------------------------------------------------------------------------------
# Contexts and JSON-LD safe mode


def _check_contexts(document: Mapping[str, Any], *, allow_inline: bool) -> None:
    # VC-DATA-INTEGRITY §2.4.1 "Validating Contexts": only contexts we hold a copy of.
    for item in as_list(document.get("@context")):
        if isinstance(item, str):
            if item not in KNOWN_CONTEXTS:
                raise VerificationError(
                    f"JSON-LD context {item[:120]!r} is not known", reason="unknown_context"
                )
        elif not allow_inline:
            # SECURITY SEC-29: inline contexts can remap terms (@vocab, redefinitions).
            raise VerificationError("inline @context objects are not accepted", reason="unknown_context")


_SAFE_CACHE: OrderedDict[str | bytes, None] = OrderedDict()
_SAFE_CACHE_SIZE: Final = 1024
_PROOF: Final = frozenset({"proof"})


def _check_terms(
    document: Mapping[str, Any], signature: str | None = None, *, without: frozenset[str] = _PROOF
) -> None:
    """JSON-LD expansion in safe mode of ``document`` less the members ``without``, remembered.

    A presented credential is typically verified many times (every token
    exchange repeats the same delegation), so the outcome is cached. The key is
    the *verified* signature (with its verification method) when the caller
    has one: a signature that verified covers exactly one document, so this
    costs no serialization (nor a copy of the document). Otherwise the key is
    the SHA-256 of a deterministic serialization of the document.
    """
    key: str | bytes
    if signature is not None:
        key = signature
    else:
        try:
            serialized = json.dumps(
                _without(document, without), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
        except (TypeError, ValueError) as exc:
            raise MalformedError("document is not JSON", reason="malformed") from exc
        key = hashlib.sha256(serialized.encode("utf-8", "surrogatepass")).digest()
    if key in _SAFE_CACHE:
        _SAFE_CACHE.move_to_end(key)
        return
    expand(_without(document, without))
    _SAFE_CACHE[key] = None
    while len(_SAFE_CACHE) > _SAFE_CACHE_SIZE:
        _SAFE_CACHE.popitem(last=False)


def _without(document: Mapping[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in names}


def _di_signature(kind: str, document: Mapping[str, Any], vm_id: str) -> str | None:
    proof = document.get("proof")
    value = proof.get("proofValue") if isinstance(proof, Mapping) else None
    return f"{kind} {vm_id} {value}" if isinstance(value, str) else None


def _jws_signature(kind: str, token: str, vm_id: str) -> str:
    return f"{kind} {vm_id} {token.rpartition('.')[2]}"


# --------------------------------------------------------------------------------------
# Format detection


def _jwt_format(token: str) -> Format:
    head = token.partition(".")[0]
    if not head or len(head) > 4096:
        raise MalformedError("not a compact JWT", reason="malformed")
    return _jwt_format_of_header(head)


@functools.lru_cache(maxsize=256)
def _jwt_format_of_header(head: str) -> Format:
    # A pure function of the encoded header, which an issuer's tokens share:
    # remembered (refusals raise and are not kept).
    typ = _jwt_header(head).get("typ")
    if isinstance(typ, str):
        short = typ.removeprefix("application/")
        if short == jose.VC_JWT_TYP:
            return "vc+jwt"
        if short == jose.VP_JWT_TYP:
            return "vp+jwt"
    # VCDM 1.1 §6.3.1 JWTs carry typ "JWT" or none, and a "vc" / "vp" claim.
    return "jwt-1.1"


def _jwt_header(head: str) -> dict[str, Any]:
    # Only to pick the verifier: the chosen verifier parses the whole JWS strictly again.
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise MalformedError("JWT header is not base64url JSON", reason="malformed") from exc
    if not isinstance(header, dict):
        raise MalformedError("JWT header is not an object", reason="malformed")
    return header


def _document_format(document: Mapping[str, Any]) -> Format:
    context = document.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    if first == CREDENTIALS_V1_CONTEXT:
        return "ldp-1.1"
    return "data-integrity"


def _check_allowed(fmt: Format, allowed: Collection[str]) -> None:
    if fmt not in allowed:
        raise VerificationError(f"format {fmt} is not accepted here", reason="unsupported_format")


# --------------------------------------------------------------------------------------
# Credentials


@dataclass(slots=True)
class _Context:
    """Per-request state: one instant for every time check, one status-list fetch per URL."""

    resolver: Resolver
    clock: Clock
    status_resolver: StatusResolver | None
    allowed_formats: Collection[str]
    allowed_cryptosuites: Collection[str] | None
    clock_skew: timedelta
    allow_inline_contexts: bool
    check_terms: bool
    status_lists: dict[str, asyncio.Future[VerificationResult | Problem]] = field(default_factory=dict)


async def verify_credential(
    credential: Mapping[str, Any] | str,
    *,
    resolver: Resolver,
    clock: Clock,
    status_resolver: StatusResolver | None = None,
    allowed_formats: Collection[str] = ALL_FORMATS,
    allowed_cryptosuites: Collection[str] | None = None,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    allow_inline_contexts: bool = False,
    check_terms: bool = True,
    max_bytes: int = strict_json.DEFAULT_MAX_BYTES,
    max_depth: int = strict_json.DEFAULT_MAX_DEPTH,
) -> VerificationResult:
    """Verify a credential given as JSON (a dict) or as a compact JWT (a str).

    ``status_resolver`` (optional) fetches a status list credential by URL;
    when given, every ``credentialStatus`` entry is checked and a list that
    cannot be fetched or verified is a problem (fail closed). Without it status
    is not checked. ``allowed_formats`` and ``allowed_cryptosuites`` narrow what
    is accepted; ``check_terms`` runs JSON-LD safe mode on formats whose proof
    does not. Never raises for bad input: every refusal is a :class:`Problem`.
    """
    ctx = _Context(
        resolver=resolver,
        clock=FixedClock(clock.now()),
        status_resolver=status_resolver,
        allowed_formats=allowed_formats,
        allowed_cryptosuites=allowed_cryptosuites,
        clock_skew=clock_skew,
        allow_inline_contexts=allow_inline_contexts,
        check_terms=check_terms,
    )
    try:
        _check_input(credential, max_bytes, max_depth)
    except DIDAgentsError as exc:
        return _fail([Problem.of(exc)])
    return await _verify_credential(credential, ctx)


def _check_input(value: object, max_bytes: int, max_depth: int) -> None:
    if isinstance(value, str):
        if len(value) > max_bytes:
            raise InputTooLargeError(f"input larger than {max_bytes} bytes")
    elif isinstance(value, Mapping):
        _check_bounds(value, max_bytes, max_depth)
    else:
        raise MalformedError("expected a JSON object or a compact JWT", reason="malformed")


async def _verify_credential(credential: Mapping[str, Any] | str, ctx: _Context) -> VerificationResult:
    fmt: Format | None = None
    document = credential if isinstance(credential, Mapping) else None
    try:
        enveloped = isinstance(credential, Mapping) and has_type(credential, ENVELOPED_CREDENTIAL_TYPE)
        if enveloped:
            credential = jose.parse_enveloped(credential)
            document = None
        if isinstance(credential, str):
            fmt = _jwt_format(credential)
            if fmt == "vp+jwt":
                raise MalformedError("this is a presentation (vp+jwt), not a credential", reason="malformed")
            if enveloped and fmt != "vc+jwt":
                # VCDM §4.13.1: the data: URL says application/vc+jwt; the JWT must be one.
                raise MalformedError("an enveloped vc+jwt must be typed vc+jwt", reason="malformed")
        else:
            fmt = _document_format(credential)
        _check_allowed(fmt, ctx.allowed_formats)
        if fmt in ("ldp-1.1", "jwt-1.1"):
            return await _verify_legacy(credential, fmt, ctx)
        if isinstance(credential, str):
            return await _verify_vc_jwt(credential, ctx)
        return await _verify_data_integrity(credential, ctx)
    except DIDAgentsError as exc:
        return _fail([Problem.of(exc)], fmt=fmt, document=document)


async def _verify_data_integrity(document: Mapping[str, Any], ctx: _Context) -> VerificationResult:
    fmt: Format = "data-integrity"
    parsed = validate_credential(document)
    if "proof" not in document:
        return _fail(
            [Problem("missing_proof", "the credential has no proof")],
            fmt=fmt,
            document=document,
            issuer=parsed.issuer,
        )
    _check_contexts(document, allow_inline=ctx.allow_inline_contexts)
    try:
        proof = await data_integrity.verify_proof(
            document,
            resolver=ctx.resolver,
            expected_purpose="assertionMethod",
            clock=ctx.clock,
            max_clock_skew=ctx.clock_skew,
            allowed_cryptosuites=ctx.allowed_cryptosuites,
        )
    except DIDAgentsError as exc:
        return _fail([Problem.of(exc)], fmt=fmt, document=document, issuer=parsed.issuer)
    problems: list[Problem] = []
    if ctx.check_terms and proof.cryptosuite not in _RDFC_SUITES:
        problems.extend(_safe_mode(document, _di_signature("vc", document, proof.verification_method.id)))
    if proof.controller != parsed.issuer:
        problems.append(
            Problem("issuer_mismatch", f"the proof was made by {proof.controller}, not by the issuer")
        )
    problems.extend(_validity(parsed, ctx))
    problems.extend(await _statuses(parsed, ctx))
    return VerificationResult(
        verified=not problems,
        document=dict(document),
        format=fmt,
        issuer=parsed.issuer,
        verification_method=proof.verification_method.id,
        problems=tuple(problems),
    )


async def _verify_vc_jwt(token: str, ctx: _Context) -> VerificationResult:
    fmt: Format = "vc+jwt"
    try:
        verified = await jose.verify_vc_jwt(
            token, resolver=ctx.resolver, clock=ctx.clock, leeway=ctx.clock_skew
        )
    except DIDAgentsError as exc:
        return _fail([Problem.of(exc)], fmt=fmt)
    document = verified.document
    try:
        parsed = validate_credential(document)
        if "proof" in document:
            # VC-JOSE-COSE §3.1.1: the JWS secures the credential; an embedded proof would be unsigned noise.
            raise MalformedError("a vc+jwt payload must not carry an embedded proof", reason="malformed")
        _check_contexts(document, allow_inline=ctx.allow_inline_contexts)
    except DIDAgentsError as exc:
        return _fail([Problem.of(exc)], fmt=fmt, document=document)
    problems: list[Problem] = []
    if ctx.check_terms:
        signature = _jws_signature("vc", token, verified.verification_method.id)
        problems.extend(_safe_mode(document, signature, without=_NOT_VC_JWT_TERMS))
    controller = verified.verification_method.controller
    if controller != parsed.issuer:
        problems.append(Problem("issuer_mismatch", f"the JWT was signed by {controller}, not by the issuer"))
    problems.extend(_validity(parsed, ctx))
    problems.extend(await _statuses(parsed, ctx))
    return VerificationResult(
        verified=not problems,
        document=document,
        format=fmt,
        issuer=parsed.issuer,
        verification_method=verified.verification_method.id,
        problems=tuple(problems),
    )


async def _verify_legacy(
    credential: Mapping[str, Any] | str, fmt: Format, ctx: _Context
) -> VerificationResult:
    # VCDM 1.1 credentials: the proof and the 1.1 data model are the legacy module's.
    verified = await legacy.verify_legacy_credential(
        credential, resolver=ctx.resolver, clock=ctx.clock, leeway=ctx.clock_skew
    )
    result = _legacy_result(verified, fmt)
    if ctx.status_resolver is not None and "credentialStatus" in verified.document:
        # Fail closed: VCDM 1.1 status methods (StatusList2021, …) are not checked here.
        problem = Problem("unsupported_status", "status of VCDM 1.1 credentials cannot be checked")
        return replace(result, verified=False, problems=(problem,))
    return result


def _legacy_result(
    verified: legacy.VerifiedLegacy, fmt: Format, *, holder: bool = False
) -> VerificationResult:
    return VerificationResult(
        verified=True,
        document=verified.document,
        format=fmt,
        issuer=None if holder else verified.issuer,
        holder=verified.issuer if holder else None,
        verification_method=verified.verification_method.id,
        credentials=tuple(
            _legacy_result(c, "jwt-1.1" if c.format == "jwt-1.1" else "ldp-1.1") for c in verified.credentials
        ),
    )


def _safe_mode(
    document: Mapping[str, Any], signature: str | None, *, without: frozenset[str] = _PROOF
) -> list[Problem]:
    try:
        _check_terms(document, signature, without=without)
    except DIDAgentsError as exc:
        return [Problem.of(exc)]
    return []


def _validity(parsed: Credential, ctx: _Context) -> list[Problem]:
    # VCDM §4.9: a credential is valid from validFrom and until validUntil, here
    # with ``clock_skew`` of tolerance on both ends (SECURITY SEC-34):
    # not yet valid while now + skew < validFrom; expired once now - skew >= validUntil.
    now = ctx.clock.now()
    problems = []
    if parsed.valid_from is not None and now + ctx.clock_skew < parsed.valid_from:
        problems.append(Problem("not_yet_valid", f"valid from {_iso(parsed.valid_from)}"))
    if parsed.valid_until is not None and now - ctx.clock_skew >= parsed.valid_until:
        problems.append(Problem("expired", f"expired at {_iso(parsed.valid_until)}"))
    return problems


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------------------
# Status (W3C Bitstring Status List §3.2)


async def _statuses(parsed: Credential, ctx: _Context) -> list[Problem]:
    if ctx.status_resolver is None or not parsed.statuses:
        return []
    problems = []
    for entry in parsed.statuses:
        problem = await _status(entry, parsed.issuer, ctx)
        if problem is not None:
            problems.append(problem)
    return problems


async def _status(entry: Mapping[str, Any], issuer: str, ctx: _Context) -> Problem | None:
    if not has_type(entry, "BitstringStatusListEntry"):
        # Fail closed: a status we cannot check is not a status we can ignore.
        return Problem("unsupported_status", f"credentialStatus type {entry.get('type')!r} is not supported")
    url = entry.get("statusListCredential")
    if not isinstance(url, str):
        return Problem("malformed", "credentialStatus has no statusListCredential URL")
    list_result = await _status_list(url, ctx)
    if isinstance(list_result, Problem):
        return list_result
    assert list_result.document is not None
    try:
        result = check_status(
            entry, list_result.document, clock=ctx.clock, list_verified=True, expected_issuer=issuer
        )
    except DIDAgentsError as exc:
        return Problem.of(exc)
    if result.set and result.purpose == "revocation":
        return Problem("revoked", "the credential has been revoked")
    if result.set and result.purpose == "suspension":
        return Problem("suspended", "the credential is suspended")
    return None


async def _status_list(url: str, ctx: _Context) -> VerificationResult | Problem:
    # One fetch per URL per request, even for credentials verified concurrently.
    pending = ctx.status_lists.get(url)
    if pending is None:
        pending = asyncio.ensure_future(_fetch_status_list(url, ctx))
        ctx.status_lists[url] = pending
    return await pending


async def _fetch_status_list(url: str, ctx: _Context) -> VerificationResult | Problem:
    assert ctx.status_resolver is not None
    outcome: VerificationResult | Problem
    try:
        fetched = await ctx.status_resolver(url)
    except DIDAgentsError as exc:
        outcome = Problem(
            "status_unavailable", f"status list {url[:120]} could not be fetched: {exc.description}"
        )
    except Exception as exc:  # a caller-supplied fetcher: any failure fails closed
        outcome = Problem(
            "status_unavailable", f"status list {url[:120]} could not be fetched ({type(exc).__name__})"
        )
    else:
        list_ctx = _Context(
            resolver=ctx.resolver,
            clock=ctx.clock,
            status_resolver=None,  # a status list's own status is not followed
            allowed_formats=ctx.allowed_formats,
            allowed_cryptosuites=ctx.allowed_cryptosuites,
            clock_skew=ctx.clock_skew,
            allow_inline_contexts=ctx.allow_inline_contexts,
            check_terms=ctx.check_terms,
        )
        try:
            _check_input(fetched, strict_json.DEFAULT_MAX_BYTES, strict_json.DEFAULT_MAX_DEPTH)
            result = await _verify_credential(fetched, list_ctx)
        except DIDAgentsError as exc:
            result = _fail([Problem.of(exc)])
        if result.verified and result.document is not None:
            outcome = result
        else:
            detail = "; ".join(p.message for p in result.problems) or "not verified"
            outcome = Problem("status_unavailable", f"status list {url[:120]} does not verify: {detail}")
    return outcome


# --------------------------------------------------------------------------------------
# Presentations


async def verify_presentation(
    presentation: Mapping[str, Any] | str,
    *,
    resolver: Resolver,
    clock: Clock,
    challenge: str,
    domain: str,
    status_resolver: StatusResolver | None = None,
    max_credentials: int = DEFAULT_MAX_CREDENTIALS,
    allowed_formats: Collection[str] = ALL_FORMATS,
    allowed_cryptosuites: Collection[str] | None = None,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    allow_inline_contexts: bool = False,
    check_terms: bool = True,
    require_holder: bool = True,
    max_bytes: int = strict_json.DEFAULT_MAX_BYTES,
    max_depth: int = strict_json.DEFAULT_MAX_DEPTH,
    check_bounds: bool = True,
    verify_credential: EmbeddedVerifier | None = None,
    terms: TermsVerdicts | None = None,
    fail_fast: bool = False,
) -> VerificationResult:
    """Verify a presentation (JSON with a Data Integrity proof, or a ``vp+jwt``) and every credential in it.

    The holder's proof must have purpose ``authentication`` and carry the
    verifier's ``challenge`` and ``domain`` (for a ``vp+jwt``: ``nonce`` and
    ``aud``); ``holder`` must be the proof's controller (with
    ``require_holder``, the default, it must be present). More than
    ``max_credentials`` credentials is ``too_large`` before any signature work.
    Embedded credentials must each carry their own proof (VCDM §4.12
    "Unsigned Claims": the presentation proof does not vouch for them).

    Injection points (all optional; the rules above stay the same):

    * ``verify_credential`` verifies each embedded credential that carries a
      proof, one after the other in document order, instead of
      :func:`verify_credential` (concurrently) with this call's options: formats,
      cryptosuites, skew and status are then the injected verifier's, so
      ``status_resolver`` must not be given too;
    * ``terms`` does the JSON-LD safe-mode check of the presentation's own terms
      (instead of this module's cache keyed by the verified signature);
    * ``fail_fast``: when the presentation itself has a problem (holder binding),
      its credentials are not verified (``credentials`` is empty);
    * ``check_bounds=False``: the caller has bounded the input's size and depth
      already (``max_bytes`` / ``max_depth`` are not applied again).
    """
    if not challenge or not domain:
        raise ValueError("a presentation must be verified against a challenge and a domain")
    if verify_credential is not None and status_resolver is not None:
        raise ValueError("status is the injected verify_credential's to check, not a status_resolver's")
    ctx = _Context(
        resolver=resolver,
        clock=FixedClock(clock.now()),
        status_resolver=status_resolver,
        allowed_formats=allowed_formats,
        allowed_cryptosuites=allowed_cryptosuites,
        clock_skew=clock_skew,
        allow_inline_contexts=allow_inline_contexts,
        check_terms=check_terms,
    )
    fmt: Format | None = None
    document: Mapping[str, Any] | None = presentation if isinstance(presentation, Mapping) else None
    try:
        if check_bounds:
            _check_input(presentation, max_bytes, max_depth)
        elif not isinstance(presentation, (str, Mapping)):
            raise MalformedError("expected a JSON object or a compact JWT", reason="malformed")
        fmt = _jwt_format(presentation) if isinstance(presentation, str) else _document_format(presentation)
        _check_allowed(fmt, allowed_formats)
        if fmt in ("ldp-1.1", "jwt-1.1"):
            # VCDM 1.1 presentations (existing wallets): the legacy module verifies them whole.
            if isinstance(presentation, Mapping) and _count_credentials(presentation) > max_credentials:
                raise InputTooLargeError(f"the presentation holds more than {max_credentials} credentials")
            verified_legacy = await legacy.verify_legacy_presentation(
                presentation,
                resolver=resolver,
                clock=ctx.clock,
                challenge=challenge,
                domain=domain,
                leeway=clock_skew,
            )
            return _legacy_result(verified_legacy, fmt, holder=True)
        if isinstance(presentation, str):
            if fmt != "vp+jwt":
                raise MalformedError("a JWT presentation must be typed vp+jwt", reason="malformed")
            verified = await jose.verify_vp_jwt(
                presentation,
                resolver=resolver,
                clock=ctx.clock,
                challenge=challenge,
                domain=domain,
                leeway=clock_skew,
            )
            document = verified.document
            if check_bounds:
                _check_input(document, max_bytes, max_depth)
            controller = verified.verification_method.controller
            vm_id = verified.verification_method.id
        assert document is not None
        count = _count_credentials(document)
        if count > max_credentials:
            raise InputTooLargeError(f"the presentation holds {count} credentials; at most {max_credentials}")
        parsed = validate_presentation(document, validate_credentials=False)
        if fmt == "data-integrity":
            if "proof" not in document:
                raise VerificationError("the presentation has no proof", reason="missing_proof")
            _check_contexts(document, allow_inline=allow_inline_contexts)
            proof = await data_integrity.verify_proof(
                document,
                resolver=resolver,
                expected_purpose="authentication",
                clock=ctx.clock,
                challenge=challenge,
                domain=domain,
                max_clock_skew=clock_skew,
                allowed_cryptosuites=allowed_cryptosuites,
            )
            controller = proof.controller
            vm_id = proof.verification_method.id
            if check_terms and proof.cryptosuite not in _RDFC_SUITES:
                if terms is not None:
                    terms.check(_without(document, _NOT_VP_TERMS))
                else:
                    _check_terms(document, _di_signature("vp", document, vm_id), without=_NOT_VP_TERMS)
        elif check_terms:
            assert isinstance(presentation, str)
            if terms is not None:
                terms.check(_without(document, _NOT_VP_JWT_TERMS))
            else:
                _check_terms(document, _jws_signature("vp", presentation, vm_id), without=_NOT_VP_JWT_TERMS)
    except DIDAgentsError as exc:
        return _fail([Problem.of(exc)], fmt=fmt, document=document)

    problems: list[Problem] = []
    holder = parsed.holder
    if holder is None:
        if require_holder:
            problems.append(Problem("missing_property", "the presentation must name its holder"))
        holder = controller
    elif holder != controller:
        # VCDM §8.x "Spoofing Attack" / SECURITY SEC-33: the holder is who proved possession.
        problems.append(Problem("holder_mismatch", f"the proof was made by {controller}, not by the holder"))

    nested: Sequence[VerificationResult] = ()
    if problems and fail_fast:
        pass  # the presentation is refused whatever its credentials say
    elif verify_credential is None:
        nested = await asyncio.gather(*(_verify_embedded(entry, ctx) for entry in parsed.credentials))
    else:
        # In order: a cache sees a credential repeated in the presentation after the first is stored.
        nested = [await _verify_embedded(entry, ctx, verify_credential) for entry in parsed.credentials]
    for index, result in enumerate(nested):
        if not result.verified:
            codes = ", ".join(result.codes) or "not verified"
            problems.append(Problem("invalid_credential", f"credential #{index} does not verify: {codes}"))
    return VerificationResult(
        verified=not problems,
        document=dict(document),
        format=fmt,
        holder=holder,
        verification_method=vm_id,
        problems=tuple(problems),
        credentials=tuple(nested),
    )


#: Embedded credentials are checked on their own; the VP's own terms are checked here.
_NOT_VP_TERMS: Final = frozenset({"verifiableCredential", "proof"})
#: VC-JOSE-COSE §3.1.3: registered JWT claims keep their JWT meaning; they are not JSON-LD terms.
_JWT_CLAIMS: Final = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "nonce", "cnf"})
_NOT_VC_JWT_TERMS: Final = _PROOF | _JWT_CLAIMS
_NOT_VP_JWT_TERMS: Final = _NOT_VP_TERMS | _JWT_CLAIMS


async def _verify_embedded(
    entry: Mapping[str, Any], ctx: _Context, verify: EmbeddedVerifier | None = None
) -> VerificationResult:
    if not has_type(entry, ENVELOPED_CREDENTIAL_TYPE) and "proof" not in entry:
        # VCDM §8.x "Unsigned Claims", SECURITY SEC-32: proof stripping is refused.
        try:
            issuer = validate_credential(entry).issuer
        except DIDAgentsError as exc:
            return _fail([Problem.of(exc)], document=entry)
        return _fail(
            [Problem("missing_proof", "an embedded credential has no proof of its own")],
            fmt="data-integrity",
            document=entry,
            issuer=issuer,
        )
    if verify is not None:
        return await verify(entry, resolver=ctx.resolver, clock=ctx.clock)
    return await _verify_credential(entry, ctx)


# --------------------------------------------------------------------------------------
# Issuing and signing


def _did_of(verification_method: str) -> str:
    did, fragment = split_did_url(verification_method)
    if fragment is None:
        raise ValueError("verification_method must be a DID URL with a fragment")
    return did


def _party(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def issue_credential(
    credential: Mapping[str, Any],
    *,
    key: PrivateKey,
    verification_method: str,
    suite: IssueSuite,
    clock: Clock | None = None,
) -> dict[str, Any] | str:
    """Secure an unsigned VCDM 2.0 ``credential`` with ``key``.

    ``suite`` is a Data Integrity cryptosuite (returns the credential with a
    ``proof``, purpose ``assertionMethod``) or ``"jose"`` (returns the compact
    ``vc+jwt``). ``verification_method`` is the issuer's DID URL for ``key``;
    its DID must be the credential's ``issuer``. The credential is validated
    against the data model first (``MalformedError``); misuse (wrong suite for
    the key, issuer mismatch) is ``ValueError``.
    """
    if suite not in _ISSUE_SUITES:
        raise ValueError(f"unknown suite {suite!r}; use one of {sorted(_ISSUE_SUITES)}")
    parsed = validate_credential(credential)
    if "proof" in credential:
        raise ValueError("the credential already has a proof")
    if _did_of(verification_method) != parsed.issuer:
        raise ValueError("verification_method does not belong to the credential's issuer")
    if suite == "jose":
        return jose.sign_vc_jwt(credential, key, kid=verification_method)
    return data_integrity.add_proof(
        credential,
        key=key,
        verification_method=verification_method,
        cryptosuite=suite,
        proof_purpose="assertionMethod",
        clock=clock,
    )


def default_suite(key: PrivateKey) -> IssueSuite:
    """The interoperable Data Integrity suite for ``key``: eddsa-rdfc-2022 or ecdsa-rdfc-2019 (P-256)."""
    return "eddsa-rdfc-2022" if key.key_type is KeyType.ED25519 else "ecdsa-rdfc-2019"


def envelope_credential(token: str) -> dict[str, Any]:
    """Wrap a ``vc+jwt`` as an ``EnvelopedVerifiableCredential`` (VCDM §4.13.1) for a presentation."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise ValueError("expected a compact vc+jwt")
    return {
        "@context": [CREDENTIALS_V2_CONTEXT],
        "id": _ENVELOPED_VC_PREFIX + token,
        "type": ENVELOPED_CREDENTIAL_TYPE,
    }


def build_presentation(
    holder: str,
    credentials: Sequence[Mapping[str, Any] | str],
    *,
    presentation_id: str | None = None,
    contexts: Sequence[str] = (),
) -> dict[str, Any]:
    """An unsigned presentation by ``holder``; ``vc+jwt`` strings are enveloped."""
    presentation: dict[str, Any] = {
        "@context": [CREDENTIALS_V2_CONTEXT, *contexts],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [
            envelope_credential(c) if isinstance(c, str) else dict(c) for c in credentials
        ],
    }
    if presentation_id is not None:
        presentation["id"] = presentation_id
    return presentation


def sign_presentation(
    presentation: Mapping[str, Any],
    *,
    key: PrivateKey,
    verification_method: str,
    challenge: str,
    domain: str,
    suite: IssueSuite | None = None,
    clock: Clock | None = None,
) -> dict[str, Any] | str:
    """Sign ``presentation`` as its holder, bound to the verifier's ``challenge`` and ``domain``.

    Data Integrity suites add a proof with purpose ``authentication``; ``"jose"``
    returns a ``vp+jwt`` with ``nonce``/``aud`` claims; by default the RDFC
    suite of the key type (:func:`default_suite`). The holder must be the DID
    of ``verification_method``.
    """
    suite = suite or default_suite(key)
    if suite not in _ISSUE_SUITES:
        raise ValueError(f"unknown suite {suite!r}; use one of {sorted(_ISSUE_SUITES)}")
    if not challenge or not domain:
        raise ValueError("a presentation is signed for a challenge and a domain")
    validate_presentation(presentation, validate_credentials=False)
    if "proof" in presentation:
        raise ValueError("the presentation already has a proof")
    if _party(presentation.get("holder")) != _did_of(verification_method):
        raise ValueError("verification_method does not belong to the presentation's holder")
    if suite == "jose":
        return jose.sign_vp_jwt(
            presentation, key, kid=verification_method, nonce=challenge, aud=domain, clock=clock
        )
    return data_integrity.add_proof(
        presentation,
        key=key,
        verification_method=verification_method,
        cryptosuite=suite,
        proof_purpose="authentication",
        challenge=challenge,
        domain=domain,
        clock=clock,
    )
