"""Schemas of /screens (waiting-room screens and their health)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from webapp.api.schemas.common import Page, PageQuery, Timestamp
from webapp.database import MAX_ID


class ScreenQuery(PageQuery):
    department_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only this department's screens (an unknown id has none)"
    )


class ScreenOut(BaseModel):
    id: int
    name: str = Field(description="The name given on set-up, or by an admin since")
    department_id: int
    last_seen_at: Timestamp = Field(description="When the screen last polled")
    stale: bool = Field(description="Not seen for SCREEN_STALE_SECONDS (default 60)")
    sound_started: bool = Field(
        description="Whether the screen's sound has been started (false: it is muted, calls "
        "are shown but not heard)"
    )
    version: str | None = Field(description="The queue version (stamp) the screen shows")


class ScreenList(Page):
    items: list[ScreenOut]
