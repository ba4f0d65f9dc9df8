"""What a delivery's ``data`` holds: the ticket or appointment as the JSON API answers it.

The API's serializers live in ``webapp.api`` (a door the domain layer may not
import), so the same fields are built here; tests/webhooks/test_payloads.py
checks they equal the API's answer for the same object. Ids and queue fields
only: never a name, a date of birth or a phone number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from webapp.appointments.models import Appointment
from webapp.links import NoPublicAddress, public_url_for
from webapp.queue import state
from webapp.queue.models import Ticket


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    """The ticket as GET /api/v1/queue/{id} returns it."""
    place = state.position_of(ticket)
    target = place.target if place else None
    try:
        status_url: str | None = public_url_for("tickets.status", token=ticket.status_token)
    except NoPublicAddress:  # no PUBLIC_BASE_URL outside a request
        status_url = None
    return {
        "id": ticket.id,
        "number": ticket.number,
        "status": ticket.status,
        "priority": ticket.priority,
        "patient_id": ticket.patient_id,
        "department_id": ticket.department_id,
        "appointment_id": ticket.appointment_id,
        "service_point_id": ticket.service_point_id,
        "clinician_id": ticket.clinician_id,
        "position": place.position if place else None,
        "estimated_wait_minutes": place.estimated_wait_minutes if place else None,
        "target_minutes": target.minutes if target else None,
        "target_state": target.state if target else None,
        "late": place.late if place else state.is_late(ticket),
        "checked_in_at": _time(ticket.checked_in_at),
        "called_at": _time(ticket.called_at),
        "started_at": _time(ticket.started_at),
        "ended_at": _time(ticket.ended_at),
        "transferred_from": ticket.transferred_from_id,
        "status_url": status_url,
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
