"""Staff sessions (revocable, server-side), the idle timeout, and the security headers.

Flask's signed cookie carries the user id with its ``auth_version`` and the
random id of a row in ``staff_sessions``; every request reads that row. Signing
out revokes it, so a copied cookie is anonymous afterwards. The idle timeout is
measured from the row's last activity, which automatic refreshes (views marked
``@polled``) never move.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask import Response as FlaskResponse
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from webapp.auth.models import StaffSession, User
from webapp.auth.sessions import (
    end_session,
    find_live_session,
    record_activity,
    session_is_idle,
    start_session,
)
from webapp.database import utcnow
from webapp.extensions import htmx, login_manager

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


# The key in Flask's signed session cookie that holds the server-side session's random id.
SESSION_ID_KEY = "sid"
# Set on a view function by @polled; read through the registered view (and what it wraps).
POLLED_ATTRIBUTE = "polled_refresh"

F = TypeVar("F", bound=Callable[..., Any])


def polled(view: F) -> F:
    """Mark a view as an automatic refresh (an ``hx-trigger="every …"`` poll).

    Its requests never count as activity, so a screen left alone still reaches
    the idle timeout; once it has, the poll's answer sends the tab to sign-in.
    Works under other decorators that use ``functools.wraps``.
    """
    setattr(view, POLLED_ATTRIBUTE, True)
    return view


def _is_polled_request() -> bool:
    view: Any = current_app.view_functions.get(request.endpoint or "")
    while view is not None:
        if getattr(view, POLLED_ATTRIBUTE, False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    """The user of this request's server-side session, if it is still live.

    ``user_key`` is ``"<id>:<auth_version>"``: a password change or deactivation
    bumps the version and so ends every session of that user. The cookie's
    session id must name a session that was not signed out (one unique read,
    the user joined in).
    """
    user_id, _, version = user_key.partition(":")
    token = session.get(SESSION_ID_KEY)
    if not user_id.isdigit() or not version.isdigit() or not isinstance(token, str):
        return None
    staff_session = find_live_session(token)
    if staff_session is None or staff_session.user_id != int(user_id):
        return None
    user = staff_session.user
    if not user.active or user.auth_version != int(version):
        return None
    g.staff_session = staff_session
    return user


def _sign_in_target() -> str:
    """Where to come back to after signing in.

    An htmx request is a fragment (a poll, a search): the page to return to is
    the one the browser shows, which htmx names in ``HX-Current-URL``.
    """
    target = request.full_path.rstrip("?")
    if htmx and htmx.current_url:
        shown = urlsplit(htmx.current_url)
        if shown.path.startswith("/"):
            target = shown.path + (f"?{shown.query}" if shown.query else "")
    return target


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    target = url_for("auth.login", next=_sign_in_target())
    if htmx:
        # A partial refresh cannot show the sign-in page inside a table: send the whole tab there.
        # htmx 2 acts on HX-Redirect before it looks at the status, so a 401 is honoured.
        response: Response = htmx_response("", 401, redirect=target)
        return response
    return redirect(target)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def begin_staff_session(user: User) -> None:
    """Sign ``user`` in to a fresh session: a new cookie and a new server-side session row."""
    session.clear()
    session.permanent = True
    login_user(user)
    g.staff_session, session[SESSION_ID_KEY] = start_session(user, ip_address=request.remote_addr)


def end_staff_session() -> None:
    """Sign out: the server-side session is revoked, so any copy of the cookie is anonymous."""
    staff_session: StaffSession | None = g.pop("staff_session", None)
    if staff_session is not None:
        end_session(staff_session)
    logout_user()
    session.clear()


def _enforce_idle_timeout() -> Response | None:
    if request.endpoint == "static" or _is_api() or not current_user.is_authenticated:
        return None
    staff_session: StaffSession | None = g.get("staff_session")
    now = utcnow()
    idle_limit = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    if staff_session is None:
        # Only load_user makes a user current, and it always sets the session; be safe anyway.
        logout_user()
        session.clear()
        no_session: Response = login_manager.unauthorized()
        return no_session
    if session_is_idle(staff_session, idle_limit=idle_limit, now=now):
        end_staff_session()
        g.keep_changes_on_error = True  # the revocation stands even on an htmx 401
        flash("You were signed out after a period of inactivity. Please sign in again.", "info")
        signed_out: Response = login_manager.unauthorized()
        return signed_out
    if not _is_polled_request():
        record_activity(staff_session, now=now)
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
    if "Cache-Control" not in headers and (_is_api() or _signed_in()):
        headers["Cache-Control"] = "no-store"
    return response


def _signed_in() -> bool:
    """Whether a staff member is signed in, without reading the user again when this request
    already loaded them: the commit before this hook expired the row, and ``is_authenticated``
    reads its ``active`` column (a query on every staff poll, for nothing)."""
    loaded = g.get("_login_user")
    if loaded is not None:
        return not loaded.is_anonymous
    return bool(current_user.is_authenticated)


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
