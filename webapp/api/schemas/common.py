"""What the API's schemas share: the error envelope, paging, roles, timestamps and
the helpers that advertise the services' rules in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer
from pydantic.json_schema import JsonDict
from pydantic_core import PydanticCustomError

from webapp.query_inputs import MAX_PAGE

# The same roles as webapp.auth.models.ROLES (a test keeps the two equal).
Role = Literal["receptionist", "clinician", "admin"]

# Timestamps go out as ISO 8601 with an explicit offset: 2026-11-24T09:30:00+00:00.
Timestamp = Annotated[datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str)]

# The services enforce the business rules (with their own messages, shared with the
# HTML pages); the schemas only advertise them, from the same constants, through
# json_schema_extra — so the OpenAPI document tells integrators (and schemathesis)
# what will be accepted without a second copy of the rule doing the checking.
NON_BLANK = r"\S"

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
        "unavailable",
        "internal_error",
    ]
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error the API gives has this shape."""

    error: ErrorBody


# ----------------------------------------------------------------- paging

MAX_PER_PAGE = 200


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page number")
    per_page: int = Field(50, ge=1, le=MAX_PER_PAGE, description="Items per page, 1–200")


class Page(BaseModel):
    total: int
    page: int
    per_page: int


# ---------------------------------------------------- optional, not null


def not_nullable(extra: JsonDict | None = None) -> Callable[[JsonDict], None]:
    """Document an optional field as never null (``refuse_null`` enforces it)."""

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


def refuse_null(value: Any) -> Any:
    """For fields a PATCH may leave out but not clear: an explicit null is a mistake."""
    if value is None:
        raise PydanticCustomError(
            "not_null", "This field cannot be null; leave it out to keep its value."
        )
    return value
