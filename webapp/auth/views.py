"""Sign-in and sign-out for staff, with per-address and per-username throttling."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from webapp.audit.services import record_audit
from webapp.auth.forms import LoginForm
from webapp.auth.services import authenticate
from webapp.auth.throttle import MAX_USERNAME_KEY_LENGTH, limit_sign_in
from webapp.session_guard import begin_staff_session, end_staff_session

bp = Blueprint("auth", __name__)


def _has_unsafe_character(target: str) -> bool:
    # Control and format characters (CR, LF, tab, NUL, zero-width …) and whitespace: browsers
    # drop some of them ("/\t/evil" becomes "//evil"), and CR/LF cannot go into a header.
    return any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in target)


def _safe_next(target: str | None) -> str:
    """Only follow a ``next`` that is a plain path on this site."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not _has_unsafe_character(target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
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
            begin_staff_session(user)
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
            # The name tried (never the password), cut to the column's length.
            details={"username": (form.username.data or "")[:MAX_USERNAME_KEY_LENGTH]},
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
    end_staff_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
