"""Shared attack harness for the SECURITY.md cases against the core library.

``Attack`` wraps the Urban Bites world (real keys, real signed credentials, real
status lists) and runs a presentation exactly as the token endpoint does
before minting: ``verify_presentation`` (holder proof bound to the verifier's
challenge and domain, every embedded credential verified) and then
``verify_chain`` (DESIGN §5 rules 1-7). ``refusal`` returns where and why the
presentation was refused; tests compare it with the expected problem code or
rule reason. Every refusal here maps to HTTP 400 ``invalid_request`` (NEG-INV 1):
``assert_invalid_request`` checks that mapping for chain errors.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from did_agents.credentials.verify import build_presentation, sign_presentation, verify_presentation
from did_agents.errors import DIDAgentsError, VerificationError
from tests.delegation.urban_bites import MCP, Party, UrbanBites

__all__ = ["CHALLENGE", "DOMAIN", "Attack", "Refusal", "assert_invalid_request", "run"]

CHALLENGE = "sec-challenge-0123456789"
DOMAIN = "https://sts.example.com"
EXCHANGE_FORMATS = frozenset({"data-integrity", "vc+jwt", "vp+jwt"})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@dataclass(frozen=True)
class Refusal:
    """``layer`` is ``"presentation"`` or ``"chain"``; ``codes`` the problem codes / rule reason."""

    layer: str
    codes: tuple[str, ...]
    error: DIDAgentsError | None = None


def assert_invalid_request(error: DIDAgentsError) -> None:
    """NEG-INV 1: a token the STS cannot accept is HTTP 400 ``invalid_request`` (RFC 8693 §2.2.2)."""
    assert isinstance(error, VerificationError), repr(error)
    assert error.error == "invalid_request"
    assert error.status_code == 400


class Attack(UrbanBites):
    """The Urban Bites world plus the presentation + chain pipeline of the STS."""

    def standard_chain(self) -> list[Any]:
        """D_UA (smith → ordering) and the credentials the chain needs: accepted as is."""
        return [self.smith_to_ordering(), self.ordering_acc(), self.smith_role()]

    def present(
        self,
        credentials: Sequence[Mapping[str, Any] | str],
        holder: Party,
        *,
        signer: Party | None = None,
        mutate: Callable[[dict[str, Any]], None] | None = None,
        challenge: str = CHALLENGE,
        domain: str = DOMAIN,
        vp_suite: str = "eddsa-jcs-2022",
    ) -> dict[str, Any] | str:
        signer = signer or holder
        vp = build_presentation(holder.did, [copy.deepcopy(c) for c in credentials])
        if mutate is not None:
            mutate(vp)
        # The holder signs with JCS: signing with RDFC would refuse undefined terms the attacks
        # put into embedded credentials (the attacker chooses how to sign the presentation).
        suite = vp_suite
        return (
            sign_presentation(
                vp,
                key=signer.key,
                verification_method=signer.vm,
                challenge=challenge,
                domain=domain,
                suite=suite,
                clock=self.clock,
            )
            if _holder_is(vp, signer)
            else _force_sign(vp, signer, suite, self, challenge, domain)
        )

    async def pipeline(self, vp: Mapping[str, Any] | str, **chain_kw: Any) -> Any:
        result = await verify_presentation(
            vp,
            resolver=self.resolver,
            clock=self.clock,
            challenge=CHALLENGE,
            domain=DOMAIN,
            # As the token exchange (did_agents/exchange/token_exchange.py step 6): status is
            # rule 5 of the chain; VCDM 2.0 formats only.
            status_resolver=None,
            allowed_formats=EXCHANGE_FORMATS,
        )
        if not result.verified:
            nested = tuple(code for c in result.credentials for code in c.codes)
            return Refusal("presentation", result.codes + nested)
        assert result.holder is not None
        entries = (result.document or {}).get("verifiableCredential", [])
        chain_kw.setdefault("status_resolver", self.fetch)
        chain_kw.setdefault("resource", MCP)
        from did_agents.delegation.chain import verify_chain

        try:
            return await verify_chain(
                entries,
                holder=result.holder,
                trust=self.policy(),
                resolver=self.resolver,
                clock=self.clock,
                **chain_kw,
            )
        except VerificationError as exc:
            assert_invalid_request(exc)
            return Refusal("chain", (exc.reason,), exc)

    def refusal(self, credentials: Sequence[Any], holder: Party, **kw: Any) -> Refusal:
        chain_kw = kw.pop("chain_kw", {})
        outcome = run(self.pipeline(self.present(credentials, holder, **kw), **chain_kw))
        assert isinstance(outcome, Refusal), f"accepted: {outcome!r}"
        return outcome


def _holder_is(vp: Mapping[str, Any], signer: Party) -> bool:
    holder = vp.get("holder")
    return holder == signer.did


def _force_sign(
    vp: dict[str, Any], signer: Party, suite: str, world: UrbanBites, challenge: str, domain: str
) -> dict[str, Any]:
    """Sign a presentation whose ``holder`` is not the signer (sign_presentation refuses that)."""
    from did_agents.proofs.data_integrity import add_proof

    return add_proof(
        vp,
        key=signer.key,
        verification_method=signer.vm,
        cryptosuite=suite,
        proof_purpose="authentication",
        challenge=challenge,
        domain=domain,
        clock=world.clock,
    )


def unsigned_d_ua(w: UrbanBites, **overrides: Any) -> dict[str, Any]:
    """D_UA (smith → ordering, orders:read/create, maxDepth 1) before signing."""
    from datetime import timedelta

    from did_agents.credentials.vocabulary import build_delegation_credential
    from tests.delegation.urban_bites import T0, caps

    args: dict[str, Any] = {
        "issuer": w.smith.did,
        "agent": w.ordering.did,
        "capabilities": caps("orders:read", "orders:create"),
        "valid_from": T0,
        "valid_until": T0 + timedelta(hours=8),
        "max_depth": 1,
        "credential_status": w.status(),
    }
    args.update(overrides)
    return build_delegation_credential(**args)


def di_sign(
    w: UrbanBites,
    document: Mapping[str, Any],
    signer: Party,
    *,
    purpose: str = "assertionMethod",
    verification_method: str | None = None,
    suite: str = "eddsa-jcs-2022",
    **options: Any,
) -> dict[str, Any]:
    """A Data Integrity proof with every knob the attacks turn.

    The attacker's signing tool: ``add_proof`` with its signer-side did:key
    binding check switched off, so a proof can name any verification method
    (the verifier under test is not patched).
    """
    from unittest import mock

    from did_agents.proofs import data_integrity

    with mock.patch.object(data_integrity, "_check_did_key_binding", lambda *_: None):
        return data_integrity.add_proof(
            document,
            key=signer.key,
            verification_method=verification_method or signer.vm,
            cryptosuite=suite,
            proof_purpose=purpose,
            clock=w.clock,
            **options,  # type: ignore[arg-type]
        )
