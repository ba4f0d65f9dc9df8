"""What a delivery's ``data`` holds: the ticket or appointment as the JSON API answers it.

The ticket's fields come from ``webapp.queue.fields``, as the API's do; the
appointment's are listed here (the API's serializer is a door the domain layer
may not import); tests/webhooks/test_payloads.py checks both equal the API's
answer for the same object. Ids and queue fields
only: never a name, a date of birth or a phone number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from webapp.appointments.models import Appointment
from webapp.queue.fields import ticket_fields
from webapp.queue.models import Ticket


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    """The ticket as GET /api/v1/queue/{id} returns it (webapp.queue.fields)."""
    return {
        name: _time(value) if isinstance(value, datetime) else value
        for name, value in ticket_fields(ticket).items()
    }


def appointment_data(appointment: Appointment) -> dict[str, Any]:
    """The appointment as GET /api/v1/appointments/{id} returns it."""
    return {
        "id": appointment.id,
        "patient_id": appointment.patient_id,
        "department_id": appointment.department_id,
        "clinician_id": appointment.clinician_id,
        "starts_at": _time(appointment.starts_at),
        "ends_at": _time(appointment.ends_at),
        "duration_minutes": appointment.duration_minutes,
        "reason": appointment.reason,
        "status": appointment.status,
        "cancel_reason": appointment.cancel_reason,
        "reference": appointment.reference,
        "created_at": _time(appointment.created_at),
    }
