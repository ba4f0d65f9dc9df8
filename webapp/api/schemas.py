"""Pydantic models of the JSON API: what it accepts and what it returns.

They describe the shape of the data only (types, required fields, paging
bounds). Business rules such as password length, department code format or
uniqueness are checked by the services, so the HTML pages and the API share
them; their failures come back as 409/422 in the same error envelope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, RootModel

from webapp.auth.models import ROLES
from webapp.auth.services import MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH, USERNAME_PATTERN
from webapp.departments.services import CODE_PATTERN, MAX_SERVICE_MINUTES

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
