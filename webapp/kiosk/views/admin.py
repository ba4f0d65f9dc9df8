"""/admin/kiosks: register a kiosk (its address is shown once), see when each was last used,
revoke one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.permissions import role_required
from webapp.domain_errors import DomainError
from webapp.form_errors import show_on_form
from webapp.kiosk import services as kiosks
from webapp.kiosk.forms import RegisterKioskForm, RevokeKioskForm
from webapp.links import public_url_for

bp = Blueprint("kiosk_admin", __name__, url_prefix="/admin/kiosks")

View = str | Response | tuple[str, int]


@bp.before_request
@role_required("admin")
def require_admin() -> None:
    """Every page here is for administrators only."""


def _page(form: RegisterKioskForm, status: int = 200, **context: object) -> View:
    return render_template(
        "kiosk/admin_list.html",
        kiosks=kiosks.list_kiosks(),
        form=form,
        revoke_form=RevokeKioskForm(formdata=None),
        **context,
    ), status


@bp.get("")
def kiosk_list() -> View:
    return _page(RegisterKioskForm(formdata=None))


@bp.post("")
def register() -> View:
    form = RegisterKioskForm()
    if form.validate_on_submit():
        try:
            registration = kiosks.register_kiosk(form.name.data, actor=current_user)
        except DomainError as error:
            show_on_form(form, error)
        else:
            # Shown on this answer only (never in a flash message, which travels in the
            # cookie): the token is not kept, so the address cannot be shown again.
            return _page(
                RegisterKioskForm(formdata=None),
                registered=registration.kiosk,
                kiosk_url=public_url_for("kiosk.start", token=registration.token),
            )
    return _page(form, 422)


@bp.post("/<int:kiosk_id>/revoke")
def revoke(kiosk_id: int) -> View:
    form = RevokeKioskForm()
    kiosk = kiosks.get_kiosk(kiosk_id)
    if form.validate_on_submit():
        kiosks.revoke_kiosk(kiosk, actor=current_user)
        flash(f"Kiosk {kiosk.name} is revoked: its address no longer works.", "success")
    return redirect(url_for("kiosk_admin.kiosk_list"))
