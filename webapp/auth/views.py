"""Sign-in and sign-out for staff, with per-address and per-username throttling."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from webapp.audit.services import record_audit
from webapp.auth.forms import LoginForm
from webapp.auth.services import authenticate
from webapp.extensions import limiter
from webapp.session_guard import mark_activity

bp = Blueprint("auth", __name__)


def _login_username_key() -> str:
    return "username:" + (request.form.get("username") or "").strip().lower()


def _failed_attempt(response: BaseResponse) -> bool:
    # A good sign-in redirects; only failures use up the allowance.
    return response.status_code != 302


def _safe_next(target: str | None) -> str:
    """Only follow a ``next`` that stays on this site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    key_func=get_remote_address,
    methods=["POST"],
    scope="login-address",
    deduct_when=_failed_attempt,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_USERNAME"],
    key_func=_login_username_key,
    methods=["POST"],
    scope="login-username",
    deduct_when=_failed_attempt,
)
def login() -> str | BaseResponse | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data or "", form.password.data or "")
        if user is not None:
            session.clear()
            session.permanent = True
            login_user(user)
            mark_activity()
            record_audit(
                "auth.login",
                user,
                entity_type="user",
                entity_id=user.id,
                summary=f"{user.username} signed in",
            )
            return redirect(_safe_next(request.args.get("next")))
        record_audit(
            "auth.login_failed",
            None,
            summary="Failed sign-in",
            details={"username": (form.username.data or "")[:64]},
        )
        form.password.errors = ["Wrong username or password, or the account is deactivated."]
        return render_template("auth/login.html", form=form), 200
    status = 200 if request.method == "GET" else 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response | BaseResponse:
    record_audit(
        "auth.logout",
        current_user,
        entity_type="user",
        entity_id=current_user.id,
        summary=f"{current_user.username} signed out",
    )
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
