"""The exchange's presentation check (did_agents/exchange/presentation.py, an adapter over
``verify_presentation`` with the exchange's caches injected) gives the verdicts of
``verify_presentation`` without injections on the formats the exchange accepts, valid and
invalid, with and without its caches warm; and ``verify_presentation``'s injection points
(``verify_credential``, ``terms``, ``fail_fast``, ``check_bounds``) do what the adapter
relies on."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from did_agents import jws, multibase
from did_agents.clock import Clock
from did_agents.credentials.verify import (
    VerificationResult,
    build_presentation,
    verify_credential,
    verify_presentation,
)
from did_agents.did.resolver import Resolver
from did_agents.errors import VerificationError
from did_agents.exchange.credential_cache import VerifiedCredentialCache
from did_agents.exchange.presentation import PresentationTerms, verify_subject_presentation
from did_agents.proofs import data_integrity
from tests.delegation.urban_bites import Party, UrbanBites

DOMAIN = "https://verifier.urbanbites.example"
NONCE = "n-0123456789abcdefghijklmnopqrstuvwxyz"
FORMATS = frozenset({"data-integrity", "vc+jwt", "vp+jwt"})
SKEW = timedelta(seconds=60)
MAX_CREDENTIALS = 4

Presentation = dict[str, Any] | str


def _sign_di(w: UrbanBites, vp: dict[str, Any], signer: Party, suite: str, **over: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"challenge": NONCE, "domain": DOMAIN, "proof_purpose": "authentication"}
    options.update(over)
    return data_integrity.add_proof(
        vp, key=signer.key, verification_method=signer.vm, cryptosuite=suite, clock=w.clock, **options
    )


def _sign_jwt(w: UrbanBites, vp: dict[str, Any], signer: Party, **claims: Any) -> str:
    payload = {**vp, "nonce": NONCE, "aud": DOMAIN, "iat": int(w.clock.now().timestamp()), **claims}
    typ = claims.pop("typ", None) or "vp+jwt"
    payload.pop("typ", None)
    return jws.sign_compact(payload, signer.key, typ=typ, kid=signer.vm)


def _chain(w: UrbanBites) -> list[Any]:
    return [w.entry(w.smith_to_ordering()), w.entry(w.ordering_acc()), w.entry(w.smith_role())]


def _cases(w: UrbanBites) -> dict[str, Callable[[], Presentation]]:
    """name → presentation; the suite of the world secures both credentials and presentation."""
    o = w.ordering
    jose = w.suite == "jose"
    suite = "eddsa-jcs-2022" if jose else w.suite

    def vp(credentials: list[Any] | None = None, holder: str | None = None) -> dict[str, Any]:
        return build_presentation(holder or o.did, _chain(w) if credentials is None else credentials)

    def sign(document: dict[str, Any], signer: Party = o, **over: Any) -> Presentation:
        if jose:
            return _sign_jwt(w, document, signer, **over)
        return _sign_di(w, document, signer, suite, **over)

    def tampered_credential() -> Presentation:
        credentials = _chain(w)
        if jose:
            token = credentials[0]["id"]
            head, payload, signature = token.rsplit(",", 1)[1].split(".")
            claims = json.loads(multibase.b64url_decode(payload))
            claims["credentialSubject"]["maxDepth"] = 5
            forged = multibase.b64url_encode(json.dumps(claims).encode())
            credentials[0] = {**credentials[0], "id": f"data:application/vc+jwt,{head}.{forged}.{signature}"}
        else:
            credentials[0]["credentialSubject"]["maxDepth"] = 5
        return sign(vp(credentials))

    def stripped_proof() -> Presentation:
        credentials = _chain(w)
        if jose:
            # An enveloped credential cannot lose its proof; embed its payload unsigned instead.
            token = credentials[0]["id"].rsplit(",", 1)[1]
            credentials[0] = json.loads(multibase.b64url_decode(token.split(".")[1]))
        else:
            credentials[0] = {k: v for k, v in credentials[0].items() if k != "proof"}
        return sign(vp(credentials))

    def undefined_term() -> Presentation:
        document = vp()
        document["favouriteColour"] = "blue"
        return sign(document)

    def with_context(extra: Any) -> Presentation:
        if jose:
            document = vp()
            document["@context"] = [*document["@context"], extra]
            return sign(document)
        # Our signers refuse such contexts: added after signing (checked before the proof).
        signed = sign(vp())
        assert isinstance(signed, dict)
        signed["@context"] = [*signed["@context"], extra]
        return signed

    def unknown_context() -> Presentation:
        return with_context("https://example.com/unknown/v1")

    def inline_context() -> Presentation:
        return with_context({"@vocab": "https://example.com/#"})

    def holder_mismatch() -> Presentation:
        document = vp(holder=w.payment.did)
        return sign(document, o)

    def missing_holder() -> Presentation:
        document = vp()
        del document["holder"]
        return sign(document)

    def bad_signature() -> Presentation:
        signed = sign(vp())
        if isinstance(signed, str):
            head, payload, signature = signed.split(".")
            return f"{head}.{payload}.{signature[:-4]}AAAA"
        value = signed["proof"]["proofValue"]
        signed["proof"]["proofValue"] = value[:-4] + ("2222" if value[-4:] != "2222" else "3333")
        return signed

    def too_many() -> Presentation:
        return sign(vp(_chain(w) + _chain(w)))

    def wrong_challenge() -> Presentation:
        return sign(vp(), **({"nonce": "other"} if jose else {"challenge": "other"}))

    def wrong_domain() -> Presentation:
        return sign(vp(), **({"aud": "https://evil.example"} if jose else {"domain": "https://evil.example"}))

    def v1_presentation() -> Presentation:
        document = vp()
        document["@context"] = ["https://www.w3.org/2018/credentials/v1"]
        return sign(document) if jose else document

    def no_proof() -> Presentation:
        return vp() if not jose else _sign_jwt(w, vp(), o, typ="vc+jwt")

    def wrong_purpose() -> Presentation:
        if jose:
            return _sign_jwt(w, vp(), o, typ="JWT")
        return _sign_di(w, vp(), o, suite, proof_purpose="assertionMethod")

    def expired_credential() -> Presentation:
        expired = w.agent_credential(
            o, ["orders:read"], delegators=["staff"], valid_until=w.clock.now() - timedelta(minutes=5)
        )
        return sign(vp([w.entry(w.smith_to_ordering()), w.entry(expired), w.entry(w.smith_role())]))

    return {
        "valid": lambda: sign(vp()),
        "tampered_credential": tampered_credential,
        "stripped_proof": stripped_proof,
        "undefined_term": undefined_term,
        "unknown_context": unknown_context,
        "inline_context": inline_context,
        "holder_mismatch": holder_mismatch,
        "missing_holder": missing_holder,
        "bad_signature": bad_signature,
        "too_many": too_many,
        "wrong_challenge": wrong_challenge,
        "wrong_domain": wrong_domain,
        "v1_presentation": v1_presentation,
        "no_proof": no_proof,
        "wrong_purpose": wrong_purpose,
        "expired_credential": expired_credential,
    }


def _reference(
    w: UrbanBites, presentation: Presentation
) -> tuple[str, tuple[tuple[bool, tuple[str, ...]], ...]]:
    """verify_presentation's verdict as the exchange used it: the first problem of the presentation
    itself, else the per-credential outcomes."""
    result = asyncio.run(
        verify_presentation(
            copy.deepcopy(presentation),
            resolver=w.resolver,
            clock=w.clock,
            challenge=NONCE,
            domain=DOMAIN,
            allowed_formats=FORMATS,
            max_credentials=MAX_CREDENTIALS,
            clock_skew=SKEW,
        )
    )
    blocking = [p for p in result.problems if p.code != "invalid_credential"]
    if result.document is None or blocking:
        return f"presentation_{blocking[0].code if blocking else 'not_verified'}", ()
    return "ok", tuple((c.verified, c.codes) for c in result.credentials)


def _ours(
    w: UrbanBites, presentation: Presentation, cache: VerifiedCredentialCache, terms: PresentationTerms
) -> tuple[str, tuple[tuple[bool, tuple[str, ...]], ...]]:
    try:
        result = asyncio.run(
            verify_subject_presentation(
                copy.deepcopy(presentation),
                resolver=w.resolver,
                clock=w.clock,
                challenge=NONCE,
                domain=DOMAIN,
                verify_credential=cache,
                terms=terms,
                max_credentials=MAX_CREDENTIALS,
                clock_skew=SKEW,
            )
        )
    except VerificationError as exc:
        return exc.reason, ()
    return "ok", tuple((c.verified, c.codes) for c in result.credentials)


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022", "jose"])
def test_verdicts_match_verify_presentation(suite: str) -> None:
    w = UrbanBites(suite)
    cache = VerifiedCredentialCache(allowed_formats=FORMATS, clock_skew=SKEW)
    terms = PresentationTerms()
    cases = _cases(w)
    presentations = {}
    for name, make in cases.items():
        try:
            presentations[name] = make()
        except VerificationError:
            # RDFC canonicalization refuses to sign an undefined term.
            assert (suite, name) == ("eddsa-rdfc-2022", "undefined_term")
    verdicts: dict[str, str] = {}
    for round_ in ("cold", "warm"):  # the second round answers from the caches where it may
        for name, presentation in presentations.items():
            expected = _reference(w, presentation)
            assert _ours(w, presentation, cache, terms) == expected, (round_, name)
            verdicts[name] = expected[0]
    assert cache.hits > 0
    # The cases do test what they are named after.
    assert verdicts["valid"] == "ok"
    assert verdicts["stripped_proof"] == "ok"  # left to the chain's rule 1
    assert verdicts["tampered_credential"] == "ok"
    assert verdicts["holder_mismatch"] == "presentation_holder_mismatch"
    assert verdicts["too_many"] == "presentation_too_large"
    assert verdicts["wrong_challenge"] == "presentation_challenge_mismatch"
    assert verdicts["wrong_domain"] == "presentation_domain_mismatch"
    assert verdicts["bad_signature"] == "presentation_bad_signature"
    assert verdicts["expired_credential"] == "ok"  # left to the chain's rule 4
    assert len(set(verdicts.values())) >= 9, verdicts


def test_presentation_terms_are_checked_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    """Safe mode (SECURITY SEC-30) expands a presentation's own terms once per exact content;
    a refusal is never remembered."""
    import did_agents.exchange.presentation as module

    expansions: list[Any] = []
    real_expand = module.expand

    def counting(document: Any) -> Any:
        expansions.append(document)
        return real_expand(document)

    monkeypatch.setattr(module, "expand", counting)
    w = UrbanBites("eddsa-jcs-2022")
    terms = PresentationTerms()
    vp = build_presentation(w.ordering.did, [])
    terms.check(vp)
    terms.check(copy.deepcopy(vp))
    assert len(expansions) == 1
    terms.check({**vp, "holder": w.payment.did})  # other content: expanded again
    assert len(expansions) == 2
    vp["favouriteColour"] = "blue"
    for _ in range(2):
        with pytest.raises(VerificationError) as refused:
            terms.check(vp)
        assert refused.value.reason == "undefined_term"
    assert len(expansions) == 4


# -- verify_presentation's injection points -------------------------------------------------


class _RecordingVerifier:
    """An ``EmbeddedVerifier`` that records the credentials it is given."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    async def __call__(self, credential: Any, /, *, resolver: Resolver, clock: Clock) -> VerificationResult:
        self.seen.append(credential)
        return await verify_credential(
            credential, resolver=resolver, clock=clock, allowed_formats=FORMATS, clock_skew=SKEW
        )


