"""The API's error envelope, used for every error under /api/.

``{"error": {"code": "validation_error", "message": "...", "details": [{"field", "message"}]}}``
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from webapp.domain_errors import Conflict, DomainError, ValidationFailed

API_PREFIX = "/api/"

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "bad_request",
    415: "bad_request",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

MESSAGES = {
    400: "The request could not be read. Send JSON with Content-Type: application/json.",
    401: "Send a valid access token: Authorization: Bearer <access_token>.",
    403: "Your role may not do this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    409: "This clashes with the current state.",
    413: "The body is too large.",
    422: "Some fields are invalid.",
    429: "Too many requests. Wait a minute and try again.",
    500: "Internal error. It has been logged.",
}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(
    status: int,
    message: str | None = None,
    details: Iterable[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "error": {
            "code": CODES.get(status, "bad_request" if status < 500 else "internal_error"),
            "message": message or MESSAGES.get(status, "Error."),
            "details": [{"field": field, "message": text} for field, text in details],
        }
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def domain_error_response(error: DomainError) -> Response:
    details: list[tuple[str, str]] = []
    if isinstance(error, ValidationFailed):
        details = list(error.errors.items())
    elif isinstance(error, Conflict) and error.field:
        details = [(error.field, error.message)]
    return error_response(error.status_code, error.message, details)


def http_error_response(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {}
    if status == 405 and error.get_headers():
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
    if status == 429:
        headers["Retry-After"] = "60"
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    # Werkzeug's default descriptions are written for HTML pages; ours say what to do.
    # A description given on purpose (abort(400, "...")) is kept.
    custom = error.description if error.description != type(error).description else None
    return error_response(status, custom, headers=headers)


def validation_error_response(error: ValidationError) -> Response:
    """flask-openapi3's callback: one ``details`` entry per bad field, never the input itself."""
    details = []
    for problem in error.errors(include_input=False, include_url=False, include_context=False):
        location = ".".join(str(part) for part in problem["loc"]) or "body"
        details.append((location, problem["msg"]))
    return error_response(422, "Some fields are invalid.", details)
