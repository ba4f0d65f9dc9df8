"""A ticket as integrations see it: the JSON API's ticket and a webhook delivery's ``data``.

One list of fields for both, so the two can never drift apart. Ids and queue fields only:
never a patient's name, date of birth or phone.
"""

from __future__ import annotations

from typing import Any

from webapp.links import NoPublicAddress, public_url_for
from webapp.queue import state
from webapp.queue.models import Ticket

TICKET_PAGE_ENDPOINT = "tickets.status"


def status_url(ticket: Ticket) -> str | None:
    """The absolute address of the patient's ticket page (``/t/<token>``), from
    PUBLIC_BASE_URL (never from an untrusted ``Host``); None when there is no public address
    to build it from (a background task without PUBLIC_BASE_URL)."""
    try:
        return public_url_for(TICKET_PAGE_ENDPOINT, token=ticket.status_token)
    except NoPublicAddress:
        return None


def ticket_fields(
    ticket: Ticket, entry: state.WaitingTicket | bool | None = True
) -> dict[str, Any]:
    """The ticket's fields (times as datetimes). ``entry``: its place in the queue when the
    caller knows it, True to look it up, None when it is known not to be waiting."""
    if entry is True:
        entry = state.position_of(ticket)
    place = entry if isinstance(entry, state.WaitingTicket) else None
    target = place.target if place else None
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
        "checked_in_at": ticket.checked_in_at,
        "called_at": ticket.called_at,
        "started_at": ticket.started_at,
        "ended_at": ticket.ended_at,
        "transferred_from": ticket.transferred_from_id,
        "status_url": status_url(ticket),
    }
