"""Data Integrity proofs (W3C VC Data Integrity 1.0): add and verify a ``DataIntegrityProof``.

The generic algorithms live here: DI §4.2 "Add Proof" and §4.4 "Verify Proof",
the proof data model of DI §2.1 (``created``, ``expires``, ``domain``,
``challenge``, ``proofValue``), proof purposes (DI §2.2) and the retrieval of
the verification method through the resolver (CID 1.0 §"Retrieve Verification
Method", DI §5.9 "Verification Method Binding", §5.10 "Verification
Relationship Validation"). What is specific to a cryptosuite (transformation,
hashing, proof configuration, serialization, verification) sits behind the
:class:`Cryptosuite` protocol; the built-in suites are

* ``eddsa-rdfc-2022`` and ``eddsa-jcs-2022`` (W3C Data Integrity EdDSA Cryptosuites v1.0),
* ``ecdsa-rdfc-2019`` with P-256 keys (W3C Data Integrity ECDSA Cryptosuites v1.0).

Policy beyond the specification (fail closed, SECURITY SEC-24/26/32/34/35):

* one proof per document: a proof set or chain (a list, or ``previousProof``)
  is refused with reason ``malformed``;
* ``created``/``expires`` must be ``dateTimeStamp`` values with a time zone;
  ``created`` more than ``max_clock_skew`` in the future is ``not_yet_valid``,
  ``expires`` more than ``max_clock_skew`` in the past is ``expired``;
* the verification method's key type must be the suite's (``wrong_key_type``).

Refusals raise :class:`~did_agents.errors.VerificationError` (or its subclass
``SignatureError``) with one of the reasons ``malformed``,
``unsupported_cryptosuite``, ``wrong_proof_type``, ``wrong_purpose``,
``unknown_key``, ``wrong_key_type``, ``bad_signature``, ``challenge_mismatch``,
``domain_mismatch``, ``expired``, ``not_yet_valid``, ``undefined_term``,
``unknown_context`` (the last two from JSON-LD processing in the RDFC suites).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol

from did_agents import multibase
from did_agents.clock import Clock, SystemClock, format_datetime, parse_datetime
from did_agents.did.document import Relationship, VerificationMethod
from did_agents.did.resolver import Resolver
from did_agents.errors import DIDAgentsError, MalformedError, ResolutionError, VerificationError
from did_agents.keys import KeyType, PrivateKey, PublicKey
from did_agents.proofs.ecdsa_rdfc_2019 import EcdsaRdfc2019
from did_agents.proofs.eddsa_jcs_2022 import EddsaJcs2022
from did_agents.proofs.eddsa_rdfc_2022 import EddsaRdfc2022

__all__ = [
    "DATA_INTEGRITY_PROOF",
    "DEFAULT_MAX_CLOCK_SKEW",
    "Cryptosuite",
    "ProofPurpose",
    "VerifiedProof",
    "add_proof",
    "get_cryptosuite",
    "register_cryptosuite",
    "supported_cryptosuites",
    "verify_proof",
]

#: DI §3.1: the proof type every cryptosuite here uses.
DATA_INTEGRITY_PROOF: Final = "DataIntegrityProof"
DEFAULT_MAX_CLOCK_SKEW: Final = timedelta(minutes=5)

#: DI §2.2 "Proof Purposes" that map onto a DID verification relationship.
ProofPurpose = Literal["assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"]

# DI §2.2: each proof purpose is checked against the verification relationship
# of the same name in the controller document (DI §5.10).
_RELATIONSHIPS: Final[Mapping[str, Relationship]] = MappingProxyType(
    {
        "assertionMethod": "assertionMethod",
        "authentication": "authentication",
        "capabilityInvocation": "capabilityInvocation",
        "capabilityDelegation": "capabilityDelegation",
    }
)


class Cryptosuite(Protocol):
    """One Data Integrity cryptosuite (DI §3 "Cryptographic Suites").

    The generic layer calls the steps in the order of the suites' "Create
    Proof" and "Verify Proof" algorithms. ``unsecured`` and ``options`` are
    never mutated; a step that needs a changed document returns a new one.
    """

    @property
    def name(self) -> str:
        """The ``cryptosuite`` identifier, e.g. ``eddsa-jcs-2022``."""
        ...

    @property
    def key_type(self) -> KeyType:
        """The only key type this suite signs and verifies with."""
        ...

    def proof_options(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        """Create Proof steps 1-2: the proof object (still without ``proofValue``)."""
        ...

    def verification_document(
        self, unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Verify Proof: checks on the proof's ``@context``; the document to transform."""
        ...

    def transform(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        """The suite's "Transformation" algorithm: canonical bytes of the document."""
        ...

    def proof_configuration(self, unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        """The suite's "Proof Configuration" algorithm: canonical bytes of the proof options."""
        ...

    def hash(self, transformed: bytes, proof_configuration: bytes) -> bytes:
        """The suite's "Hashing" algorithm: ``H(proof configuration) || H(document)``."""
        ...

    def serialize(self, hash_data: bytes, key: PrivateKey) -> bytes:
        """The suite's "Proof Serialization" algorithm: the raw signature."""
        ...

    def verify(self, hash_data: bytes, proof_bytes: bytes, public_key: PublicKey) -> None:
        """The suite's "Proof Verification" algorithm; raises ``SignatureError``."""
        ...


_SUITES: dict[str, Cryptosuite] = {}


def register_cryptosuite(suite: Cryptosuite) -> None:
    """Make ``suite`` available to :func:`add_proof` and :func:`verify_proof` (replaces a same-named one)."""
    _SUITES[suite.name] = suite


def supported_cryptosuites() -> tuple[str, ...]:
    """The registered cryptosuite identifiers."""
    return tuple(_SUITES)


def get_cryptosuite(name: str) -> Cryptosuite:
    """The registered suite ``name``; ``VerificationError(reason="unsupported_cryptosuite")`` otherwise."""
    suite = _SUITES.get(name)
    if suite is None:
        raise VerificationError(
            f"cryptosuite {name[:80]!r} is not supported", reason="unsupported_cryptosuite"
        )
    return suite


for _builtin in (EddsaRdfc2022(), EddsaJcs2022(), EcdsaRdfc2019()):
    register_cryptosuite(_builtin)


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a verified proof establishes: who signed, with which key, for what."""

    verification_method: VerificationMethod
    #: The DID (controller document) the key belongs to; callers bind it to
    #: the credential's ``issuer`` or the presentation's ``holder``.
    controller: str
    cryptosuite: str
    proof_purpose: str
    created: datetime | None
    expires: datetime | None = None


def _malformed(description: str) -> VerificationError:
    return VerificationError(description, reason="malformed")


def _copy_json(value: Any) -> Any:
    # A deep copy of the dicts and lists of a JSON value (other values are shared), cheaper
    # than copy.deepcopy. Strings, most of the leaves, skip the recursive call.
    if isinstance(value, dict):
        return {k: v if type(v) is str else _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) is str else _copy_json(v) for v in value]
    return value


def _check_did_key_binding(verification_method: str, public_key: PublicKey) -> None:
    # did:key §"Signature Method Creation": the only signing method of a did:key is
    # did:key:<mk>#<mk>. Signing under another did:key's identifier is a caller bug
    # that would only surface at verification; catch it here.
    if verification_method.startswith("did:key:"):
        multikey = public_key.to_multikey()
        if verification_method != f"did:key:{multikey}#{multikey}":
            raise ValueError("verification_method does not name the signing key's did:key method")


def add_proof(
    document: Mapping[str, Any],
    *,
    key: PrivateKey,
    verification_method: str,
    cryptosuite: str,
    proof_purpose: ProofPurpose = "assertionMethod",
    created: datetime | None = None,
    expires: datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Sign ``document`` and return a new dict: a copy of it with a ``proof`` (DI §4.2 "Add Proof").

    ``created`` defaults to ``clock.now()`` (the system clock if no clock is
    given), written as a whole-second UTC ``dateTimeStamp``. The input is
    never mutated, and the result shares no dict or list with it (nor the
    proof with the rest of the result): changing one afterwards never changes
    the other, nor what was signed. Raises ``ValueError`` for misuse: an
    unknown cryptosuite, a key of the wrong type, a document that already has a proof (proof sets are
    not supported), naive datetimes, ``expires`` not after ``created``. A
    document the suite cannot canonicalize raises what canonicalization
    raises: ``VerificationError`` (``undefined_term``, ``unknown_context``) or
    ``MalformedError``.
    """
    suite = _SUITES.get(cryptosuite)
    if suite is None:
        raise ValueError(f"cryptosuite {cryptosuite!r} is not supported")
    if key.key_type is not suite.key_type:
        raise ValueError(f"{cryptosuite} needs a {suite.key_type.value} key, not {key.key_type.value}")
    if not isinstance(document, Mapping):
        raise ValueError("document must be a JSON object")
    if "proof" in document:
        raise ValueError("document already has a proof; proof sets and chains are not supported")
    if proof_purpose not in _RELATIONSHIPS:
        raise ValueError(f"unknown proof purpose {proof_purpose!r}")
    _check_did_key_binding(verification_method, key.public_key)
    if created is None:
        created = (clock or SystemClock()).now()
    if created.tzinfo is None or (expires is not None and expires.tzinfo is None):
        raise ValueError("created and expires must be timezone-aware datetimes")
    created_text = format_datetime(created)
    if expires is not None and parse_datetime(format_datetime(expires)) <= parse_datetime(created_text):
        raise ValueError("expires must be after created")

    # DI §2.1: the proof's properties. Key order follows the specification's examples.
    options: dict[str, Any] = {
        "type": DATA_INTEGRITY_PROOF,
        "cryptosuite": suite.name,
        "created": created_text,
    }
    if expires is not None:
        options["expires"] = format_datetime(expires)
    options["verificationMethod"] = verification_method
    options["proofPurpose"] = proof_purpose
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain

    # The suite's "Create Proof" algorithm (VC-DI-EDDSA §3.2.1 / §3.3.1, VC-DI-ECDSA §3.2.1).
    # A shallow copy is enough: suites never mutate their inputs (Cryptosuite), and the
    # one deep copy, below, is the returned document.
    unsecured = dict(document)
    proof = suite.proof_options(unsecured, options)
    proof_configuration = suite.proof_configuration(unsecured, proof)
    transformed = suite.transform(unsecured, options)
    hash_data = suite.hash(transformed, proof_configuration)
    proof["proofValue"] = multibase.encode(suite.serialize(hash_data, key), "z")

    # DI §4.2 steps 2-4 hold by construction (type, verificationMethod,
    # proofPurpose, domain and challenge are copied from the options).
    # Steps 5-7: a copy of the input document with the proof set.
    secured: dict[str, Any] = _copy_json(unsecured)
    secured["proof"] = _copy_json(proof)  # shares nothing (e.g. @context) with the document
    return secured


def _string(proof: Mapping[str, Any], name: str) -> str:
    value = proof.get(name)
    if not isinstance(value, str) or not value:
        raise _malformed(f"proof.{name} must be a non-empty string")
    return value


def _optional_time(proof: Mapping[str, Any], name: str) -> datetime | None:
    value = proof.get(name)
    if value is None:
        return None
    try:
        # DI §2.1: created / expires MUST be XMLSCHEMA11-2 dateTimeStamp strings.
        # (Values without an offset MAY be read as UTC; we refuse them, SEC-34.)
        return parse_datetime(value)
    except ValueError as exc:
        raise _malformed(f"proof.{name} is not a dateTimeStamp") from exc


def _domains(value: Any) -> frozenset[str]:
    # DI §2.1: domain is a string or an unordered set of strings.
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise _malformed("proof.domain must be a string or a non-empty list of strings")


_MAX_PROOF_VALUE_LENGTH: Final = 256


def _proof_bytes(proof: Mapping[str, Any]) -> bytes:
    value = proof.get("proofValue")
    # DI §2.1 proofValue: a Multibase value; the suites use base58-btc ("z").
    if not isinstance(value, str) or not value.startswith("z"):
        raise _malformed("proof.proofValue must be a base58-btc multibase string ('z…')")
    if len(value) > _MAX_PROOF_VALUE_LENGTH:
        raise _malformed("proof.proofValue is too long")
    try:
        return multibase.b58decode(value[1:])
    except MalformedError as exc:
        raise _malformed("proof.proofValue is not valid base58-btc") from exc


async def verify_proof(
    document: Mapping[str, Any],
    *,
    resolver: Resolver,
    expected_purpose: ProofPurpose,
    clock: Clock,
    challenge: str | None = None,
    domain: str | None = None,
    max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW,
    allowed_cryptosuites: Collection[str] | None = None,
) -> VerifiedProof:
    """Verify the single ``DataIntegrityProof`` of ``document`` (DI §4.4 "Verify Proof").

    ``expected_purpose`` is checked against ``proof.proofPurpose`` and, through
    ``resolver``, against the verification relationships of the controller
    document. When the verifier gives a ``challenge`` or ``domain``, the proof
    must carry the same value (for presentations: the verifier's nonce and
    its own identifier). ``allowed_cryptosuites`` narrows the registered
    suites (SECURITY SEC-35). Returns :class:`VerifiedProof`; raises
    ``VerificationError`` / ``SignatureError`` with a ``reason`` (module docstring).
    """
    relationship = _RELATIONSHIPS.get(expected_purpose)
    if relationship is None:
        raise ValueError(f"unknown proof purpose {expected_purpose!r}")
    if max_clock_skew < timedelta(0):
        raise ValueError("max_clock_skew must not be negative")

    # DI §4.4 step 2: the secured document and its proof must be maps.
    if not isinstance(document, Mapping):
        raise _malformed("the secured document must be a JSON object")
    proof = document.get("proof")
    if proof is None:
        raise _malformed("the document has no proof")
    if isinstance(proof, list):
        raise _malformed(f"proof sets and chains are not supported (found {len(proof)} proofs)")
    if not isinstance(proof, Mapping):
        raise _malformed("proof must be a JSON object")

    # DI §4.4 step 4: type, verificationMethod and proofPurpose must exist.
    proof_type = _string(proof, "type")
    vm_url = _string(proof, "verificationMethod")
    purpose = _string(proof, "proofPurpose")
    if proof_type != DATA_INTEGRITY_PROOF:
        raise VerificationError(
            f"proof type {proof_type[:80]!r} is not {DATA_INTEGRITY_PROOF}", reason="wrong_proof_type"
        )
    # DI §2.1 cryptosuite: MUST be specified for DataIntegrityProof, and be a string.
    suite_name = _string(proof, "cryptosuite")
    suite = _SUITES.get(suite_name)
    if suite is None or (allowed_cryptosuites is not None and suite_name not in allowed_cryptosuites):
        raise VerificationError(
            f"cryptosuite {suite_name[:80]!r} is not supported", reason="unsupported_cryptosuite"
        )
    if "previousProof" in proof:
        raise _malformed("proof chains (previousProof) are not supported")

    # DI §4.4 step 5 / §5.11 "Proof Purpose Validation".
    if purpose != expected_purpose:
        raise VerificationError(
            f"proof purpose {purpose[:80]!r} is not the expected {expected_purpose!r}",
            reason="wrong_purpose",
        )
    # DI §4.4 step 6: the verifier's domain must be the same set of strings as proof.domain.
    proof_domain = proof.get("domain")
    if domain is not None and (proof_domain is None or _domains(proof_domain) != {domain}):
        raise VerificationError("proof.domain does not match the expected domain", reason="domain_mismatch")
    if proof_domain is not None and domain is None:
        _domains(proof_domain)  # shape only
    # DI §4.4 step 7: the verifier's challenge must equal proof.challenge.
    proof_challenge = proof.get("challenge")
    if proof_challenge is not None and not isinstance(proof_challenge, str):
        raise _malformed("proof.challenge must be a string")
    if challenge is not None and proof_challenge != challenge:
        raise VerificationError(
            "proof.challenge does not match the expected challenge", reason="challenge_mismatch"
        )

    # DI §2.1 created / expires against the verifier's clock.
    created = _optional_time(proof, "created")
    expires = _optional_time(proof, "expires")
    now = clock.now()
    if created is not None and created > now + max_clock_skew:
        raise VerificationError("proof.created is in the future", reason="not_yet_valid")
    if expires is not None and now > expires + max_clock_skew:
        raise VerificationError("the proof has expired", reason="expired")

    proof_bytes = _proof_bytes(proof)

    # CID 1.0 §"Retrieve Verification Method" (via the resolver): the key must be
    # listed under the relationship named by the proof purpose (DI §5.10).
    try:
        vm = await resolver.verification_method(vm_url, relationship)
    except (ResolutionError, MalformedError) as exc:
        raise VerificationError(
            f"cannot use verification method {vm_url[:120]}: {exc.description}"
            f" ({suite.name} needs a {suite.key_type.value} key)",
            reason="unknown_key",
        ) from exc
    if vm.public_key.key_type is not suite.key_type:
        raise VerificationError(
            f"{suite.name} needs a {suite.key_type.value} key; {vm.id[:120]} is {vm.public_key.key_type.value}",
            reason="wrong_key_type",
        )

    # The suite's "Verify Proof" algorithm (VC-DI-EDDSA §3.2.2 / §3.3.2, VC-DI-ECDSA §3.2.2),
    # steps 1-2: shallow copies are enough, nothing below mutates them.
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    proof_options = {name: value for name, value in proof.items() if name != "proofValue"}
    try:
        to_transform = suite.verification_document(unsecured, proof_options)
        transformed = suite.transform(to_transform, proof_options)
        proof_configuration = suite.proof_configuration(to_transform, proof_options)
    except VerificationError:
        raise
    except DIDAgentsError as exc:  # MalformedError / InputTooLargeError from canonicalization
        raise VerificationError(exc.description, reason=exc.reason) from exc
    hash_data = suite.hash(transformed, proof_configuration)
    suite.verify(hash_data, proof_bytes, vm.public_key)
    return VerifiedProof(
        verification_method=vm,
        controller=vm.controller,
        cryptosuite=suite.name,
        proof_purpose=purpose,
        created=created,
        expires=expires,
    )
