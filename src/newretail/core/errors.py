"""Typed domain errors. Each carries a machine-readable ``code`` and the HTTP status it maps to.

The API turns any :class:`DomainError` into ``{"code": ..., "message": ..., "details": ...}``,
so bad input is always a clear 4xx and never a 500.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(DomainError):
    code = "validation_error"
    http_status = 422


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class Unauthenticated(DomainError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class IdempotencyKeyReused(DomainError):
    """The same key arrived with a different request: refusing beats guessing which one was meant."""

    code = "idempotency_key_reused"
    http_status = 422
