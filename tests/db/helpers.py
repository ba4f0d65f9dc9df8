"""Builders for rows inserted straight through the ORM models (no services involved)."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from webapp.database import utcnow
from webapp.queue.models import Ticket

SERVICE_DAY = date(2026, 11, 24)


def new_ticket(
    *,
    department_id: int,
    patient_id: int,
    sequence: int,
    number: str | None = None,
    service_day: date = SERVICE_DAY,
    status: str = "waiting",
    priority: str = "routine",
    service_point_id: int | None = None,
    **extra: Any,
) -> Ticket:
    """A valid ticket: every required column set, ``number`` derived from ``sequence``."""
    now: datetime = utcnow()
    return Ticket(
        department_id=department_id,
        patient_id=patient_id,
        service_day=service_day,
        sequence=sequence,
        number=number if number is not None else f"GM-{sequence:03d}",
        priority=priority,
        status=status,
        service_point_id=service_point_id,
        effective_at=now,
        queue_key=now.timestamp(),
        checked_in_at=now,
        status_token=secrets.token_urlsafe(16),
        **extra,
    )
