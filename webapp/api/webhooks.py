"""Webhooks: POST/GET /webhooks, PATCH/DELETE /webhooks/{id}, GET /webhooks/{id}/deliveries,
POST /webhooks/{id}/deliveries/{delivery_id}/redeliver, POST /webhooks/{id}/rotate-secret.

Admins only. The rules (what a URL or an event may be, pausing, resuming, rotating) are
``webapp.webhooks.services``'s; the secret is in the answers that create or rotate it, and
in no other.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from webapp.api.blueprint import NOT_FOUND, allow, api_blueprint, api_user
from webapp.api.schemas.webhooks import (
    DeliveryList,
    DeliveryOut,
    DeliveryPath,
    WebhookCreateBody,
    WebhookList,
    WebhookOut,
    WebhookPatchBody,
    WebhookPath,
    WebhookWithSecret,
)
from webapp.webhooks import services as webhooks
from webapp.webhooks.models import WebhookDelivery, WebhookSubscription
from webapp.webhooks.services import WithSecret

bp = api_blueprint(
    "webhooks",
    "/webhooks",
    "Signed webhooks: subscriptions that receive queue and appointment events",
)


def _webhook_json(subscription: WebhookSubscription) -> dict[str, Any]:
    return WebhookOut.model_validate(subscription).model_dump(mode="json")


def _with_secret_json(created: WithSecret) -> dict[str, Any]:
    answer = WebhookWithSecret.model_validate(
        {**_webhook_json(created.subscription), "secret": created.secret}
    )
    return answer.model_dump(mode="json")


def _delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return DeliveryOut.model_validate(delivery).model_dump(mode="json")


@bp.post(
    "",
    summary="Register a webhook receiver",
    description="Admins only; audited (without the secret). Subscribes `url` to the listed "
    "events; every such event is then POSTed to it, signed with `X-HQ-Signature` (see "
    "docs/webhooks.md). Answers 201 with the subscription and its `secret`, which is shown "
    "only here (and on rotate-secret). Refuses: 403 for other roles; 422 for an unknown "
    "event, no event, or a URL that is not http(s).",
    responses={201: WebhookWithSecret},
)
@allow(bp, "admin")
def create_webhook(body: WebhookCreateBody) -> tuple[Response, int]:
    created = webhooks.create_subscription(
        url=body.url, events=body.events, description=body.description, actor=api_user()
    )
    return jsonify(_with_secret_json(created)), 201


@bp.get(
    "",
    summary="Every webhook subscription (without secrets)",
    description="Admins only (403 for other roles). Every subscription as a plain list, "
    "with whether it is active and, when deliveries failed for 24 hours, when and why it "
    "was paused. Secrets are never listed.",
    responses={200: WebhookList},
)
@allow(bp, "admin")
def list_webhooks() -> Response:
    return jsonify([_webhook_json(item) for item in webhooks.list_subscriptions()])


@bp.patch(
    "/<int:id>",
    summary="Change a webhook's URL, events, description, or pause and resume it",
    description="Admins only; audited. Only the fields sent change. `active: false` pauses "
    "sending (pending deliveries wait; new events are not recorded for it); `active: true` "
    "resumes it, lifting an automatic pause, and sends what is pending in order. Refuses: "
    "403 for other roles; 404 for no such webhook; 422 for an unknown event or a URL that is "
    "not http(s).",
    responses={200: WebhookOut, **NOT_FOUND},
)
@allow(bp, "admin")
def update_webhook(path: WebhookPath, body: WebhookPatchBody) -> Response:
    changes: dict[str, Any] = {
        field: getattr(body, field)
        for field in ("url", "events", "active", "description")
        if field in body.model_fields_set and getattr(body, field) is not None
    }
    subscription = webhooks.update_subscription(path.id, changes, actor=api_user())
    return jsonify(_webhook_json(subscription))


@bp.delete(
    "/<int:id>",
    summary="Delete a webhook subscription and its delivery log",
    description="Admins only; audited. Answers 204 with no body; deliveries not yet sent "
    "are dropped. Refuses: 403 for other roles; 404 for no such webhook.",
    responses={204: None, **NOT_FOUND},
)
@allow(bp, "admin")
def delete_webhook(path: WebhookPath) -> Response:
    webhooks.delete_subscription(path.id, actor=api_user())
    return Response(status=204)


@bp.get(
    "/<int:id>/deliveries",
    summary="A webhook's delivery log (the latest 100, newest first)",
    description="Admins only. Each delivery's event id and type, status (pending, delivered, "
    "failed), attempts, the receiver's last HTTP status, the last error and its times. "
    "Refuses: 403 for other roles; 404 for no such webhook.",
    responses={200: DeliveryList, **NOT_FOUND},
)
@allow(bp, "admin")
def list_webhook_deliveries(path: WebhookPath) -> Response:
    return jsonify([_delivery_json(item) for item in webhooks.list_deliveries(path.id)])


@bp.post(
    "/<int:id>/deliveries/<int:delivery_id>/redeliver",
    summary="Send one delivery again",
    description="Admins only; audited. Puts the delivery back to pending (same event id and "
    "body, a fresh signature) and queues it: it goes in its place in the subscription's "
    "order. Answers 202 with the delivery. Refuses: 403 for other roles; 404 for no such "
    "webhook or delivery.",
    responses={202: DeliveryOut, **NOT_FOUND},
)
@allow(bp, "admin")
def redeliver_webhook_delivery(path: DeliveryPath) -> tuple[Response, int]:
    delivery = webhooks.redeliver(path.id, path.delivery_id, actor=api_user())
    return jsonify(_delivery_json(delivery)), 202


@bp.post(
    "/<int:id>/rotate-secret",
    summary="Give a webhook a new signing secret",
    description="Admins only; audited (without the secret). Replaces the secret at once: "
    "every delivery sent from now on is signed with the new one, shown only in this 200 "
    "answer. Refuses: 403 for other roles; 404 for no such webhook.",
    responses={200: WebhookWithSecret, **NOT_FOUND},
)
@allow(bp, "admin")
def rotate_webhook_secret(path: WebhookPath) -> Response:
    return jsonify(_with_secret_json(webhooks.rotate_secret(path.id, actor=api_user())))
