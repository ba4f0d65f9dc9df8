"""Schemas of /departments and their service points."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictInt, field_validator
from pydantic.json_schema import JsonDict

from webapp.api.schemas.common import NON_BLANK, not_nullable, refuse_null
from webapp.departments.services import CODE_PATTERN, MAX_SERVICE_MINUTES
from webapp.departments.targets import MAX_TARGET_MINUTES

OpeningHours = dict[str, list[list[str]]]
_TARGET_MINUTES: JsonDict = {"minimum": 0, "maximum": MAX_TARGET_MINUTES}


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
    wait_targets: dict[str, int] = Field(
        description="Service targets in minutes from check-in to call, per priority: "
        '{"emergency": 0, "urgent": 15, "priority": 30, "routine": 60} unless changed'
    )
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


class WaitTargetsBody(BaseModel):
    """Minutes per priority; a priority not sent keeps its value."""

    model_config = ConfigDict(extra="forbid")

    emergency: StrictInt | None = Field(None, json_schema_extra=not_nullable(_TARGET_MINUTES))
    urgent: StrictInt | None = Field(None, json_schema_extra=not_nullable(_TARGET_MINUTES))
    priority: StrictInt | None = Field(None, json_schema_extra=not_nullable(_TARGET_MINUTES))
    routine: StrictInt | None = Field(None, json_schema_extra=not_nullable(_TARGET_MINUTES))

    _not_null = field_validator("emergency", "urgent", "priority", "routine", mode="after")(
        refuse_null
    )


class DepartmentPatchBody(BaseModel):
    """Only the fields sent change; ``"opening_hours": null`` means open at all hours."""

    name: str | None = Field(
        None,
        max_length=200,
        json_schema_extra=not_nullable({"pattern": NON_BLANK, "maxLength": 120}),
    )
    accepts_walk_ins: bool | None = Field(None, json_schema_extra=not_nullable())
    default_service_minutes: int | None = Field(
        None,
        description=f"1–{MAX_SERVICE_MINUTES}",
        json_schema_extra=not_nullable({"minimum": 1, "maximum": MAX_SERVICE_MINUTES}),
    )
    opening_hours: dict[str, Any] | None = Field(
        None, description='{"mon": [["08:00", "17:00"]], …}; null for all hours'
    )
    wait_targets: WaitTargetsBody | None = Field(
        None,
        description='{"routine": 45}: minutes 0–1440; priorities not sent keep their value',
        json_schema_extra=not_nullable(),
    )

    _not_null = field_validator(
        "name", "accepts_walk_ins", "default_service_minutes", "wait_targets", mode="after"
    )(refuse_null)


class DepartmentPath(BaseModel):
    id: int = Field(description="Department id")


class ServicePointCreateBody(BaseModel):
    name: str = Field(max_length=200, json_schema_extra={"pattern": NON_BLANK, "maxLength": 60})
