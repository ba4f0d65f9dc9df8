"""The messages page (/admin/notifications): the outbox log, filtered and paged, and resending.

Resending answers both ways: an htmx request gets the refreshed rows (the same
template the page includes) with a short outcome; a plain form POST is
redirected back to the list with a flash.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.permissions import role_required
from webapp.domain_errors import DomainError
from webapp.extensions import htmx
from webapp.form_errors import describe
from webapp.notifications import log
from webapp.notifications.forms import NotificationFilterForm, ResendForm
from webapp.notifications.services import resend_notifications
from webapp.query_inputs import page_number

bp = Blueprint("notifications", __name__, url_prefix="/admin/notifications")

View = str | Response | tuple[str, int]

PER_PAGE = 50
TEMPLATE = "admin/notifications.html"
ROWS_TEMPLATE = "admin/_notification_rows.html"


@bp.before_request
@role_required("admin")
def require_admin() -> None:
    """Every page here is for administrators only (GET, POST and htmx alike)."""


def _labels() -> dict[str, Any]:
    return {
        "status_labels": log.STATUS_LABELS,
        "status_classes": log.STATUS_CLASSES,
        "channel_labels": log.CHANNEL_LABELS,
        "kind_labels": log.KIND_LABELS,
        "status_help": log.STATUS_HELP,
    }


@bp.route("")
def log_page() -> tuple[str, int]:
    form = NotificationFilterForm(request.args)
    if not form.validate():
        return render_template(TEMPLATE, form=form, results=None, **_labels()), 422
    return render_template(TEMPLATE, **_list_context(form), **_labels()), 200


def _list_context(form: NotificationFilterForm, **extra: Any) -> dict[str, Any]:
    """What the rows need: one page of the filtered log, and the filters to come back to."""
    page = page_number()
    results = log.log_page(form.filters(), page=page, per_page=PER_PAGE)
    list_args = form.query_args()
    if page > 1:
        list_args["page"] = str(page)
    return {
        "form": form,
        "results": results,
        "list_args": list_args,
        "resend_form": ResendForm(formdata=None),
        **extra,
    }


@bp.route("/resend", methods=["POST"])
def resend() -> View:
    """Queue failed messages again: one row, the ticked rows, or every failed row."""
    filters = NotificationFilterForm(request.args)
    if not filters.validate():
        filters = NotificationFilterForm(formdata=None)  # a tampered address: the whole list
    form = ResendForm()
    outcome, category = _resend(form)
    if htmx:
        context = _list_context(filters, outcome=outcome, outcome_category=category)
        response = current_app.make_response(render_template(ROWS_TEMPLATE, **context, **_labels()))
        response.vary.add("HX-Request")
        return response
    flash(outcome, category)
    target = filters.query_args()
    if page_number() > 1:
        target["page"] = str(page_number())
    return redirect(url_for("notifications.log_page", **target))


def _resend(form: ResendForm) -> tuple[str, str]:
    """The resend the form asks for, done; what to tell the admin and how (flash category)."""
    if not form.validate_on_submit():
        problems = [message for messages in form.errors.values() for message in messages]
        return " ".join(str(problem) for problem in problems), "error"
    ids, status = form.choice()
    try:
        queued = resend_notifications(actor=current_user, ids=ids, status=status)
    except DomainError as error:
        return describe(error), "error"
    if not queued:
        return "Nothing was queued: only failed messages are sent again.", "info"
    return f"{queued} message{'' if queued == 1 else 's'} queued again.", "success"
