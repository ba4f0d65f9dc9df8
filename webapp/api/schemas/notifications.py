"""Schemas of /notifications (the outbox log) and /notifications/resend."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator

from webapp import clock
from webapp.api.schemas.common import Page, PageQuery, Timestamp, not_nullable, refuse_null
from webapp.database import MAX_ID
from webapp.notifications.messages import KINDS
from webapp.notifications.models import CHANNELS, NOTIFICATION_STATUSES
from webapp.notifications.services import MAX_RESEND_IDS


def _day_in_range(value: date) -> date:
    if not clock.in_day_range(value):
        raise ValueError(clock.DAY_RANGE_MESSAGE)
    return value


class NotificationQuery(PageQuery):
    # Plain strings, advertised with their values: the service judges them and names the
    # allowed values in its 422 (the same words the admin page shows).
    status: str | None = Field(
        None,
        max_length=10,
        description="pending (on its way or waiting for a retry), sent, or failed (gave up)",
        json_schema_extra=not_nullable({"enum": list(NOTIFICATION_STATUSES)}),
    )
    channel: str | None = Field(
        None,
        max_length=10,
        description="sms or push (Web Push to a browser that allowed it on the ticket page)",
        json_schema_extra=not_nullable({"enum": list(CHANNELS)}),
    )
    kind: str | None = Field(
        None,
        max_length=40,
        description="The kind of message: " + ", ".join(KINDS),
        json_schema_extra=not_nullable({"enum": list(KINDS)}),
    )
    day: Annotated[date, AfterValidator(_day_in_range)] | None = Field(
        None,
        alias="date",
        description="YYYY-MM-DD: messages written that day in HOSPITAL_TIMEZONE",
    )


class NotificationOut(BaseModel):
    id: int
    channel: Literal["sms", "push"]
    status: Literal["pending", "sent", "failed"]
    attempts: int = Field(description="Attempts since the message was written or last resent")
    last_error: str | None = Field(
        description="Why the last attempt failed (never a phone number); null when none did"
    )
    created_at: Timestamp = Field(description="When the message was written")
    sent_at: Timestamp | None = Field(description="When the provider accepted it; null until then")
    ticket_id: int | None = Field(description="The queue ticket it is about, if any")
    appointment_id: int | None = Field(description="The appointment it is about, if any")


class NotificationList(Page):
    items: list[NotificationOut]


class ResendBody(BaseModel):
    """Either ``{"ids": [...]}`` or ``{"status": "failed"}``, never both."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_RESEND_IDS,
        description=f"The messages to send again (1–{MAX_RESEND_IDS}); only failed ones are "
        "queued, others are left as they are",
        json_schema_extra=not_nullable(),
    )
    status: Literal["failed"] | None = Field(
        None,
        description='"failed": send every failed message again',
        json_schema_extra=not_nullable(),
    )

    _not_null = field_validator("ids", "status", mode="before")(refuse_null)


class ResendOut(BaseModel):
    queued: int = Field(description="How many failed messages were queued again")
