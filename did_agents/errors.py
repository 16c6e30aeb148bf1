"""The one exception hierarchy of did-agents.

Every error carries the OAuth 2.0 / RFC 6750 error code and the HTTP status a
service renders it with, plus a machine-readable ``reason`` (a short slug used
in verification results and audit events) and a human ``description``.
Descriptions never contain tokens or key material.

::

    DIDAgentsError                      server_error           500
    ├── MalformedError                  invalid_request        400  cannot be parsed / bad syntax
    │   └── InputTooLargeError          invalid_request        413  size, depth or count bound exceeded
    ├── VerificationError               invalid_request        400  a proof, credential or token failed a check
    │   └── SignatureError              invalid_request        400  a signature does not verify
    ├── ResolutionError                 invalid_request        400  a DID cannot be resolved
    ├── FetchError                      invalid_request        400  the guarded fetcher refused or failed
    ├── InvalidTargetError              invalid_target         400  RFC 8693 §2.2.2
    ├── InvalidScopeError               invalid_scope          400  RFC 6749 §5.2
    ├── UnsupportedGrantTypeError       unsupported_grant_type 400  RFC 6749 §5.2
    ├── InvalidClientError              invalid_client         401  RFC 6749 §5.2
    ├── InvalidTokenError               invalid_token          401  RFC 6750 §3.1
    ├── InsufficientScopeError          insufficient_scope     403  RFC 6750 §3.1
    ├── UnauthorizedError               unauthorized           401  operator credentials missing/bad
    ├── ForbiddenError                  forbidden              403  operator lacks the role
    ├── NotFoundError                   not_found              404
    ├── ConflictError                   conflict               409
    ├── UnsupportedMediaTypeError       invalid_request        415
    ├── KeyStoreError                   server_error           500  missing/corrupt/undecryptable key store
    ├── ConfigurationError              server_error           500
    └── StorageError                    temporarily_unavailable 503

Third-party errors (cryptography, jwcrypto, pyld, SQLAlchemy, didkit) are
translated into these where the library is called, with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DIDAgentsError",
    "FetchError",
    "ForbiddenError",
    "InputTooLargeError",
    "InsufficientScopeError",
    "InvalidClientError",
    "InvalidScopeError",
    "InvalidTargetError",
    "InvalidTokenError",
    "KeyStoreError",
    "MalformedError",
    "NotFoundError",
    "ResolutionError",
    "SignatureError",
    "StorageError",
    "UnauthorizedError",
    "UnsupportedGrantTypeError",
    "UnsupportedMediaTypeError",
    "VerificationError",
]


class DIDAgentsError(Exception):
    """Base class. ``error`` is the OAuth error code, ``status_code`` the HTTP status."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 500
    default_reason: ClassVar[str] = "internal_error"

    def __init__(self, description: str, *, reason: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.reason = reason or self.default_reason

    def to_dict(self) -> dict[str, str]:
        """The RFC 6749 §5.2 error body."""
        return {"error": self.error, "error_description": self.description}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r}, reason={self.reason!r})"


class MalformedError(DIDAgentsError):
    error = "invalid_request"
    status_code = 400
    default_reason = "malformed"


class InputTooLargeError(MalformedError):
    status_code = 413
    default_reason = "too_large"


class VerificationError(DIDAgentsError):
    error = "invalid_request"
    status_code = 400
    default_reason = "verification_failed"


class SignatureError(VerificationError):
    default_reason = "bad_signature"


class ResolutionError(DIDAgentsError):
    error = "invalid_request"
    status_code = 400
    default_reason = "unresolvable_did"


class FetchError(DIDAgentsError):
    error = "invalid_request"
    status_code = 400
    default_reason = "fetch_failed"


class InvalidTargetError(DIDAgentsError):
    error = "invalid_target"
    status_code = 400
    default_reason = "invalid_target"


class InvalidScopeError(DIDAgentsError):
    error = "invalid_scope"
    status_code = 400
    default_reason = "invalid_scope"


class UnsupportedGrantTypeError(DIDAgentsError):
    error = "unsupported_grant_type"
    status_code = 400
    default_reason = "unsupported_grant_type"


class InvalidClientError(DIDAgentsError):
    error = "invalid_client"
    status_code = 401
    default_reason = "invalid_client"


class InvalidTokenError(DIDAgentsError):
    error = "invalid_token"
    status_code = 401
    default_reason = "invalid_token"


class InsufficientScopeError(DIDAgentsError):
    error = "insufficient_scope"
    status_code = 403
    default_reason = "insufficient_scope"

    def __init__(
        self, description: str, *, required: tuple[str, ...] = (), reason: str | None = None
    ) -> None:
        super().__init__(description, reason=reason)
        self.required = required


class UnauthorizedError(DIDAgentsError):
    error = "unauthorized"
    status_code = 401
    default_reason = "unauthenticated"


class ForbiddenError(DIDAgentsError):
    error = "forbidden"
    status_code = 403
    default_reason = "forbidden"


class NotFoundError(DIDAgentsError):
    error = "not_found"
    status_code = 404
    default_reason = "not_found"


class ConflictError(DIDAgentsError):
    error = "conflict"
    status_code = 409
    default_reason = "conflict"


class MethodNotAllowedError(DIDAgentsError):
    """RFC 9110 §15.5.6: the resource exists but not with this method."""

    error = "invalid_request"
    status_code = 405
    default_reason = "method_not_allowed"


class UnsupportedMediaTypeError(DIDAgentsError):
    error = "invalid_request"
    status_code = 415
    default_reason = "unsupported_media_type"


class KeyStoreError(DIDAgentsError):
    default_reason = "key_store"


class ConfigurationError(DIDAgentsError):
    default_reason = "configuration"


class StorageError(DIDAgentsError):
    error = "temporarily_unavailable"
    status_code = 503
    default_reason = "storage_unavailable"
