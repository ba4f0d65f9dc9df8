"""The queue: POST /queue/check-in, GET /queue/current, GET /queue/{id},
POST /queue/call-next, PATCH /queue/{id}/status, POST /queue/override.

Every rule (legal moves, one active ticket per patient, one patient per room,
serving order, the wait estimate) is the queue service's; this module maps
JSON to its arguments and back. A ticket never carries a patient's name.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for

from webapp.api.blueprint import CONFLICT, NOT_FOUND, allow, api_blueprint, api_user
from webapp.api.errors import error_response
from webapp.api.schemas.queue import (
    CallNextBody,
    CheckInBody,
    OverrideBody,
    QueueCurrentOut,
    QueueCurrentQuery,
    TicketOut,
    TicketPath,
    TicketStatusBody,
)
from webapp.auth.models import ROLES
from webapp.database import get_by_id
from webapp.domain_errors import ValidationFailed
from webapp.queue import services as queue
from webapp.queue.models import Ticket

bp = api_blueprint("queue", "/queue", "The queue: check-in, call-next, status changes, overrides")

TICKET_PAGE_ENDPOINT = "tickets.status"
# Body-dependent rights, checked in the view once the body is valid.
RECEPTIONIST_STATUSES = ("cancelled",)
CLINICIAN_OVERRIDES = ("recall", "transfer")


def status_url(ticket: Ticket) -> str:
    """The absolute address of the patient's ticket page (``/t/<token>``)."""
    return url_for(TICKET_PAGE_ENDPOINT, token=ticket.status_token, _external=True)


def _ticket_json(ticket: Ticket, entry: queue.WaitingTicket | bool | None = True) -> dict[str, Any]:
    """``entry``: the ticket's place in the queue when known, True to look it up."""
    if entry is True:
        entry = queue.position_of(ticket)
    place = entry if isinstance(entry, queue.WaitingTicket) else None
    return TicketOut.model_validate(
        {
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
            "checked_in_at": ticket.checked_in_at,
            "called_at": ticket.called_at,
            "started_at": ticket.started_at,
            "ended_at": ticket.ended_at,
            "transferred_from": ticket.transferred_from_id,
            "status_url": status_url(ticket),
        }
    ).model_dump(mode="json")


@bp.post(
    "/check-in",
    summary="Check a patient in: a booked appointment, or a walk-in",
    description='Send `{"appointment_id"}` or `{"patient_id", "department_id"}` (with '
    "`priority` optional either way). 409 when the patient already has an active ticket in "
    "that department, the appointment is not booked, or the department takes appointments "
    "only; 422 for neither or both forms, or an unknown id.",
    responses={201: TicketOut, **CONFLICT},
)
@allow(bp, "receptionist", "admin")
def check_in(body: CheckInBody) -> tuple[Response, int]:
    ticket = queue.check_in(
        actor=api_user(),
        appointment_id=body.appointment_id,
        patient_id=body.patient_id,
        department_id=body.department_id,
        priority=body.priority,
    )
    return jsonify(_ticket_json(ticket)), 201


@bp.get(
    "/current",
    summary="A department's live queue: waiting (in serving order), called, in service",
    responses={200: QueueCurrentOut, **NOT_FOUND},
)
@allow(bp, *ROLES)
def current_queue(query: QueueCurrentQuery) -> Response:
    state = queue.queue_state(query.department_id)
    return jsonify(
        QueueCurrentOut.model_validate(
            {
                "department_id": state.department.id,
                "waiting": [_ticket_json(entry.ticket, entry) for entry in state.waiting],
                "called": [_ticket_json(ticket, None) for ticket in state.called],
                "in_service": [_ticket_json(ticket, None) for ticket in state.in_service],
                "generated_at": state.generated_at,
                "mean_service_minutes": state.mean_service_minutes,
                "active_service_points": state.active_service_points,
            }
        ).model_dump(mode="json")
    )


@bp.get("/<int:id>", summary="A ticket", responses={200: TicketOut, **NOT_FOUND})
@allow(bp, *ROLES)
def get_ticket(path: TicketPath) -> Response:
    return jsonify(_ticket_json(queue.get_ticket(path.id)))


@bp.post(
    "/call-next",
    summary="Call the next waiting ticket to a room or counter",
    description="200 with the called ticket; 204 when no waiting ticket is available to that "
    "room (none waiting, or all assigned elsewhere); 409 while the room still has a called "
    "or in-service ticket; 422 for an unknown or inactive room.",
    responses={200: TicketOut, 204: None, **CONFLICT},
)
@allow(bp, "clinician", "admin")
def call_next(body: CallNextBody) -> Response:
    ticket = queue.call_next(service_point_id=body.service_point_id, actor=api_user())
    if ticket is None:
        return Response(status=204)
    return jsonify(_ticket_json(ticket))


@bp.patch(
    "/<int:id>/status",
    summary="Move a ticket to another status",
    description="Clinicians and admins; receptionists may only cancel (403 otherwise). "
    "409 for a move that is not legal from the ticket's current status (nothing changes).",
    responses={200: TicketOut, **NOT_FOUND, **CONFLICT},
)
@allow(bp, *ROLES)
def change_status(path: TicketPath, body: TicketStatusBody) -> Response | tuple[Response, int]:
    user = api_user()
    if user.role == "receptionist" and body.status not in RECEPTIONIST_STATUSES:
        return error_response(403, "A receptionist may only cancel a ticket.")
    ticket = queue.transition_ticket(
        queue.get_ticket(path.id).id,
        status=body.status,
        actor=user,
        service_point_id=body.service_point_id,
        reason=body.reason,
    )
    return jsonify(_ticket_json(ticket))


@bp.post(
    "/override",
    summary="A staff override: assign, skip, move to front, set priority, transfer, recall",
    description="Receptionists and admins; clinicians may only recall and transfer (403 "
    "otherwise). Answers the resulting ticket: for transfer, the new ticket in the other "
    "department (its transferred_from is the old one; same status_url). 422 for an unknown "
    "ticket_id; 409 when the action is not legal from the ticket's status.",
    responses={200: TicketOut, **CONFLICT},
)
@allow(bp, *ROLES)
def override(body: OverrideBody) -> Response:
    user = api_user()
    if user.role == "clinician" and body.action not in CLINICIAN_OVERRIDES:
        return error_response(403, "A clinician may only recall or transfer a ticket.")
    if get_by_id(Ticket, body.ticket_id) is None:
        raise ValidationFailed({"ticket_id": "No ticket has this id."})
    ticket = queue.override_ticket(
        body.ticket_id,
        action=body.action,
        actor=user,
        service_point_id=body.service_point_id,
        priority=body.priority,
        department_id=body.department_id,
        reason=body.reason,
    )
    return jsonify(_ticket_json(ticket))
