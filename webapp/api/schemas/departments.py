"""Schemas of /departments and their service points."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from webapp.api.schemas.common import NON_BLANK
from webapp.departments.services import CODE_PATTERN, MAX_SERVICE_MINUTES

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
