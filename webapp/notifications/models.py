"""The notification outbox and the browsers that asked for push messages.

A Notification row is written in the same transaction as the event that causes
it and sent by a task after the commit (``webapp.notifications.delivery``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.database import UTCDateTime, utcnow
from webapp.extensions import db
from webapp.patients.models import Patient

CHANNELS = ("sms", "push")
NOTIFICATION_STATUSES = ("pending", "sent", "failed")


class PushSubscription(db.Model):  # type: ignore[name-defined]
    """A browser that allowed notifications on a ticket page.

    Kept per ticket chain (the ``status_token`` a transfer carries over), so a
    patient who is transferred keeps getting messages. Deleted when the push
    service reports it gone, and with the chain's last ticket page.
    """

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("status_token", "endpoint", name="uq_push_subscriptions_token_endpoint"),
        Index("ix_push_subscriptions_status_token", "status_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status_token: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(1024))
    p256dh: Mapped[str] = mapped_column(String(256))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def as_webpush_info(self) -> dict[str, object]:
        """The subscription in the shape the browser's ``PushSubscription.toJSON()`` gives."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    def __repr__(self) -> str:
        return f"<PushSubscription {self.id}>"


class Notification(db.Model):  # type: ignore[name-defined]
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("channel IN ('sms', 'push')", name="channel"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        # A message that goes at most once (the "near" message of a ticket, the reminder of an
        # appointment) carries a key; the database refuses a second row with the same key.
        UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
        Index("ix_notifications_status_created", "status", "created_at"),
        Index("ix_notifications_ticket", "ticket_id"),
        Index("ix_notifications_appointment", "appointment_id"),
        Index("ix_notifications_patient_created", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    push_subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(8))
    template_key: Mapped[str] = mapped_column(String(40))  # the kind of message, see messages.py
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # Attempts since the row was written or last resent by an admin.
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    dedupe_key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A retry is due from here; None while the first attempt is due.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A worker that claimed the row is sending it until then; another worker leaves it alone.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient] = relationship()

    def __repr__(self) -> str:  # no body, no phone
        return f"<Notification {self.id} {self.channel} {self.template_key} {self.status}>"
