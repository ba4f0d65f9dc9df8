"""Sign-in and sign-out for staff, with per-address and per-username throttling."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from webapp.audit.services import record_audit
from webapp.auth.forms import LoginForm
from webapp.auth.services import authenticate
from webapp.auth.throttle import limit_sign_in
from webapp.session_guard import mark_activity

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only follow a ``next`` that stays on this site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limit_sign_in(lambda: request.form.get("username") or "", success_status=302)
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