class _RecordingTerms:
    """A ``TermsVerdicts`` that records what it is asked and accepts everything."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def check(self, document: Any, /) -> None:
        self.seen.append(dict(document))


def _verify(w: UrbanBites, presentation: Presentation, **options: Any) -> VerificationResult:
    arguments: dict[str, Any] = {
        "resolver": w.resolver,
        "clock": w.clock,
        "challenge": NONCE,
        "domain": DOMAIN,
        "allowed_formats": FORMATS,
        "max_credentials": MAX_CREDENTIALS,
        "clock_skew": SKEW,
    }
    arguments.update(options)
    return asyncio.run(verify_presentation(copy.deepcopy(presentation), **arguments))


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "jose"])
def test_injected_verifier_gets_every_embedded_credential_with_a_proof_in_order(suite: str) -> None:
    """VCDM §4.12 "Unsigned Claims" stays verify_presentation's: an unsigned entry never reaches
    the injected verifier; every other entry does, the very object, in document order."""
    w = UrbanBites(suite)
    verifier = _RecordingVerifier()
    result = _verify(w, _cases(w)["stripped_proof"](), verify_credential=verifier)
    assert result.document is not None
    entries = result.document["verifiableCredential"]
    assert len(verifier.seen) == 2
    assert all(seen is entry for seen, entry in zip(verifier.seen, entries[1:], strict=True))
    assert result.credentials[0].codes == ("missing_proof",)
    assert [c.verified for c in result.credentials] == [False, True, True]
    assert result.codes == ("invalid_credential",)


def test_status_resolver_with_an_injected_verifier_is_misuse() -> None:
    w = UrbanBites("eddsa-jcs-2022")

    async def fetch(url: str) -> dict[str, Any]:
        raise AssertionError(url)

    with pytest.raises(ValueError, match="status"):
        _verify(w, _cases(w)["valid"](), verify_credential=_RecordingVerifier(), status_resolver=fetch)


@pytest.mark.parametrize(
    ("suite", "asked"),
    [("eddsa-jcs-2022", True), ("jose", True), ("eddsa-rdfc-2022", False)],
)
def test_injected_terms_check_the_presentations_own_terms(suite: str, asked: bool) -> None:
    """Safe mode (SECURITY SEC-30) on the presentation less its credentials, proof and JWT claims
    (VC-JOSE-COSE §3.1.3), through the injected ``terms``; RDFC proofs expand the document anyway."""
    w = UrbanBites(suite)
    terms = _RecordingTerms()
    result = _verify(w, _cases(w)["valid"](), terms=terms)
    assert result.verified
    assert [set(seen) for seen in terms.seen] == ([{"@context", "type", "holder"}] if asked else [])


def test_injected_terms_give_the_verdict() -> None:
    """The injected ``terms`` replaces the module's own check: its verdict is the one reported."""
    w = UrbanBites("eddsa-jcs-2022")
    presentation = _cases(w)["undefined_term"]()
    assert _verify(w, presentation).codes == ("undefined_term",)
    assert _verify(w, presentation, terms=_RecordingTerms()).verified


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022"])
@pytest.mark.parametrize(
    ("case", "code"), [("holder_mismatch", "holder_mismatch"), ("missing_holder", "missing_property")]
)
def test_fail_fast_verifies_no_credential_of_a_presentation_with_its_own_problem(
    suite: str, case: str, code: str
) -> None:
    """Holder binding (VCDM "Spoofing Attack", SECURITY SEC-33) refused after a valid Data Integrity
    proof: with ``fail_fast`` the embedded credentials are not verified at all; without it they
    are, and reported. (A ``vp+jwt`` is refused by the JOSE module before any of this.)"""
    w = UrbanBites(suite)
    presentation = _cases(w)[case]()
    verifier = _RecordingVerifier()
    fast = _verify(w, presentation, verify_credential=verifier, fail_fast=True)
    assert fast.codes == (code,)
    assert fast.credentials == ()
    assert verifier.seen == []
    full = _verify(w, presentation, verify_credential=verifier)
    assert full.codes == (code,)
    assert len(full.credentials) == len(verifier.seen) == 3


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "jose"])
def test_check_bounds_off_leaves_size_to_the_caller(suite: str) -> None:
    """DESIGN §10 bounds are applied unless the caller bounded the input itself."""
    w = UrbanBites(suite)
    presentation = _cases(w)["valid"]()
    assert _verify(w, presentation, max_bytes=1000).codes == ("too_large",)
    assert _verify(w, presentation, max_bytes=1000, check_bounds=False).verified


def test_subject_presentation_consults_no_credential_verifier_when_the_holder_is_wrong() -> None:
    """The adapter's caching behaviour: a refused presentation leaves the credential cache alone."""
    w = UrbanBites("eddsa-jcs-2022")
    cache = VerifiedCredentialCache(allowed_formats=FORMATS, clock_skew=SKEW)
    verdict = _ours(w, _cases(w)["holder_mismatch"](), cache, PresentationTerms())
    assert verdict == ("presentation_holder_mismatch", ())
    assert (cache.hits, cache.misses, len(cache)) == (0, 0, 0)
