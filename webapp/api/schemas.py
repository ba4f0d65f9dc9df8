"""Pydantic models of the JSON API: what it accepts and what it returns.

They describe the shape of the data only (types, required fields, paging
bounds). Business rules such as password length, department code format or
uniqueness are checked by the services, so the HTML pages and the API share
them; their failures come back as 409/422 in the same error envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    field_validator,
)
from pydantic.json_schema import JsonDict
from pydantic_core import PydanticCustomError

from webapp.appointments.models import APPOINTMENT_STATUSES
from webapp.appointments.services import MAX_DURATION, MIN_DURATION, REASON_MAX
from webapp.auth.models import ROLES
from webapp.auth.services import MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH, USERNAME_PATTERN
from webapp.database import MAX_ID
from webapp.departments.services import CODE_PATTERN, MAX_SERVICE_MINUTES
from webapp.patients.models import SEXES
from webapp.patients.services import MRN_PATTERN, NAME_MAX

# The same roles as webapp.auth.models.ROLES (a test keeps the two equal).
Role = Literal["receptionist", "clinician", "admin"]

# Timestamps go out as ISO 8601 with an explicit offset: 2026-11-24T09:30:00+00:00.
Timestamp = Annotated[datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str)]

# ----------------------------------------------------------------- errors


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: Literal[
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "method_not_allowed",
        "conflict",
        "validation_error",
        "rate_limited",
        "internal_error",
    ]
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error the API gives has this shape."""

    error: ErrorBody


# ----------------------------------------------------------------- paging

MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page number")
    per_page: int = Field(50, ge=1, le=MAX_PER_PAGE, description="Items per page, 1–200")


class Page(BaseModel):
    total: int
    page: int
    per_page: int


# ------------------------------------------------------------------- auth


