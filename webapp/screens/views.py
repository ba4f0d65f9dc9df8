"""Screens' health for staff: the fragment the reception boards and the admin dashboard show
(and poll), and the admin's page to list, rename and forget screens (/admin/screens)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import clock
from webapp.auth.permissions import role_required
from webapp.auth.roles import STAFF
from webapp.domain_errors import DomainError
from webapp.form_errors import show_on_form
from webapp.screens import services as screens
from webapp.screens.forms import ForgetScreenForm, RenameScreenForm
from webapp.screens.services import Health, ScreenState
from webapp.session_guard import polled

bp = Blueprint("screens", __name__)

View = str | Response | tuple[str, int]
# How often the boards and the dashboard ask again (stale is a matter of time, not of change).
HEALTH_POLL_SECONDS = 15


@bp.app_template_global("screen_health")
def screen_health_for_page(department_id: int | None = None) -> Health:
    """For the pages that include screens/_health.html: the screens they cover."""
    return screens.screen_health(department_id)


@bp.app_template_filter("seen_at")
def seen_at(screen: ScreenState) -> str:
    """ "10:42" today (hospital time), "2026-11-30 10:42" on an earlier day."""
    moment = clock.local(screen.last_seen_at)
    if moment.date() == clock.today():
        return clock.local_time(screen.last_seen_at)
    return clock.local_time(screen.last_seen_at, "%Y-%m-%d %H:%M")


@bp.route("/screens/health")
@role_required(*STAFF)
@polled
def health() -> View:
    """The health line of the screens of one department (``department_id``) or all."""
    department_id = request.args.get("department_id", type=int)
    return render_template(
        "screens/_health.html",
        health=screens.screen_health(department_id),
        health_department_id=department_id,
        health_poll_seconds=HEALTH_POLL_SECONDS,
    )


# ------------------------------------------------------------------ admin


def _list_page(
    rename_forms: dict[int, RenameScreenForm] | None = None, status: int = 200
) -> tuple[str, int]:
    states = screens.list_screens()
    forms = {
        state.id: RenameScreenForm(prefix=f"s{state.id}", formdata=None, data={"name": state.name})
        for state in states
    }
    forms.update(rename_forms or {})
    page = render_template(
        "screens/list.html",
        screens=states,
        rename_forms=forms,
        forget_form=ForgetScreenForm(),
        stale_seconds=screens.stale_seconds(),
    )
    return page, status


@bp.route("/admin/screens")
@role_required("admin")
def admin_list() -> View:
    return _list_page()


@bp.route("/admin/screens/<int:screen_id>/rename", methods=["POST"])
@role_required("admin")
def rename(screen_id: int) -> View:
    screen = screens.get_screen(screen_id)
    form = RenameScreenForm(prefix=f"s{screen.id}")
    if form.validate_on_submit():
        before = screen.name
        try:
            screens.rename_screen(screen, name=form.name.data, actor=current_user)
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(f"Renamed the screen {before} to {screen.name}.", "success")
            return redirect(url_for("screens.admin_list"))
    # 422: nothing commits, and the page shows what was typed with what is wrong.
    return _list_page({screen.id: form}, status=422)


@bp.route("/admin/screens/<int:screen_id>/forget", methods=["POST"])
@role_required("admin")
def forget(screen_id: int) -> View:
    screen = screens.get_screen(screen_id)
    if not ForgetScreenForm().validate_on_submit():
        abort(400)
    name = screen.name
    screens.forget_screen(screen, actor=current_user)
    flash(
        f"Forgot the screen {name}. If it is still switched on, it comes back within a minute.",
        "success",
    )
    return redirect(url_for("screens.admin_list"))
