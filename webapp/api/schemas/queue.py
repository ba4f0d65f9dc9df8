"""Schemas of /queue and /tickets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import JsonDict

from webapp.api.schemas.common import Timestamp
from webapp.appointments.services import REASON_MAX

Priority = Literal["emergency", "urgent", "priority", "routine"]
TicketStatus = Literal[
    "waiting", "called", "in_service", "completed", "cancelled", "no_show", "transferred"
]
_PRIORITY_DESCRIPTION = "emergency, urgent, priority or routine (most urgent first)"
_REASON: JsonDict = {"maxLength": REASON_MAX}


class TicketOut(BaseModel):
    """A queue ticket. Never carries the patient's name: ids only."""

    id: int
    number: str = Field(description='The number called out and shown, e.g. "GM-007"')
    status: TicketStatus
    priority: Priority
    patient_id: int
    department_id: int
    appointment_id: int | None
    service_point_id: int | None = Field(
        description="While waiting: the room it is assigned to (if any); once called: "
        "the room serving it"
    )
    clinician_id: int | None
    position: int | None = Field(description="1-based place among waiting tickets; null otherwise")
    estimated_wait_minutes: int | None = Field(description="null when not waiting")
    target_minutes: int | None = Field(
        description="While waiting: the department's service target for this priority "
        "(minutes from check-in to call); null otherwise"
    )
    target_state: Literal["ok", "at_risk", "breached"] | None = Field(
        description="While waiting: ok, at_risk (waited 80 % of the target) or breached (past "
        "it), read from the clock at this answer; null otherwise"
    )
    late: bool = Field(
        description="The patient checked in later than the grace period after their "
        "appointment's start, so queues from check-in (never true for a walk-in)"
    )
    checked_in_at: Timestamp
    called_at: Timestamp | None
    started_at: Timestamp | None
    ended_at: Timestamp | None
    transferred_from: int | None = Field(description="The id of the ticket this one replaced")
    status_url: str = Field(
        description="The patient's own ticket page (no sign-in; kept along a transfer)"
    )


class CheckInOut(TicketOut):
    """The check-in answer: the new ticket, and whether a walk-in matched a booking."""

    matched_booking: bool = Field(
        description="True when a walk-in check-in (no appointment_id sent) found the "
        "patient's booked appointment today in that department and checked it in: "
        "appointment_id names it and the ticket queues by its time"
    )


class QueueCurrentOut(BaseModel):
    department_id: int
    waiting: list[TicketOut] = Field(description="In serving order")
    called: list[TicketOut] = Field(description="In the order they were called")
    in_service: list[TicketOut]
    generated_at: Timestamp
    typical_visit_minutes: float = Field(
        description="The department's typical visit used for the wait estimates: the median of "
        "today's last 20 completed visits, between half and three times the default service "
        "minutes (the default until 3 visits are done)"
    )
    mean_service_minutes: float = Field(
        description="Deprecated: the same value as typical_visit_minutes (its former name)"
    )
    active_service_points: int = Field(description="Rooms counted as serving for the estimates")


class QueueCurrentQuery(BaseModel):
    department_id: int = Field(description="Department id")


class TicketPath(BaseModel):
    id: int = Field(description="Ticket id")


class CheckInBody(BaseModel):
    """Either ``{"appointment_id"}`` (a booked appointment) or ``{"patient_id",
    "department_id"}`` (a walk-in), never both; ``priority`` goes with either."""

    appointment_id: int | None = Field(None, description="A booked appointment to check in")
    patient_id: int | None = Field(None, description="A walk-in: the patient")
    department_id: int | None = Field(None, description="A walk-in: the department")
    priority: Priority = Field("routine", description=_PRIORITY_DESCRIPTION)


class CallNextBody(BaseModel):
    service_point_id: int = Field(description="The room or counter that calls")


class TicketStatusBody(BaseModel):
    status: Literal["called", "in_service", "completed", "no_show", "cancelled", "waiting"] = Field(
        description="called (from waiting), in_service (from called), completed (from "
        "in_service), no_show (from called or in_service), cancelled (from waiting), "
        "waiting (back to the queue, from called)"
    )
    service_point_id: int | None = Field(
        None,
        description="With called: the room calling (defaults to the room it is assigned to)",
    )
    reason: str | None = Field(None, max_length=1000, json_schema_extra=_REASON)


class OverrideBody(BaseModel):
    ticket_id: int
    action: Literal["assign", "skip", "move_to_front", "set_priority", "transfer", "recall"] = (
        Field(
            description="assign (a waiting ticket to service_point_id), skip, move_to_front, "
            "set_priority (to priority), transfer (to department_id: a new ticket), recall"
        )
    )
    service_point_id: int | None = Field(None, description="With assign")
    priority: Priority | None = Field(
        None, description=f"With set_priority: {_PRIORITY_DESCRIPTION}"
    )
    department_id: int | None = Field(None, description="With transfer")
    reason: str | None = Field(None, max_length=1000, json_schema_extra=_REASON)
