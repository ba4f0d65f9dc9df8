"""Schemas of /auth/login, /auth/refresh and /me."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from webapp.api.schemas.common import Role


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
