"""Schemas of /webhooks (API.md "Webhooks"), with the examples the OpenAPI document shows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from webapp.api.schemas.common import Timestamp
from webapp.webhooks.events import EVENT_TYPES
from webapp.webhooks.services import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH

# The same as webapp.webhooks.events.EVENT_TYPES (tests/api/test_webhooks.py checks).
EventType = Literal[
    "ticket.checked_in",
    "ticket.called",
    "ticket.recalled",
    "ticket.started",
    "ticket.completed",
    "ticket.no_show",
    "ticket.cancelled",
    "ticket.transferred",
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
]

_URL = "https://ehr.example.org/hooks/queue"
_SECRET = "whsec_5f1c0e8a9b2d4c6e8f0a1b3c5d7e9f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e"  # noqa: S105 (an example)
_URL_FIELD: dict[str, Any] = {"pattern": "^https?://", "maxLength": MAX_URL_LENGTH}

SUBSCRIPTION_EXAMPLE: dict[str, Any] = {
    "id": 4,
    "url": _URL,
    "events": ["ticket.called", "ticket.completed"],
    "description": "EHR: rooms board",
    "active": True,
    "created_at": "2026-11-24T08:00:00+00:00",
    "paused_at": None,
    "pause_reason": None,
}
DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": 311,
    "event_id": "0b6f3c1e-2d4a-4f5b-9c7d-8e9f0a1b2c3d",
    "type": "ticket.called",
    "status": "delivered",
    "attempts": 1,
    "response_status": 204,
    "last_error": None,
    "created_at": "2026-11-24T09:30:00+00:00",
    "delivered_at": "2026-11-24T09:30:01+00:00",
    "next_attempt_at": None,
}


class WebhookOut(BaseModel):
    """A subscription, without its secret."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [SUBSCRIPTION_EXAMPLE]},
        openapi_extra={"example": SUBSCRIPTION_EXAMPLE},  # type: ignore[typeddict-unknown-key]
    )

    id: int
    url: str
    events: list[EventType]
    description: str
    active: bool
    created_at: Timestamp
    paused_at: Timestamp | None = Field(
        description="When deliveries had failed for 24 hours and sending was paused "
        "(active is then false); null otherwise"
    )
    pause_reason: str | None


class WebhookWithSecret(WebhookOut):
    """A subscription with its signing secret: only in the answer that creates or rotates it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{**SUBSCRIPTION_EXAMPLE, "secret": _SECRET}]},
        openapi_extra={"example": {**SUBSCRIPTION_EXAMPLE, "secret": _SECRET}},  # type: ignore[typeddict-unknown-key]
    )

    secret: str = Field(description="Keys the X-HQ-Signature HMAC; shown only here, store it now")


class WebhookList(RootModel[list[WebhookOut]]):
    """GET /webhooks answers a plain list, never with secrets."""

    model_config = ConfigDict(openapi_extra={"example": [SUBSCRIPTION_EXAMPLE]})  # type: ignore[typeddict-unknown-key]


CREATE_EXAMPLE: dict[str, Any] = {
    "url": _URL,
    "events": ["ticket.called", "ticket.completed"],
    "description": "EHR: rooms board",
}
PATCH_EXAMPLE: dict[str, Any] = {"events": ["ticket.called"], "active": True}


class WebhookCreateBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [CREATE_EXAMPLE]},
        openapi_extra={"example": CREATE_EXAMPLE},  # type: ignore[typeddict-unknown-key]
    )

    url: str = Field(description="http:// or https:// address", json_schema_extra=_URL_FIELD)
    events: list[str] = Field(
        description=f"One or more of: {', '.join(EVENT_TYPES)}",
        json_schema_extra={"items": {"enum": list(EVENT_TYPES)}, "minItems": 1},
    )
    description: str = Field("", json_schema_extra={"maxLength": MAX_DESCRIPTION_LENGTH})


class WebhookPatchBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [PATCH_EXAMPLE]},
        openapi_extra={"example": PATCH_EXAMPLE},  # type: ignore[typeddict-unknown-key]
    )

    url: str | None = Field(None, json_schema_extra=_URL_FIELD)
    events: list[str] | None = Field(
        None, json_schema_extra={"items": {"enum": list(EVENT_TYPES)}, "minItems": 1}
    )
    active: bool | None = Field(
        None,
        description="false pauses sending (deliveries stay pending); true resumes it, "
        "lifting an automatic pause, and sends what is pending in order",
    )
    description: str | None = Field(None, json_schema_extra={"maxLength": MAX_DESCRIPTION_LENGTH})


class WebhookPath(BaseModel):
    id: int = Field(description="Webhook subscription id")


class DeliveryPath(BaseModel):
    id: int = Field(description="Webhook subscription id")
    delivery_id: int = Field(description="Delivery id")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [DELIVERY_EXAMPLE]},
        openapi_extra={"example": DELIVERY_EXAMPLE},  # type: ignore[typeddict-unknown-key]
    )

    id: int
    event_id: str = Field(description="The payload's id (and X-HQ-Delivery): the same on retries")
    type: EventType
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    response_status: int | None = Field(description="The receiver's last HTTP status")
    last_error: str | None
    created_at: Timestamp
    delivered_at: Timestamp | None
    next_attempt_at: Timestamp | None = Field(description="When the next retry is due")


class DeliveryList(RootModel[list[DeliveryOut]]):
    """The latest 100 deliveries, newest first."""

    model_config = ConfigDict(openapi_extra={"example": [DELIVERY_EXAMPLE]})  # type: ignore[typeddict-unknown-key]
