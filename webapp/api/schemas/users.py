"""Schemas of /users (staff accounts)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from webapp.api.schemas.common import NON_BLANK, Page, Role, Timestamp
from webapp.auth.models import ROLES
from webapp.auth.services import MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH, USERNAME_PATTERN


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
