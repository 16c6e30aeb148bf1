"""The RFC 8693 token-exchange request: form parsing and parameter rules.

RFC 6749 §3.2 / RFC 8693 §2.1: the request is ``POST`` with an
``application/x-www-form-urlencoded`` body (RFC 6749 Appendix B). Rules applied
here, before any token is looked at:

* a parameter given twice is ``invalid_request`` (RFC 6749 §3.2: "Request and
  response parameters MUST NOT be included more than once"), with one
  exception: several ``resource`` / ``audience`` values are allowed by RFC 8693
  §2.1 but we mint single-audience tokens only, so more than one target is
  ``invalid_target`` (SECURITY SEC-19: no partial-audience token);
* a parameter sent without a value is treated as omitted (RFC 6749 §3.1);
* unknown parameters are ignored (RFC 6749 §3.2);
* ``grant_type`` missing → ``invalid_request``; any other grant →
  ``unsupported_grant_type`` (RFC 6749 §5.2);
* ``subject_token`` and ``subject_token_type`` are REQUIRED (RFC 8693 §2.1);
  ``actor_token_type`` is REQUIRED when ``actor_token`` is present and MUST NOT
  be present otherwise;
* ``requested_token_type``, when present, must be the access-token URN: that is
  the only type we issue (SECURITY SEC-15).
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote_to_bytes

from did_agents.errors import InvalidTargetError, MalformedError, UnsupportedGrantTypeError

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "GRANT_TYPE_TOKEN_EXCHANGE",
    "JWT_TOKEN_TYPE",
    "MAX_FORM_FIELDS",
    "VP_TOKEN_TYPE",
    "TokenExchangeRequest",
    "parse_form",
    "parse_token_exchange",
]

#: RFC 8693 §2.1 / §5 (IANA "OAuth URI" registry).
GRANT_TYPE_TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a media type / URN, not a secret
#: RFC 8693 §3: a JWT (here: a ``vp+jwt`` as subject token, a DID-signed JWT as actor token).
JWT_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105 - a media type / URN, not a secret
#: RFC 8693 §3: what we issue.
ACCESS_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a media type / URN, not a secret
#: DESIGN §6: a JSON-LD Verifiable Presentation with a Data Integrity proof.
VP_TOKEN_TYPE: Final = "urn:did-agents:params:oauth:token-type:vp"  # noqa: S105 - a media type / URN, not a secret

SUBJECT_TOKEN_TYPES: Final = frozenset({JWT_TOKEN_TYPE, VP_TOKEN_TYPE})
ACTOR_TOKEN_TYPES: Final = frozenset({JWT_TOKEN_TYPE})
MAX_FORM_FIELDS: Final = 32
_MULTI: Final = frozenset({"resource", "audience"})
_PARAMETERS: Final = frozenset(
    {
        "grant_type",
        "subject_token",
        "subject_token_type",
        "actor_token",
        "actor_token_type",
        "requested_token_type",
        "scope",
        "client_id",
    }
)


@dataclass(frozen=True, slots=True)
class TokenExchangeRequest:
    """A syntactically valid RFC 8693 request (nothing in it is verified yet)."""

    subject_token: str
    subject_token_type: str
    actor_token: str | None
    actor_token_type: str | None
    resource: str | None
    audience: str | None
    scope: str | None
    client_id: str | None

    @property
    def target(self) -> str:
        """The requested resource, or the audience when no resource was given (RFC 8707 §2)."""
        target = self.resource if self.resource is not None else self.audience
        assert target is not None
        return target


def parse_form(body: bytes) -> dict[str, list[str]]:
    """Decode an ``application/x-www-form-urlencoded`` body into name → values (RFC 6749 App. B).

    Values are UTF-8 (RFC 6749 App. B); empty values are dropped (RFC 6749 §3.1).
    The result is that of ``urllib.parse.parse_qsl(body.decode(), keep_blank_values=True,
    strict_parsing=True, errors="strict")`` (a property test holds the two equal); only the
    percent-decoding is done in C where it can be (:func:`_unquote_plus`): a presentation
    is kilobytes of ``%XX`` escapes.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError("the request body is not UTF-8", reason="malformed_form") from exc
    form: dict[str, list[str]] = {}
    if not body:
        return form
    # WHATWG URL §5.1 application/x-www-form-urlencoded parsing: split on "&", then on the first "=".
    if body.count(b"&") + 1 > MAX_FORM_FIELDS:
        raise MalformedError("the request body is not a valid form", reason="malformed_form")
    try:
        for field in body.split(b"&"):
            raw_name, separator, raw_value = field.partition(b"=")
            if not separator:
                raise ValueError("a form field without '='")
            name = _unquote_plus(raw_name).decode("utf-8")
            value = _unquote_plus(raw_value).decode("utf-8")
            if value:
                form.setdefault(name, []).append(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedError("the request body is not a valid form", reason="malformed_form") from exc
    return form


_BAD_ESCAPE: Final = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _unquote_plus(value: bytes) -> bytes:
    """``+`` → space, ``%XX`` → the byte (HTML "urlencoded" form decoding; a ``%`` not followed
    by two hex digits stays as it is, as ``urllib.parse.unquote_to_bytes`` leaves it).

    ``binascii.a2b_qp`` decodes ``=XX`` escapes in C; it is used when that cannot differ from
    percent-decoding: no ``=`` or line break in the value (quoted-printable gives those a
    meaning), every ``%`` a complete escape. Anything else takes the standard library path.
    """
    value = value.replace(b"+", b" ")
    if b"%" not in value:
        return value
    if b"=" in value or b"\n" in value or b"\r" in value or _BAD_ESCAPE.search(value):
        return unquote_to_bytes(value)
    return binascii.a2b_qp(value.replace(b"%", b"="))


def _single(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise MalformedError(f"parameter {name} is repeated", reason="repeated_parameter")
    return values[0]


def parse_token_exchange(form: dict[str, list[str]]) -> TokenExchangeRequest:
    """Apply the RFC 6749 / RFC 8693 parameter rules (module docstring) to a decoded form."""
    for name in _PARAMETERS:
        _single(form, name)  # RFC 6749 §3.2: no parameter twice, whatever it is
    grant_type = _single(form, "grant_type")
    if grant_type is None:
        raise MalformedError("grant_type is required", reason="missing_parameter")
    if grant_type != GRANT_TYPE_TOKEN_EXCHANGE:
        raise UnsupportedGrantTypeError(
            "only the token-exchange grant is supported", reason="unsupported_grant_type"
        )
    subject_token = _single(form, "subject_token")
    subject_token_type = _single(form, "subject_token_type")
    if subject_token is None or subject_token_type is None:
        raise MalformedError("subject_token and subject_token_type are required", reason="missing_parameter")
    if subject_token_type not in SUBJECT_TOKEN_TYPES:
        raise MalformedError("unsupported subject_token_type", reason="unsupported_token_type")
    actor_token = _single(form, "actor_token")
    actor_token_type = _single(form, "actor_token_type")
    # RFC 8693 §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT be sent without it.
    if (actor_token is None) != (actor_token_type is None):
        raise MalformedError("actor_token and actor_token_type go together", reason="missing_parameter")
    if actor_token_type is not None and actor_token_type not in ACTOR_TOKEN_TYPES:
        raise MalformedError("unsupported actor_token_type", reason="unsupported_token_type")
    requested = _single(form, "requested_token_type")
    if requested is not None and requested != ACCESS_TOKEN_TYPE:
        raise MalformedError("only access tokens can be requested", reason="unsupported_requested_token_type")
    targets: dict[str, str | None] = {}
    for name in sorted(_MULTI):
        values = form.get(name, [])
        if len(values) > 1:
            # RFC 8693 §2.1 allows several; we issue single-audience tokens (SEC-19).
            raise InvalidTargetError(f"only one {name} per token", reason="multiple_targets")
        targets[name] = values[0] if values else None
    if targets["resource"] is None and targets["audience"] is None:
        raise MalformedError("a resource or audience is required", reason="missing_parameter")
    return TokenExchangeRequest(
        subject_token=subject_token,
        subject_token_type=subject_token_type,
        actor_token=actor_token,
        actor_token_type=actor_token_type,
        resource=targets["resource"],
        audience=targets["audience"],
        scope=_single(form, "scope"),
        client_id=_single(form, "client_id"),
    )
