"""Webhook subscriptions and their deliveries (the webhooks' outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import UTCDateTime, utcnow
from webapp.extensions import db

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookSubscription(db.Model):  # type: ignore[name-defined]
    """A receiver an admin registered: where to POST, which events, and the signing secret.

    The secret is stored as it is (it must be at hand to sign every delivery; a hash
    would not do), shown once when created or rotated, and never listed.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when deliveries kept failing for a day (the subscription is then inactive too).
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pause_reason: Mapped[str | None] = mapped_column(String(300))

    def __repr__(self) -> str:
        return f"<WebhookSubscription {self.id} {self.url}>"


class WebhookDelivery(db.Model):  # type: ignore[name-defined]
    """One event for one subscription: the exact body sent (``body``), and how sending went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        UniqueConstraint("event_id", name="uq_webhook_deliveries_event_id"),
        Index("ix_webhook_deliveries_subscription_status", "subscription_id", "status", "id"),
        Index("ix_webhook_deliveries_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    # The payload's "id" (a UUID): one per delivery, so a receiver can drop a duplicate.
    event_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(40))
    # The serialized body, byte for byte what is signed and sent (every attempt the same).
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def payload(self) -> dict[str, Any]:
        import json

        value: dict[str, Any] = json.loads(self.body)
        return value

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.type} {self.status}>"
