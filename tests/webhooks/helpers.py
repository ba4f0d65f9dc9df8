"""Shared by the webhook tests: a receiver's signature check, subscriptions, queue moves."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sqlalchemy import select
from werkzeug import Request

from webapp.extensions import db
from webapp.webhooks import services
from webapp.webhooks.events import EVENT_TYPES
from webapp.webhooks.models import WebhookDelivery


def verify(request: Request, secret: str) -> dict[str, Any]:
    """What docs/webhooks.md tells a receiver to do; the payload, or AssertionError."""
    header = request.headers["X-HQ-Signature"]
    parts = dict(item.split("=", 1) for item in header.split(","))
    body = request.get_data(as_text=True)
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), "the signature does not verify"
    payload: dict[str, Any] = json.loads(body)
    return payload


def subscribe(url: str, events: tuple[str, ...] = EVENT_TYPES) -> services.WithSecret:
    created = services.create_subscription(
        url=url, events=list(events), description="test receiver", actor=None
    )
    db.session.commit()
    return created


def deliveries(**where: Any) -> list[WebhookDelivery]:
    db.session.expire_all()
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    return list(db.session.scalars(query))
