"""/admin/webhooks: register a receiver (its secret is shown once), edit, pause and resume,
rotate the secret, delete; each subscription's delivery log, with "Redeliver"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.permissions import role_required
from webapp.domain_errors import DomainError
from webapp.form_errors import show_on_form
from webapp.webhooks import services as webhooks
from webapp.webhooks.forms import ButtonForm, WebhookForm

bp = Blueprint("webhooks_admin", __name__, url_prefix="/admin/webhooks")

View = str | Response | tuple[str, int]


@bp.before_request
@role_required("admin")
def require_admin() -> None:
    """Every page here is for administrators only."""


def _list(form: WebhookForm, status: int = 200) -> View:
    return render_template(
        "webhooks/list.html",
        subscriptions=webhooks.list_subscriptions(),
        pending={
            item.id: webhooks.count_pending(item.id) for item in webhooks.list_subscriptions()
        },
        form=form,
    ), status


def _detail(
    subscription_id: int, form: WebhookForm | None = None, status: int = 200, **extra: object
) -> View:
    subscription = webhooks.get_subscription(subscription_id)
    if form is None:
        form = WebhookForm(formdata=None, obj=subscription)
    return render_template(
        "webhooks/detail.html",
        subscription=subscription,
        deliveries=webhooks.list_deliveries(subscription_id),
        form=form,
        button=ButtonForm(formdata=None),
        **extra,
    ), status


@bp.get("")
def webhook_list() -> View:
    return _list(WebhookForm(formdata=None))


@bp.post("")
def create() -> View:
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            created = webhooks.create_subscription(
                url=form.url.data,
                events=form.events.data,
                description=form.description.data,
                actor=current_user,
            )
        except DomainError as error:
            show_on_form(form, error)
        else:
            # Shown on this answer only, never in a flash message (which travels in the cookie).
            return _detail(created.subscription.id, secret=created.secret, just_created=True)
    return _list(form, 422)


@bp.get("/<int:subscription_id>")
def detail(subscription_id: int) -> View:
    return _detail(subscription_id)


@bp.post("/<int:subscription_id>")
def update(subscription_id: int) -> View:
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            webhooks.update_subscription(
                subscription_id,
                {
                    "url": form.url.data,
                    "events": form.events.data,
                    "description": form.description.data,
                },
                actor=current_user,
            )
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash("Webhook saved.", "success")
            return redirect(url_for("webhooks_admin.detail", subscription_id=subscription_id))
    return _detail(subscription_id, form, 422)


def _button_posted() -> bool:
    return bool(ButtonForm().validate_on_submit())


@bp.post("/<int:subscription_id>/pause")
def pause(subscription_id: int) -> Response:
    if _button_posted():
        webhooks.update_subscription(subscription_id, {"active": False}, actor=current_user)
        flash("Webhook paused: events are not recorded for it until it is resumed.", "success")
    return redirect(url_for("webhooks_admin.detail", subscription_id=subscription_id))


@bp.post("/<int:subscription_id>/resume")
def resume(subscription_id: int) -> Response:
    if _button_posted():
        webhooks.update_subscription(subscription_id, {"active": True}, actor=current_user)
        flash("Webhook resumed: pending deliveries are being sent, in order.", "success")
    return redirect(url_for("webhooks_admin.detail", subscription_id=subscription_id))


@bp.post("/<int:subscription_id>/rotate-secret")
def rotate(subscription_id: int) -> View:
    if not _button_posted():
        return redirect(url_for("webhooks_admin.detail", subscription_id=subscription_id))
    rotated = webhooks.rotate_secret(subscription_id, actor=current_user)
    return _detail(subscription_id, secret=rotated.secret)


@bp.post("/<int:subscription_id>/delete")
def delete(subscription_id: int) -> Response:
    if _button_posted():
        webhooks.delete_subscription(subscription_id, actor=current_user)
        flash("Webhook deleted.", "success")
        return redirect(url_for("webhooks_admin.webhook_list"))
    return redirect(url_for("webhooks_admin.detail", subscription_id=subscription_id))


@bp.post("/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver")
def redeliver(subscription_id: int, delivery_id: int) -> Response:
    if _button_posted():
        webhooks.redeliver(subscription_id, delivery_id, actor=current_user)
        flash("Delivery queued again.", "success")
    return redirect(url_for("webhooks_admin.detail", subscription_id=subscription_id))


@bp.app_template_global()
def paused_webhooks() -> list[object]:
    """The subscriptions paused after a day of failed deliveries (the admin dashboard's
    notice, templates/webhooks/_dashboard.html)."""
    return list(webhooks.paused_subscriptions())
