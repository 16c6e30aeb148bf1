"""The W3C VC API issuer endpoints, as core functions.

- ``POST /credentials/issue`` (VC API §"Issue Credential"): :func:`issue_credential`
  validates the credential (VCDM 2.0 shape; every term defined by a known,
  bundled context — JSON-LD safe mode, VC Data Integrity §4.1), checks that its
  ``issuer`` is this organization, optionally adds ``credentialStatus`` entries,
  secures it and records it. Invalid credentials are ``MalformedError`` (400).
  With ``issuer_did_method="did:key"`` (opt-in, ``DID_AGENTS_VC_API_ISSUER``, for the
  W3C DI test suites, which resolve did:key only) the issuer is the did:key of the
  organization's current signing key and the proof's verification method is
  ``did:key:z…#z…`` (:func:`vc_api_signer`); status entries and audit are unchanged.
- ``POST /credentials/status`` (VC API §"Update Status"):
  :func:`update_credential_status` sets or clears a revocation/suspension bit
  of a credential this issuer issued.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import Connection

from did_agents import jsonld
from did_agents.credentials.model import validate_credential
from did_agents.did import key as did_key
from did_agents.errors import DIDAgentsError, MalformedError
from did_agents.issuance.context import Actor, Issuer
from did_agents.issuance.credentials import new_credential_id
from did_agents.issuance.organization import OrganizationIdentity
from did_agents.issuance.securing import FORMATS, SecuredCredential, secure_credential
from did_agents.issuance.status import StatusPurpose, allocate_status, set_credential_status
from did_agents.storage.credentials import CredentialRepository, IssuedCredential

__all__ = [
    "IssueResult",
    "IssuerDIDMethod",
    "issue_credential",
    "update_credential_status",
    "vc_api_signer",
]

#: Which DID ``POST /credentials/issue`` signs as (``DID_AGENTS_VC_API_ISSUER``).
IssuerDIDMethod = Literal["did:web", "did:key"]

_KNOWN_OPTIONS: Final = frozenset({"format", "cryptosuite", "credentialStatus", "type", "credentialId"})
_STATUS_VALUES: Final = {
    "revoked": ("revocation", True),
    "suspended": ("suspension", True),
    "unsuspended": ("suspension", False),
    "active": ("suspension", False),
}


@dataclass(frozen=True)
class IssueResult:
    credential_id: str
    secured: SecuredCredential


def _issuer_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, Mapping) else value


def vc_api_signer(organization: OrganizationIdentity, method: IssuerDIDMethod) -> tuple[str, str]:
    """``(issuer DID, verification method id)`` of VC API credentials.

    ``did:web``: the organization DID and its active key id. ``did:key``: the
    did:key of the same active key (did:key v0.7 §"Create") and its only
    verification method ``did:key:z…#z…`` (§"Signature Method Creation Algorithm"),
    which controls it, as VC Data Integrity §5.9 "Verification Method Binding" asks.
    """
    if method == "did:key":
        did = did_key.create(organization.signing_key.public_key)
        return did, did_key.verification_method_id(did)
    return organization.did, organization.signing_kid


def _status_purposes(option: Any) -> tuple[StatusPurpose, ...]:
    entries = option if isinstance(option, list) else [option]
    purposes: list[StatusPurpose] = []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("type") != "BitstringStatusListEntry":
            raise MalformedError(
                "options.credentialStatus must be {type: BitstringStatusListEntry[, statusPurpose]}",
                reason="invalid_options",
            )
        purpose = entry.get("statusPurpose", "revocation")
        if purpose == "revocation":
            purposes.append("revocation")
        elif purpose == "suspension":
            purposes.append("suspension")
        else:
            raise MalformedError("statusPurpose must be revocation or suspension", reason="invalid_options")
    if len(set(purposes)) != len(purposes):
        raise MalformedError("each statusPurpose at most once", reason="invalid_options")
    return tuple(purposes)


def issue_credential(
    issuer: Issuer,
    credential: object,
    options: object,
    actor: Actor,
    *,
    issuer_did_method: IssuerDIDMethod = "did:web",
) -> IssueResult:
    """Secure and record ``credential`` (see module doc)."""
    organization = issuer.organization  # one key for the checks and the proof, even across a rotation
    issuer_did, verification_method = vc_api_signer(organization, issuer_did_method)
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise MalformedError("options must be an object", reason="invalid_options")
    unknown = set(options) - _KNOWN_OPTIONS
    if unknown:
        raise MalformedError(f"unsupported options {sorted(unknown)}", reason="invalid_options")
    securing = options.get("format") or options.get("cryptosuite") or issuer.default_format
    if securing not in FORMATS:
        raise MalformedError(f"format must be one of {', '.join(FORMATS)}", reason="unsupported_format")
    if not isinstance(credential, dict):
        raise MalformedError("credential must be a JSON object", reason="malformed")
    if "proof" in credential:
        raise MalformedError("the credential to issue must not have a proof", reason="malformed")
    if "issuer" not in credential:
        # VCDM 2.0 §4.7: issuer is required; VC API issueCredential answers 400 when it
        # does not match the issuer's configuration (vc-api-issuer-test-suite
        # "credential MUST have property issuer").
        raise MalformedError("credential.issuer is required", reason="missing_property")
    document = copy.deepcopy(credential)
    parsed = validate_credential(document)
    if parsed.issuer != issuer_did:
        raise MalformedError(f"issuer must be this issuer's DID {issuer_did}", reason="wrong_issuer")
    purposes = _status_purposes(options["credentialStatus"]) if "credentialStatus" in options else ()
    if purposes and "credentialStatus" in document:
        raise MalformedError("the credential already has a credentialStatus", reason="invalid_options")
    if True:  # every format: JSON-LD safe mode, every term defined (VC Data Integrity §4.1)
        try:
            jsonld.expand(document, safe=True)
        except DIDAgentsError as exc:
            raise MalformedError(exc.description, reason=exc.reason) from exc
    subject_ids = parsed.subject_ids
    subject = subject_ids[0] if subject_ids else ""
    types = [t for t in parsed.types if t != "VerifiableCredential"]

    def work(conn: Connection) -> IssueResult:
        record_id = parsed.id
        if record_id is None or CredentialRepository(conn).find(record_id) is not None:
            if purposes:
                if record_id is not None:
                    raise MalformedError(
                        "a credential with this id was already issued", reason="credential_exists"
                    )
                record_id = new_credential_id()
                document["id"] = record_id
            else:
                record_id = new_credential_id()  # internal key only; the document keeps its own id
        if purposes:
            document["credentialStatus"] = allocate_status(conn, issuer, record_id, purposes)
        secured = secure_credential(
            document,
            organization,
            str(securing),
            clock=issuer.clock,
            verification_method=verification_method,
        )
        CredentialRepository(conn).add(
            IssuedCredential(
                id=record_id,
                type=(types[0] if types else "VerifiableCredential")[:128],
                issuer_did=issuer_did,
                subject_did=subject[:2048],
                format=secured.format,
                body=secured.body,
                issued_at=issuer.clock.now(),
                valid_from=parsed.valid_from,
                valid_until=parsed.valid_until,
            )
        )
        return IssueResult(record_id, secured)

    return issuer.audited(
        type="credential.issued",
        actor=actor,
        subject=subject[:2048] or None,
        action="vc_api.issue",
        work=work,
        describe=lambda r: {"credential_id": r.credential_id, "format": r.secured.format},
    )


def update_credential_status(issuer: Issuer, body: object, actor: Actor) -> tuple[str, list[str]]:
    """VC API Update Status: ``{"credentialId", "credentialStatus": [{"type", "status"}]}``.

    ``status`` is ``revoked``, ``suspended`` or ``unsuspended``/``active``.
    Revocation is final: a revoked credential cannot be un-revoked.
    """
    if not isinstance(body, Mapping):
        raise MalformedError("body must be a JSON object", reason="malformed")
    credential_id = body.get("credentialId")
    if not isinstance(credential_id, str) or not credential_id or len(credential_id) > 512:
        raise MalformedError("credentialId is required", reason="missing_property")
    changes = body.get("credentialStatus")
    if isinstance(changes, Mapping):
        changes = [changes]
    if not isinstance(changes, list) or not changes or len(changes) > 2:
        raise MalformedError("credentialStatus must be a list of {type, status}", reason="malformed")
    wanted: list[tuple[StatusPurpose, bool, str]] = []
    for change in changes:
        status = change.get("status") if isinstance(change, Mapping) else None
        if not isinstance(status, str) or status not in _STATUS_VALUES:
            raise MalformedError("status must be revoked, suspended or unsuspended", reason="invalid_status")
        purpose, value = _STATUS_VALUES[status]
        wanted.append(("revocation" if purpose == "revocation" else "suspension", value, status))

    def work(conn: Connection) -> tuple[str, list[str]]:
        credentials = CredentialRepository(conn)
        credentials.get(credential_id)
        done = []
        for purpose, value, status in wanted:
            set_credential_status(conn, issuer, credential_id, purpose, value)
            if purpose == "revocation":
                credentials.mark_revoked(credential_id, now=issuer.clock.now())
            done.append(status)
        return credential_id, done

    return issuer.audited(
        type="credential.status_changed",
        actor=actor,
        action="vc_api.status",
        resource=credential_id,
        work=work,
        describe=lambda r: {"credential_id": r[0], "statuses": r[1]},
    )
