"""Schemas of /appointments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import JsonDict

from webapp import clock
from webapp.api.schemas.common import Page, PageQuery, Timestamp, not_nullable, refuse_null
from webapp.appointments.models import APPOINTMENT_STATUSES
from webapp.appointments.services import MAX_DURATION, MIN_DURATION, REASON_MAX
from webapp.database import MAX_ID

# Far enough for any booking, near enough that adding a duration or a time zone cannot
# overflow Python's datetime (year 9999): the clock's last day a person may name.
LAST_YEAR = clock.LATEST_DAY.year


def _not_too_far(value: datetime) -> datetime:
    if value.year > LAST_YEAR:
        raise ValueError(f"Choose a time before the year {LAST_YEAR + 1}.")
    return value


def _day_in_range(value: date) -> date:
    if not clock.in_day_range(value):
        raise ValueError(clock.DAY_RANGE_MESSAGE)
    return value


BookingTime = Annotated[datetime, AfterValidator(_not_too_far)]
_STARTS_AT_DESCRIPTION = (
    "ISO 8601 with an offset, e.g. 2026-11-24T09:30:00+01:00; not in the past, "
    "within the department's opening hours"
)
_DURATION: JsonDict = {"minimum": MIN_DURATION, "maximum": MAX_DURATION}


class AppointmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    department_id: int
    clinician_id: int | None = Field(description="null: any clinician of the department")
    starts_at: Timestamp
    ends_at: Timestamp
    duration_minutes: int
    reason: str
    status: Literal["booked", "checked_in", "cancelled", "no_show", "completed"]
    cancel_reason: str | None
    reference: str | None = Field(
        description="The booking reference a patient types or scans at the self check-in "
        "kiosk: 6 characters without I, O, 0 or 1, unique among booked appointments"
    )
    created_at: Timestamp


class AppointmentList(Page):
    items: list[AppointmentOut]


class AppointmentCreateBody(BaseModel):
    patient_id: int
    department_id: int
    clinician_id: int | None = Field(None, description="Leave out or null for any clinician")
    starts_at: BookingTime = Field(description=_STARTS_AT_DESCRIPTION)
    duration_minutes: int = Field(
        description=f"{MIN_DURATION}–{MAX_DURATION}", json_schema_extra=_DURATION
    )
    reason: str | None = Field(None, max_length=1000, json_schema_extra={"maxLength": REASON_MAX})


class AppointmentPatchBody(BaseModel):
    """Either a reschedule (any of starts_at, duration_minutes, clinician_id) or a cancellation
    (``{"status": "cancelled", "reason"?}``), never both."""

    starts_at: BookingTime | None = Field(
        None, description=_STARTS_AT_DESCRIPTION, json_schema_extra=not_nullable()
    )
    duration_minutes: int | None = Field(
        None,
        description=f"{MIN_DURATION}–{MAX_DURATION}",
        json_schema_extra=not_nullable(_DURATION),
    )
    clinician_id: int | None = Field(None, description="null: any clinician")
    status: Literal["cancelled"] | None = Field(
        None,
        description='"cancelled" cancels the appointment (it is kept on record)',
        json_schema_extra=not_nullable(),
    )
    reason: str | None = Field(
        None,
        max_length=1000,
        description="Why it is cancelled (with status cancelled only)",
        json_schema_extra=not_nullable({"maxLength": REASON_MAX}),
    )

    _not_null = field_validator("starts_at", "duration_minutes", "status", "reason", mode="after")(
        refuse_null
    )


class AppointmentPath(BaseModel):
    id: int = Field(description="Appointment id")


class AppointmentQuery(PageQuery):
    day: Annotated[date, AfterValidator(_day_in_range)] | None = Field(
        None, alias="date", description="YYYY-MM-DD, a day in HOSPITAL_TIMEZONE"
    )
    department_id: int | None = Field(None, ge=1, le=MAX_ID)
    clinician_id: int | None = Field(None, ge=1, le=MAX_ID)
    patient_id: int | None = Field(None, ge=1, le=MAX_ID)
    status: str | None = Field(
        None,
        max_length=40,
        description=", ".join(APPOINTMENT_STATUSES),
        json_schema_extra=not_nullable({"enum": list(APPOINTMENT_STATUSES)}),
    )
