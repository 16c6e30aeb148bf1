"""The subject token's presentation: its holder proof every time, its credentials through a cache.

:func:`verify_subject_presentation` is
``did_agents.credentials.verify.verify_presentation`` (which holds the rules)
used the way the token exchange needs it, for the VCDM 2.0 presentations it
accepts (Data Integrity JSON, ``vp+jwt``), with two injections that make a
repeated exchange cheap:

* every embedded credential is verified by the exchange's ``CredentialVerifier``
  (its :class:`~did_agents.exchange.credential_cache.VerifiedCredentialCache`),
  so an unchanged delegation is not canonicalized and signature-checked again;
* the JSON-LD safe-mode check of the presentation's *own* terms (VC-DI §2.4.1
  "Validating Contexts", SECURITY SEC-29/30) is remembered by
  :class:`PresentationTerms` by the exact content it checks: the presentation
  without ``verifiableCredential``, ``proof`` and JWT claims, which is the same
  at every exchange of one agent (``@context``, ``type``, ``holder``).
  Expansion is a function of that content and the bundled contexts, so equal
  content gives the same verdict.

The holder proof (purpose ``authentication``, the verifier's challenge and
domain), the data model, the context allowlist and the holder binding are
checked on every call. Any problem with the presentation itself raises
``VerificationError`` with reason ``presentation_<code>`` (the code as
``verify_presentation`` names it), before any embedded credential is verified;
problems of embedded credentials are left in the returned results for the
chain's rule 1, which names them better. The subject token's size and depth
were bounded when the exchange parsed it (``strict_json``), so they are not
walked again. ``tests/exchange/test_presentation.py`` checks the verdicts
against ``verify_presentation`` without injections, cold and warm.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal, cast

from did_agents.clock import Clock
from did_agents.credentials.model import as_list
from did_agents.credentials.verify import EmbeddedVerifier, VerificationResult, verify_presentation
from did_agents.delegation.chain import CredentialVerifier
from did_agents.did.resolver import Resolver
from did_agents.errors import MalformedError, VerificationError
from did_agents.jsonld import expand

__all__ = ["PresentationTerms", "SubjectPresentation", "verify_subject_presentation"]

#: The formats of the exchange; a ``vc+jwt`` given as the presentation is refused as malformed.
_FORMATS: Final = frozenset({"data-integrity", "vc+jwt", "vp+jwt"})
#: Problems of embedded credentials, left to the chain's rule 1.
_CREDENTIAL_PROBLEM: Final = "invalid_credential"


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
    """The safe-mode verdicts on presentations' own terms, by exact content (bounded LRU);
    a ``did_agents.credentials.verify.TermsVerdicts``."""

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
    result = await verify_presentation(
        presentation,
        resolver=resolver,
        clock=clock,
        challenge=challenge,
        domain=domain,
        max_credentials=max_credentials,
        allowed_formats=_FORMATS,
        clock_skew=clock_skew,
        check_bounds=False,
        # The exchange's verifiers answer VerificationResult (VerifiedCredentialCache).
        verify_credential=cast(EmbeddedVerifier, verify_credential),
        terms=terms,
        fail_fast=True,
    )
    for problem in result.problems:
        if problem.code != _CREDENTIAL_PROBLEM:
            raise VerificationError(
                f"subject_token: {problem.message}"[:300], reason=f"presentation_{problem.code}"[:64]
            )
    document = result.document
    assert document is not None and result.holder is not None and result.verification_method is not None
    return SubjectPresentation(
        document=document,
        format="vp+jwt" if result.format == "vp+jwt" else "data-integrity",
        holder=result.holder,
        verification_method=result.verification_method,
        # The very objects the credential results are for (validate_presentation's entries).
        entries=tuple(as_list(document.get("verifiableCredential"))),
        credentials=result.credentials,
    )
