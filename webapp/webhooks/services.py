"""Webhook subscriptions (an admin's) and the deliveries written for them.

Everything here works in the caller's transaction; the request commits it.
Sending is ``webapp.webhooks.delivery``'s.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.database import after_commit, get_by_id, utcnow
from webapp.domain_errors import NotFound, ValidationFailed
from webapp.extensions import db
from webapp.webhooks.events import EVENT_TYPES
from webapp.webhooks.models import WebhookDelivery, WebhookSubscription

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 200
# A subscription whose oldest undelivered delivery has failed for this long is paused.
PAUSE_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class WithSecret:
    """A subscription and its secret, shown this once (on create and on rotate)."""

    subscription: WebhookSubscription
    secret: str


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(32)


# ------------------------------------------------------------ validation


def clean_url(value: object) -> str:
    url = str(value or "").strip()
    refused = ValidationFailed({"url": "Give an http:// or https:// address."})
    if any(character.isspace() or not character.isprintable() for character in url):
        raise refused
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:  # e.g. "https://[::1" (an unclosed IPv6 address)
        raise refused from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refused
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed({"url": f"At most {MAX_URL_LENGTH} characters."})
    return url


def clean_events(values: Iterable[object] | None) -> list[str]:
    chosen = [str(value) for value in values or []]
    unknown = [value for value in chosen if value not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed({"events": f"Unknown event: {', '.join(unknown)}."})
    if not chosen:
        raise ValidationFailed({"events": "Choose at least one event."})
    # In the documented order, once each.
    return [event for event in EVENT_TYPES if event in chosen]


def clean_description(value: object) -> str:
    text = str(value or "").strip()
    if not text.isprintable():  # control characters (PostgreSQL refuses NUL in text)
        raise ValidationFailed({"description": "Use letters, digits, spaces and punctuation."})
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed({"description": f"At most {MAX_DESCRIPTION_LENGTH} characters."})
    return text


# ---------------------------------------------------------- subscriptions


def list_subscriptions() -> list[WebhookSubscription]:
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get_subscription(subscription_id: int) -> WebhookSubscription:
    subscription = get_by_id(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound("No such webhook.")
    return subscription


def create_subscription(
    *, url: object, events: Iterable[object] | None, description: object, actor: User | None
) -> WithSecret:
    subscription = WebhookSubscription(
        url=clean_url(url),
        events=clean_events(events),
        description=clean_description(description),
        active=True,
        secret=new_secret(),
        created_by_id=actor.id if actor else None,
        created_at=utcnow(),
    )
    db.session.add(subscription)
    db.session.flush()
    record_audit(
        "webhook.create",
        actor,
        entity_type="webhook",
        entity_id=subscription.id,
        summary=f"Added webhook {subscription.url}",
        details={"events": subscription.events},
    )
    return WithSecret(subscription, subscription.secret)


def update_subscription(
    subscription_id: int, changes: dict[str, Any], *, actor: User | None
) -> WebhookSubscription:
    """Change the url, events, description or active flag (``changes`` holds only those given).

    Turning a subscription active again resumes it: a pause is lifted and its pending
    deliveries are sent at once, in order.
    """
    subscription = get_subscription(subscription_id)
    changed: list[str] = []
    if "url" in changes:
        subscription.url = clean_url(changes["url"])
        changed.append("url")
    if "events" in changes:
        subscription.events = clean_events(changes["events"])
        changed.append("events")
    if "description" in changes:
        subscription.description = clean_description(changes["description"])
        changed.append("description")
    if "active" in changes:
        active = bool(changes["active"])
        if active and not subscription.active:
            _resume(subscription)
        elif not active and subscription.active:
            subscription.active = False
        changed.append("active")
    record_audit(
        "webhook.update",
        actor,
        entity_type="webhook",
        entity_id=subscription.id,
        summary=f"Changed webhook {subscription.url}: {', '.join(changed) or 'nothing'}",
        details={"fields": changed, "active": subscription.active, "events": subscription.events},
    )
    return subscription


def _resume(subscription: WebhookSubscription) -> None:
    subscription.active = True
    subscription.paused_at = None
    subscription.pause_reason = None
    # Deliveries waiting out a back-off go now.
    for delivery in db.session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == subscription.id,
            WebhookDelivery.status == "pending",
        )
    ):
        delivery.next_attempt_at = None
    send_after_commit(subscription.id)


def delete_subscription(subscription_id: int, *, actor: User | None) -> None:
    subscription = get_subscription(subscription_id)
    record_audit(
        "webhook.delete",
        actor,
        entity_type="webhook",
        entity_id=subscription.id,
        summary=f"Deleted webhook {subscription.url}",
    )
    db.session.delete(subscription)  # its deliveries go with it (ON DELETE CASCADE)
    db.session.flush()


def rotate_secret(subscription_id: int, *, actor: User | None) -> WithSecret:
    """A new signing secret; the old one stops working at once (deliveries not yet sent are
    signed with the new one)."""
    subscription = get_subscription(subscription_id)
    subscription.secret = new_secret()
    record_audit(
        "webhook.rotate_secret",
        actor,
        entity_type="webhook",
        entity_id=subscription.id,
        summary=f"Rotated the secret of webhook {subscription.url}",
    )
    return WithSecret(subscription, subscription.secret)


def paused_subscriptions() -> list[WebhookSubscription]:
    """The subscriptions paused because their deliveries kept failing (for the dashboard)."""
    return list(
        db.session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.paused_at.is_not(None))
            .order_by(WebhookSubscription.id)
        )
    )


# ------------------------------------------------------------- deliveries


def write_deliveries(
    event_type: str, make_data: Callable[[], dict[str, Any]], occurred_at: datetime
) -> list[int]:
    """One pending delivery per active subscription listening to ``event_type``, in the
    current transaction; each subscription's queue is sent after the commit. ``make_data``
    builds the payload's ``data`` only when someone listens (a queue event without
    subscribers costs one query, not a read of the whole queue)."""
    written: list[int] = []
    subscriptions = [
        subscription
        for subscription in db.session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.id)
        )
        if event_type in (subscription.events or [])
    ]
    if not subscriptions:
        return written
    data = make_data()
    for subscription in subscriptions:
        event_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "id": event_id,
                "type": event_type,
                "occurred_at": occurred_at.isoformat(),
                "data": data,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        delivery = WebhookDelivery(
            subscription_id=subscription.id,
            event_id=event_id,
            type=event_type,
            body=body,
            status="pending",
            attempts=0,
            created_at=utcnow(),
        )
        db.session.add(delivery)
        db.session.flush()
        written.append(delivery.id)
        send_after_commit(subscription.id)
    return written


def send_after_commit(subscription_id: int) -> None:
    from webapp.webhooks.delivery import enqueue

    after_commit(lambda: enqueue(subscription_id))


def list_deliveries(subscription_id: int, *, limit: int = 100) -> list[WebhookDelivery]:
    get_subscription(subscription_id)
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def redeliver(subscription_id: int, delivery_id: int, *, actor: User | None) -> WebhookDelivery:
    """Send one delivery again (same event id, same body, a fresh signature): it goes back to
    pending and is sent in its place in the subscription's order."""
    delivery = get_by_id(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFound("No such delivery for this webhook.")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.delivered_at = None
    record_audit(
        "webhook.redeliver",
        actor,
        entity_type="webhook",
        entity_id=subscription_id,
        summary=f"Redelivery of {delivery.type} ({delivery.event_id}) asked",
    )
    send_after_commit(subscription_id)
    return delivery


def count_pending(subscription_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(WebhookDelivery.id)).where(
                WebhookDelivery.subscription_id == subscription_id,
                WebhookDelivery.status == "pending",
            )
        )
        or 0
    )