class LoginBody(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class RefreshBody(BaseModel):
    refresh_token: str = Field(max_length=4000)


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")


class MeOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: Role


# ------------------------------------------------------------------ users


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: Role
    active: bool
    created_at: Timestamp
    last_login_at: Timestamp | None


class UserList(Page):
    items: list[UserOut]


# The services enforce the business rules (with their own messages, shared with the
# HTML pages); the schemas only advertise them, from the same constants, through
# json_schema_extra — so the OpenAPI document tells integrators (and schemathesis)
# what will be accepted without a second copy of the rule doing the checking.
NON_BLANK = r"\S"


class UserCreateBody(BaseModel):
    username: str = Field(
        max_length=200, json_schema_extra={"pattern": USERNAME_PATTERN.pattern, "maxLength": 64}
    )
    full_name: str = Field(
        max_length=200, json_schema_extra={"pattern": NON_BLANK, "maxLength": 120}
    )
    role: str = Field(
        max_length=40,
        description="receptionist, clinician or admin",
        json_schema_extra={"enum": list(ROLES)},
    )
    password: str = Field(
        max_length=1000,
        description=f"At least {MIN_PASSWORD_LENGTH} characters",
        json_schema_extra={"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_BYTES},
    )


class UserPatchBody(BaseModel):
    full_name: str | None = Field(None, max_length=200)
    role: str | None = Field(None, max_length=40)
    active: bool | None = None
    password: str | None = Field(None, max_length=1000)


class UserPath(BaseModel):
    id: int = Field(description="User id")


# ------------------------------------------------------------ departments

OpeningHours = dict[str, list[list[str]]]


class ServicePointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    department_id: int
    active: bool


class ServicePointBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    active: bool


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    accepts_walk_ins: bool
    default_service_minutes: int
    opening_hours: OpeningHours | None = Field(
        description='{"mon": [["08:00", "17:00"]], …} in HOSPITAL_TIMEZONE; '
        "null means open at all hours"
    )
    active: bool
    service_points: list[ServicePointBrief]


class DepartmentList(RootModel[list[DepartmentOut]]):
    """GET /departments answers a plain list."""


class DepartmentCreateBody(BaseModel):
    code: str = Field(
        max_length=40,
        description="1–4 upper-case letters, e.g. GM",
        json_schema_extra={"pattern": CODE_PATTERN.pattern},
    )
    name: str = Field(max_length=200, json_schema_extra={"pattern": NON_BLANK, "maxLength": 120})
    accepts_walk_ins: bool = True
    default_service_minutes: int = Field(
        15,
        description=f"1–{MAX_SERVICE_MINUTES}",
        json_schema_extra={"minimum": 1, "maximum": MAX_SERVICE_MINUTES},
    )
    opening_hours: dict[str, Any] | None = Field(
        None, description='{"mon": [["08:00", "17:00"]], …}; omit or null for all hours'
    )


class DepartmentPath(BaseModel):
    id: int = Field(description="Department id")


class ServicePointCreateBody(BaseModel):
    name: str = Field(max_length=200, json_schema_extra={"pattern": NON_BLANK, "maxLength": 60})


# --------------------------------------------------------------- patients

EMAIL_MAX = 254


def _not_nullable(extra: JsonDict | None = None) -> Callable[[JsonDict], None]:
    """Document an optional field as never null (``_refuse_null`` enforces it)."""

    def edit(schema: JsonDict) -> None:
        branches = schema.pop("anyOf", [])
        assert isinstance(branches, list)  # noqa: S101
        for branch in branches:
            if isinstance(branch, dict) and branch.get("type") != "null":
                schema.update(branch)
        schema.update(extra or {})
        if schema.get("default", "") is None:
            del schema["default"]  # left out means unchanged (or unfiltered), not null

    return edit


def _refuse_null(value: Any) -> Any:
    """For fields a PATCH may leave out but not clear: an explicit null is a mistake."""
    if value is None:
        raise PydanticCustomError(
            "not_null", "This field cannot be null; leave it out to keep its value."
        )
    return value


class PatientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    phone: str | None = Field(description="E.164, e.g. +442079460018")
    email: str | None
    sex: Literal["female", "male", "other", "unknown"] | None
    sms_opt_in: bool
    notes: str
    created_at: Timestamp
    updated_at: Timestamp


class PatientList(Page):
    items: list[PatientOut]


_NAME: JsonDict = {"pattern": NON_BLANK, "maxLength": NAME_MAX}
_PHONE_DESCRIPTION = (
    "A valid phone number: international (+44 20 7946 0018) or national, "
    "read in the hospital's DEFAULT_PHONE_REGION; stored and returned in E.164"
)
_SEX_DESCRIPTION = "female, male, other or unknown"
_SEX_ENUM: JsonDict = {"enum": [*SEXES, None]}


class PatientCreateBody(BaseModel):
    first_name: str = Field(max_length=200, json_schema_extra=_NAME)
    last_name: str = Field(max_length=200, json_schema_extra=_NAME)
    date_of_birth: date = Field(description="YYYY-MM-DD; not in the future, at most 130 years ago")
    phone: str | None = Field(None, max_length=64, description=_PHONE_DESCRIPTION)
    email: str | None = Field(
        None, max_length=400, json_schema_extra={"format": "email", "maxLength": EMAIL_MAX}
    )
    sex: str | None = Field(
        None,
        max_length=20,
        description=_SEX_DESCRIPTION,
        json_schema_extra=_SEX_ENUM,
    )
    sms_opt_in: bool = Field(False, description="Consent to SMS; needs a phone. Defaults to false")
    mrn: str | None = Field(
        None,
        max_length=64,
        description="Medical record number; generated when left out",
        json_schema_extra={"pattern": MRN_PATTERN.pattern},
    )
    notes: str | None = Field(None, max_length=5000)
    allow_duplicate: bool = Field(
        False,
        description="A patient with the same name and date of birth, or the same phone, "
        "makes the request fail with 409 listing their MRNs. Send true after checking that "
        "this is a different person to register them anyway.",
    )


class PatientPatchBody(BaseModel):
    """Only the fields sent change. phone, email, sex and notes can be cleared with null."""

    first_name: str | None = Field(None, max_length=200, json_schema_extra=_not_nullable(_NAME))
    last_name: str | None = Field(None, max_length=200, json_schema_extra=_not_nullable(_NAME))
    date_of_birth: date | None = Field(None, json_schema_extra=_not_nullable())
    phone: str | None = Field(None, max_length=64, description=_PHONE_DESCRIPTION)
    email: str | None = Field(
        None, max_length=400, json_schema_extra={"format": "email", "maxLength": EMAIL_MAX}
    )
    sex: str | None = Field(
        None,
        max_length=20,
        description=_SEX_DESCRIPTION,
        json_schema_extra=_SEX_ENUM,
    )
    sms_opt_in: bool | None = Field(None, json_schema_extra=_not_nullable())
    mrn: str | None = Field(
        None, max_length=64, json_schema_extra=_not_nullable({"pattern": MRN_PATTERN.pattern})
    )
    notes: str | None = Field(None, max_length=5000)

    _not_null = field_validator(
        "first_name", "last_name", "date_of_birth", "sms_opt_in", "mrn", mode="after"
    )(_refuse_null)


class PatientPath(BaseModel):
    id: int = Field(description="Patient id")


class PatientSearchQuery(PageQuery):
    q: str = Field(
        "",
        max_length=200,
        description="Part of a name, an MRN or a phone number (typed any way); empty lists all",
    )


# ----------------------------------------------------------- appointments

# Far enough for any booking, near enough that adding a duration or a time zone cannot
# overflow Python's datetime (year 9999).
LAST_YEAR = 9000


def _not_too_far(value: datetime) -> datetime:
    if value.year > LAST_YEAR:
        raise ValueError(f"Choose a time before the year {LAST_YEAR + 1}.")
    return value


def _day_in_range(value: date) -> date:
    if not 1 < value.year <= LAST_YEAR:
        raise ValueError(f"Choose a date between the years 2 and {LAST_YEAR}.")
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
        None, description=_STARTS_AT_DESCRIPTION, json_schema_extra=_not_nullable()
    )
    duration_minutes: int | None = Field(
        None,
        description=f"{MIN_DURATION}–{MAX_DURATION}",
        json_schema_extra=_not_nullable(_DURATION),
    )
    clinician_id: int | None = Field(None, description="null: any clinician")
    status: Literal["cancelled"] | None = Field(
        None,
        description='"cancelled" cancels the appointment (it is kept on record)',
        json_schema_extra=_not_nullable(),
    )
    reason: str | None = Field(
        None,
        max_length=1000,
        description="Why it is cancelled (with status cancelled only)",
        json_schema_extra=_not_nullable({"maxLength": REASON_MAX}),
    )

    _not_null = field_validator("starts_at", "duration_minutes", "status", "reason", mode="after")(
        _refuse_null
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
        json_schema_extra=_not_nullable({"enum": list(APPOINTMENT_STATUSES)}),
    )


# ------------------------------------------------------------------ queue

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
    checked_in_at: Timestamp
    called_at: Timestamp | None
    started_at: Timestamp | None
    ended_at: Timestamp | None
    transferred_from: int | None = Field(description="The id of the ticket this one replaced")
    status_url: str = Field(
        description="The patient's own ticket page (no sign-in; kept along a transfer)"
    )


class QueueCurrentOut(BaseModel):
    department_id: int
    waiting: list[TicketOut] = Field(description="In serving order")
    called: list[TicketOut] = Field(description="In the order they were called")
    in_service: list[TicketOut]
    generated_at: Timestamp
    mean_service_minutes: float = Field(description="Used for the wait estimates")
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
