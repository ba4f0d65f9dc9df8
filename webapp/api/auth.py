"""POST /auth/login, POST /auth/refresh, GET /me."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from webapp.api.blueprint import BEARER_SECURITY, allow, api_blueprint, api_user
from webapp.api.errors import error_response
from webapp.api.schemas.auth import LoginBody, MeOut, RefreshBody, TokenPairOut
from webapp.api.schemas.common import ErrorResponse
from webapp.audit.services import record_audit
from webapp.auth.models import ROLES
from webapp.auth.services import authenticate
from webapp.auth.throttle import limit_sign_in
from webapp.auth.tokens import RefreshTokenReused, TokenPair, TokenRejected, issue_token_pair
from webapp.auth.tokens import rotate_refresh_token as rotate

bp = api_blueprint("auth", "", "Get and refresh bearer tokens", bearer=False)


def _username_in_json() -> str:
    body = request.get_json(silent=True)
    if isinstance(body, dict) and isinstance(body.get("username"), str):
        return str(body["username"])
    return ""


def _pair(pair: TokenPair) -> dict[str, Any]:
    return TokenPairOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    ).model_dump()


@bp.post(
    "/auth/login",
    summary="Exchange a username and password for an access and a refresh token",
    description="Needs no token. Checks the password of an active staff account and answers "
    "an access token (send it as `Authorization: Bearer`; it lasts `expires_in` seconds) and "
    "a refresh token; the sign-in is audited. Refuses: 401 for a wrong username or password "
    "or a deactivated account (the failed attempt is audited); 422 when a field is missing "
    "or too long; 429 after too many failed attempts for the username or from the address "
    "(the same allowance as the sign-in page).",
    responses={200: TokenPairOut, 401: ErrorResponse},
)
@limit_sign_in(_username_in_json, success_status=200)
def login(body: LoginBody) -> Response | tuple[Response, int]:
    user = authenticate(body.username, body.password)
    if user is None:
        record_audit(
            "api.login_failed",
            None,
            summary="Failed API sign-in",
            details={"username": body.username[:64]},
        )
        g.keep_changes_on_error = True  # the failed attempt belongs in the audit log
        return error_response(401, "Wrong username or password, or the account is deactivated.")
    record_audit(
        "api.login",
        user,
        entity_type="user",
        entity_id=user.id,
        summary=f"{user.username} got API tokens",
    )
    return jsonify(_pair(issue_token_pair(user))), 200


@bp.post(
    "/auth/refresh",
    summary="Exchange a refresh token for a new pair; the old refresh token stops working",
    description="Needs no access token. Answers a new access and refresh token; the refresh "
    "token sent is used up. Refuses with 401 when the refresh token has expired, was revoked "
    "(sign-out, deactivation, new password) or is not valid, and when it was already used "
    "once: that revokes every token of its family, so a stolen copy stops working too; sign "
    "in again. 422 when refresh_token is missing.",
    responses={200: TokenPairOut, 401: ErrorResponse},
)
def refresh(body: RefreshBody) -> Response | tuple[Response, int]:
    try:
        pair = rotate(body.refresh_token)
    except RefreshTokenReused:
        g.keep_changes_on_error = True  # the family's revocation must stick
        return error_response(
            401,
            "This refresh token was already used; every token of its family is now revoked. "
            "Sign in again.",
        )
    except TokenRejected as rejection:
        messages = {
            "expired": "The refresh token has expired. Sign in again.",
            "revoked": "The refresh token was revoked. Sign in again.",
        }
        return error_response(
            401, messages.get(rejection.reason, "The refresh token is not valid.")
        )
    return jsonify(_pair(pair)), 200


@bp.get(
    "/me",
    summary="Who the access token belongs to",
    description="Any role. Answers the id, username, full name and role of the account the "
    "access token speaks for: check it before acting for a user. Refuses with 401 when the "
    "token is missing, expired or revoked.",
    responses={200: MeOut},
    security=BEARER_SECURITY,
)
@allow(bp, *ROLES)
def me() -> Response:
    user = api_user()
    return jsonify(MeOut.model_validate(user, from_attributes=True).model_dump())
