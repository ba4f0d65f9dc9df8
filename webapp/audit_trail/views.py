"""The audit log page (/admin/audit): every audited action and queue move, filtered and paged."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from wtforms import SelectChoice

from webapp.audit_trail.forms import AuditFilterForm
from webapp.audit_trail.services import audit_actions, audit_entity_types, list_audit
from webapp.auth import services as accounts
from webapp.auth.permissions import role_required
from webapp.query_inputs import page_number

bp = Blueprint("audit", __name__, url_prefix="/admin")

PER_PAGE = 50


@bp.route("/audit")
@role_required("admin")
def log() -> tuple[str, int]:
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", "Any action")] + [
        SelectChoice(action) for action in audit_actions()
    ]
    form.user_id.choices = [SelectChoice("", "Anyone")] + [
        SelectChoice(str(user.id), f"{user.full_name} ({user.username})")
        for user in accounts.list_users()
    ]
    form.entity_type.choices = [SelectChoice("", "Anything")] + [
        SelectChoice(kind, kind.replace("_", " ").capitalize()) for kind in audit_entity_types()
    ]
    if not form.validate():
        return render_template("audit/log.html", form=form, results=None), 422
    results = list_audit(form.filters(), page=page_number(), per_page=PER_PAGE)
    return render_template("audit/log.html", form=form, results=results), 200
