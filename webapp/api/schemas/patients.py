"""Schemas of /patients."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import JsonDict

from webapp.api.schemas.common import (
    NON_BLANK,
    Page,
    PageQuery,
    Timestamp,
    not_nullable,
    refuse_null,
)
from webapp.patients.models import SEXES
from webapp.patients.services import MRN_PATTERN, NAME_MAX

EMAIL_MAX = 254


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

    first_name: str | None = Field(None, max_length=200, json_schema_extra=not_nullable(_NAME))
    last_name: str | None = Field(None, max_length=200, json_schema_extra=not_nullable(_NAME))
    date_of_birth: date | None = Field(None, json_schema_extra=not_nullable())
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
    sms_opt_in: bool | None = Field(None, json_schema_extra=not_nullable())
    mrn: str | None = Field(
        None, max_length=64, json_schema_extra=not_nullable({"pattern": MRN_PATTERN.pattern})
    )
    notes: str | None = Field(None, max_length=5000)

    _not_null = field_validator(
        "first_name", "last_name", "date_of_birth", "sms_opt_in", "mrn", mode="after"
    )(refuse_null)


class PatientPath(BaseModel):
    id: int = Field(description="Patient id")


class PatientSearchQuery(PageQuery):
    q: str = Field(
        "",
        max_length=200,
        description="Part of a name, an MRN or a phone number (typed any way); empty lists all",
    )
