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
from webapp.auth.tokens import BearerRefused, user_for_bearer

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
    try:
        g.api_user = user_for_bearer(request.headers.get("Authorization", ""), roles)
    except BearerRefused as refusal:
        return error_response(refusal.status, refusal.message)
    return None


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
