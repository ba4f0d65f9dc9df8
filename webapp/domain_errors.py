"""The errors a service raises on purpose.

This module imports nothing from Flask: the domain layer raises these, and the
two doors translate them (``webapp.errors`` into HTML pages and flashes,
``webapp.api.errors`` into the JSON envelope of API.md).
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base class for errors a service raises on purpose."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """Input broke a rule. ``errors`` maps a field name to what is wrong with it."""

    status_code = 422
    code = "validation_error"

    def __init__(self, errors: Mapping[str, str], message: str | None = None) -> None:
        self.errors = dict(errors)
        super().__init__(
            message or "Some fields are invalid; each problem is listed with its field."
        )


class Conflict(DomainError):
    """The change clashes with the current state (duplicate, double booking, illegal move)."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
