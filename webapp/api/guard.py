"""Authentication and role checks for /api/v1, run before any request validation.

flask-openapi3 validates a request before the view (and any decorator on it)
runs, so checking the token in a decorator would let a 422 leak out before the
401. Here the token and the role are checked in ``before_request``; malformed
JSON, and JSON holding a NUL character anywhere, is refused with 400 before
validation gets to call it a 422.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request

from webapp.api.blueprint import API_V1, ENDPOINT_ROLES
from webapp.api.errors import error_response
from webapp.auth.tokens import TokenRejected, user_for_access_token

TOKEN_PROBLEMS = {
    "missing": "Send an access token: Authorization: Bearer <access_token>.",
    "invalid": "The access token is not valid. Sign in again with POST /api/v1/auth/login.",
    "expired": "The access token has expired. Get a new one with POST /api/v1/auth/refresh.",
    "revoked": "The access token was revoked (account deactivated, password changed, or its "
    "refresh token was reused). Sign in again.",
}
BODY_METHODS = ("POST", "PUT", "PATCH")


def guard_api_request() -> Response | None:
    if (
        not request.path.startswith(API_V1 + "/")
        or request.routing_exception is not None
        or request.method == "OPTIONS"
    ):
        return None  # not the API, or an unknown path / method: let routing answer 404 / 405
    roles = ENDPOINT_ROLES.get(request.endpoint or "")
    if roles is not None:
        refusal = _authenticate(roles)
        if refusal is not None:
            return refusal
    if request.method in BODY_METHODS:
        return _refuse_unreadable_body()
    return None


def _authenticate(roles: tuple[str, ...]) -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("missing")
    try:
        user = user_for_access_token(token.strip())
    except TokenRejected as rejection:
        return _unauthorized(rejection.reason)
    if user.role not in roles:
        return error_response(
            403, f"This needs the role {' or '.join(roles)}; you are {user.role}."
        )
    g.api_user = user
    return None


def _unauthorized(reason: str) -> Response:
    return error_response(401, TOKEN_PROBLEMS.get(reason, TOKEN_PROBLEMS["invalid"]))


def _refuse_unreadable_body() -> Response | None:
    if not request.get_data(cache=True):
        return None  # an empty body is the schema's business (422 for missing fields)
    if not request.is_json:
        return error_response(400, "Send the body as JSON with Content-Type: application/json.")
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        return error_response(400, "The body is not valid JSON.")
    if _holds_nul(body):
        # PostgreSQL cannot store NUL in text; no legitimate input contains it.
        return error_response(400, "Text may not contain NUL characters.")
    return None


def _holds_nul(value: Any) -> bool:
    """Whether any string (key or value) in parsed JSON holds NUL; iterative, so any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
