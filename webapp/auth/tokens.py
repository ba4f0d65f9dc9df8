"""Bearer tokens for the JSON API: short-lived access tokens and rotating refresh tokens.

Both are JWTs signed with SECRET_KEY (HS256) and carry the user's
``auth_version``: deactivating a user or changing their password bumps it, so
every token issued before stops working at once. Refresh tokens are also
recorded, so each can be used once; using one twice revokes its whole family.
Access tokens name their family too (``fam``), and stop working the moment
their family is revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from flask import current_app
from sqlalchemy import exists, select, update

from webapp.audit.services import record_audit
from webapp.auth.models import RefreshToken, User
from webapp.database import utcnow
from webapp.extensions import db

ALGORITHM = "HS256"


class TokenRejected(Exception):
    """The token is missing, malformed, expired, revoked or reused. ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefreshTokenReused(TokenRejected):
    """A refresh token was presented a second time; its family has been revoked.

    The revocation must be committed even though the request fails.
    """


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _encode(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, _secret(), algorithm=ALGORITHM)


def _decode(token: str, expected_type: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _secret(),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "typ", "ver", "jti", "fam"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("expired") from None
    except jwt.InvalidTokenError:
        raise TokenRejected("invalid") from None
    if claims.get("typ") != expected_type:
        raise TokenRejected("invalid")
    return claims


def _current_user_for(claims: dict[str, Any]) -> User:
    subject = str(claims["sub"])
    user = db.session.get(User, int(subject)) if subject.isdigit() else None
    if user is None or not user.active or user.auth_version != claims["ver"]:
        raise TokenRejected("revoked")
    return user


def issue_token_pair(user: User, family_id: str | None = None) -> TokenPair:
    """A new access token and refresh token for ``user``; the refresh token is recorded."""
    now = utcnow()
    access_lifetime = timedelta(minutes=current_app.config["ACCESS_TOKEN_MINUTES"])
    refresh_lifetime = timedelta(days=current_app.config["REFRESH_TOKEN_DAYS"])
    family_id = family_id or secrets.token_hex(16)
    common = {"sub": str(user.id), "ver": user.auth_version, "iat": now, "fam": family_id}
    access_token = _encode(
        {**common, "typ": "access", "jti": secrets.token_hex(16), "exp": now + access_lifetime}
    )
    refresh_jti = secrets.token_hex(16)
    refresh_token = _encode(
        {**common, "typ": "refresh", "jti": refresh_jti, "exp": now + refresh_lifetime}
    )
    db.session.add(
        RefreshToken(
            jti=refresh_jti,
            family_id=family_id,
            user_id=user.id,
            issued_at=now,
            expires_at=now + refresh_lifetime,
        )
    )
    db.session.flush()
    return TokenPair(access_token, refresh_token, int(access_lifetime.total_seconds()))


def family_is_revoked(family_id: str) -> bool:
    """Whether a token family was revoked (a refresh token of it was reused).

    One read of the ``family_id`` index: revocation marks every refresh token of
    the family, so any revoked row is enough.
    """
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None)
                )
            )
        )
    )


def user_for_access_token(token: str) -> User:
    """The active user an access token speaks for, or :class:`TokenRejected`."""
    claims = _decode(token, "access")
    user = _current_user_for(claims)
    if family_is_revoked(str(claims["fam"])):
        raise TokenRejected("revoked")
    return user


# Why a bearer token was refused, in words for the caller (the JSON API and the FHIR facade).
TOKEN_PROBLEMS = {
    "missing": "Send an access token: Authorization: Bearer <access_token> "
    "(from POST /api/v1/auth/login).",
    "invalid": "The access token is not valid. Sign in again with POST /api/v1/auth/login.",
    "expired": "The access token has expired. Get a new one with POST /api/v1/auth/refresh.",
    "revoked": "The access token was revoked (account deactivated, password changed, or its "
    "refresh token was reused). Sign in again.",
}


class BearerRefused(Exception):
    """An ``Authorization: Bearer`` header that does not let its sender in: ``status`` is 401
    (no, bad, expired or revoked token) or 403 (a role the door does not admit)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def user_for_bearer(header: str, roles: tuple[str, ...]) -> User:
    """The user an ``Authorization`` header's bearer token speaks for, if their role is one of
    ``roles``; otherwise :class:`BearerRefused` saying why."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerRefused(401, TOKEN_PROBLEMS["missing"])
    try:
        user = user_for_access_token(token.strip())
    except TokenRejected as rejection:
        raise BearerRefused(
            401, TOKEN_PROBLEMS.get(rejection.reason, TOKEN_PROBLEMS["invalid"])
        ) from rejection
    if user.role not in roles:
        raise BearerRefused(403, f"This needs the role {' or '.join(roles)}; you are {user.role}.")
    return user


def rotate_refresh_token(token: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the old one stops working.

    The token's row is locked, so two concurrent refreshes with one token
    cannot both succeed: the second sees it used and revokes the family.
    """
    claims = _decode(token, "refresh")
    record = db.session.scalar(
        select(RefreshToken).where(RefreshToken.jti == claims["jti"]).with_for_update()
    )
    if record is None:
        raise TokenRejected("invalid")
    if record.revoked_at is not None:
        raise TokenRejected("revoked")
    if record.used_at is not None:
        revoke_token_family(record.family_id)
        record_audit(
            "api.refresh_token_reused",
            record.user,
            entity_type="user",
            entity_id=record.user_id,
            summary="A used API refresh token was presented again; its token family was revoked",
        )
        raise RefreshTokenReused("reused")
    user = _current_user_for(claims)
    record.used_at = utcnow()
    return issue_token_pair(user, family_id=record.family_id)


def revoke_token_family(family_id: str) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
