"""Schemas of /audit (the merged audit trail) and /queue/{id}/history (a ticket's events)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from webapp.api.schemas.common import Page, PageQuery, Timestamp, not_nullable
from webapp.database import MAX_ID
from webapp.queue.models import QUEUE_ACTIONS, TICKET_STATUSES

_DAY = "YYYY-MM-DD, a whole day in HOSPITAL_TIMEZONE (inclusive)"


class AuditQuery(PageQuery):
    action: str | None = Field(
        None,
        max_length=64,
        description="e.g. user.update, patient.view, queue.call (queue moves are queue.<action>)",
        json_schema_extra=not_nullable(),
    )
    user_id: int | None = Field(None, ge=1, le=MAX_ID, description="Who acted")
    entity_type: str | None = Field(
        None,
        max_length=40,
        description="user, department, service_point, patient, appointment, ticket, …",
        json_schema_extra=not_nullable(),
    )
    entity_id: int | None = Field(None, ge=1, le=MAX_ID, description="The record's id")
    date_from: date | None = Field(None, alias="from", description=f"From this day: {_DAY}")
    date_to: date | None = Field(None, alias="to", description=f"Up to this day: {_DAY}")


class AuditEntryOut(BaseModel):
    id: str = Field(
        description='Unique in the list: "audit-<n>" for an audit-log row, '
        '"queue-<n>" for a queue event'
    )
    at: Timestamp
    user_id: int | None = Field(description="null: the system, or a deleted account")
    username: str | None
    action: str
    entity_type: str | None
    entity_id: int | None
    summary: str = Field(description="What happened; never a patient's name, birth date or phone")
    ip: str | None = Field(description="The client's address; null for queue moves and the CLI")


class AuditList(Page):
    items: list[AuditEntryOut]


class HistoryEntryOut(BaseModel):
    id: int = Field(description="The queue event's id")
    at: Timestamp
    action: str = Field(json_schema_extra={"enum": list(QUEUE_ACTIONS)})
    from_status: str | None = Field(
        description="null for a check-in", json_schema_extra={"enum": [*TICKET_STATUSES, None]}
    )
    to_status: str = Field(json_schema_extra={"enum": list(TICKET_STATUSES)})
    user_id: int | None = Field(description="Who made the move; null: the system")
    username: str | None
    service_point_id: int | None
    reason: str | None


class TicketHistoryList(Page):
    items: list[HistoryEntryOut]
