"""Session loading, the idle timeout and the security headers sent with every response."""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask import Response as FlaskResponse
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_htmx import make_response as htmx_response
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from webapp.auth.models import User
from webapp.extensions import db, htmx, login_manager

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user of a session, unless deactivated or their password changed since sign-in."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.auth_version != int(version):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if htmx:
        # A partial refresh cannot show the sign-in page inside a table: send the whole tab there.
        response: Response = htmx_response("", 401, redirect=target)
        return response
    return redirect(target)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def mark_activity() -> None:
    session["last_activity"] = int(time.time())


def _enforce_idle_timeout() -> Response | None:
    if request.endpoint == "static" or _is_api() or not current_user.is_authenticated:
        return None
    idle_limit = current_app.config["SESSION_IDLE_MINUTES"] * 60
    last = session.get("last_activity")
    now = int(time.time())
    if isinstance(last, int) and now - last > idle_limit:
        logout_user()
        session.clear()
        flash("You were signed out after a period of inactivity. Please sign in again.", "info")
        signed_out: Response = login_manager.unauthorized()
        return signed_out
    mark_activity()
    return None


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Staff pages and API answers carry patient data: never let a shared browser or
    # proxy keep a copy. (The API never looks at the session cookie.)
    if "Cache-Control" not in headers and (_is_api() or current_user.is_authenticated):
        headers["Cache-Control"] = "no-store"
    return response


class StaffSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, never written on an API response.

    The API authenticates by bearer token only; answering it must not refresh
    or set the cookie of a browser that also has a staff session.
    """

    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        if _is_api():
            return
        super().save_session(app, session, response)


def init_session_guard(app: Flask) -> None:
    app.session_interface = StaffSessionInterface()
    app.before_request(_enforce_idle_timeout)
    app.after_request(_security_headers)
