"""The queue: POST /queue/check-in, GET /queue/current, GET /queue/{id},
POST /queue/call-next, PATCH /queue/{id}/status, POST /queue/override.

Every rule (who may make which move from which status, one active ticket per
patient, one patient per room, serving order, the wait estimate) is the queue
domain's (``webapp.queue.rules`` and ``moves``); this module maps JSON to its
arguments and back. The roles declared here only let a caller reach the door;
the rule book refuses a move the caller's role may not make (403). A ticket
never carries a patient's name.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from webapp.api.blueprint import CONFLICT, NOT_FOUND, allow, api_blueprint, api_user
from webapp.api.schemas.queue import (
    CallNextBody,
    CheckInBody,
    CheckInOut,
    OverrideBody,
    QueueCurrentOut,
    QueueCurrentQuery,
    TicketOut,
    TicketPath,
    TicketStatusBody,
)
from webapp.auth.roles import CLINICAL, FRONT_DESK, STAFF
from webapp.domain_errors import NotFound, ValidationFailed
from webapp.queue import moves, state
from webapp.queue.fields import ticket_fields
from webapp.queue.models import Ticket

bp = api_blueprint("queue", "/queue", "The queue: check-in, call-next, status changes, overrides")


def _ticket_json(ticket: Ticket, entry: state.WaitingTicket | bool | None = True) -> dict[str, Any]:
    """``entry``: the ticket's place in the queue when known, True to look it up."""
    return TicketOut.model_validate(ticket_fields(ticket, entry)).model_dump(mode="json")


@bp.post(
    "/check-in",
    summary="Check a patient in: a booked appointment, or a walk-in",
    description="Receptionists and admins (403 for clinicians). "
    'Send `{"appointment_id"}` or `{"patient_id", "department_id"}` (with '
    "`priority` optional either way). A walk-in who holds a `booked` appointment today in "
    "that department checks that appointment in (the earliest, if several): the answer's "
    "`appointment_id` names it and `matched_booking` is true. 409 when the patient already has "
    "an active ticket in that department, the appointment is not booked, or the department "
    "takes appointments only (and the patient has no booking there today); 422 for neither or "
    "both forms, or an unknown id.",
    responses={201: CheckInOut, **CONFLICT},
)
@allow(bp, *FRONT_DESK)
def check_in(body: CheckInBody) -> tuple[Response, int]:
    ticket = moves.check_in(
        actor=api_user(),
        appointment_id=body.appointment_id,
        patient_id=body.patient_id,
        department_id=body.department_id,
        priority=body.priority,
    )
    answer = _ticket_json(ticket)
    # Only a walk-in form can come back carrying an appointment: the service matched one.
    answer["matched_booking"] = body.appointment_id is None and ticket.appointment_id is not None
    return jsonify(CheckInOut.model_validate(answer).model_dump(mode="json")), 201


@bp.get(
    "/current",
    summary="A department's live queue: waiting (in serving order), called, in service",
    description="Any role. Waiting tickets in serving order with their position, wait "
    "estimate and service-target state; the called and in-service tickets; the typical "
    "visit length and the number of active rooms. Tickets carry ids, never a patient's name. "
    "Refuses: 404 for no such department; 422 without `department_id`.",
    responses={200: QueueCurrentOut, **NOT_FOUND},
)
@allow(bp, *STAFF)
def current_queue(query: QueueCurrentQuery) -> Response:
    queue = state.queue_state(query.department_id)
    return jsonify(
        QueueCurrentOut.model_validate(
            {
                "department_id": queue.department.id,
                "waiting": [_ticket_json(entry.ticket, entry) for entry in queue.waiting],
                "called": [_ticket_json(ticket, None) for ticket in queue.called],
                "in_service": [_ticket_json(ticket, None) for ticket in queue.in_service],
                "generated_at": queue.generated_at,
                "typical_visit_minutes": queue.typical_visit_minutes,
                # The field's old name, kept for clients written against it.
                "mean_service_minutes": queue.typical_visit_minutes,
                "active_service_points": queue.active_service_points,
            }
        ).model_dump(mode="json")
    )


@bp.get(
    "/<int:id>",
    summary="A ticket",
    description="Any role. One ticket: number, status, priority, its place and wait "
    "estimate while waiting, times, and the address of the patient's status page. Refuses: "
    "404 for no such ticket.",
    responses={200: TicketOut, **NOT_FOUND},
)
@allow(bp, *STAFF)
def get_ticket(path: TicketPath) -> Response:
    return jsonify(_ticket_json(state.get_ticket(path.id)))


@bp.post(
    "/call-next",
    summary="Call the next waiting ticket to a room or counter",
    description="Clinicians and admins (403 for receptionists). "
    "200 with the called ticket; 204 when no waiting ticket is available to that "
    "room (none waiting, or all assigned elsewhere); 409 while the room still has a called "
    "or in-service ticket; 422 for an unknown or inactive room.",
    responses={200: TicketOut, 204: None, **CONFLICT},
)
@allow(bp, *CLINICAL)
def call_next(body: CallNextBody) -> Response:
    ticket = moves.call_next(service_point_id=body.service_point_id, actor=api_user())
    if ticket is None:
        return Response(status=204)
    return jsonify(_ticket_json(ticket))


@bp.patch(
    "/<int:id>/status",
    summary="Move a ticket to another status",
    description="Any role may send it (the rule book decides the move); 404 for no such ticket. "
    "Each status is reached by one move of the queue's rule book, which says "
    "who may make it: clinicians and admins call, start, complete, mark no-show and return to "
    "the queue; any staff may cancel a waiting ticket (with a reason). 403 for a role the rule "
    "book does not name; 422 when the move needs a reason and none was sent; "
    "409 for a move that is not legal from the ticket's current status (nothing changes).",
    responses={200: TicketOut, **NOT_FOUND, **CONFLICT},
)
@allow(bp, *STAFF)
def change_status(path: TicketPath, body: TicketStatusBody) -> Response:
    ticket = moves.transition_ticket(
        state.get_ticket(path.id).id,
        status=body.status,
        actor=api_user(),
        service_point_id=body.service_point_id,
        reason=body.reason,
    )
    return jsonify(_ticket_json(ticket))


@bp.post(
    "/override",
    summary="A staff override: assign, skip, move to front, set priority, transfer, recall",
    description="Receptionists and admins assign, skip, move to front and set priority "
    "(each with a reason); any staff may recall and transfer (403 for a role the queue's rule "
    "book does not name; 422 when a reason is needed and missing). Answers the resulting "
    "ticket: for transfer, the new ticket in the other department (its transferred_from is "
    "the old one; same status_url). 422 for an unknown "
    "ticket_id; 409 when the action is not legal from the ticket's status.",
    responses={200: TicketOut, **CONFLICT},
)
@allow(bp, *STAFF)
def override(body: OverrideBody) -> Response:
    try:
        ticket = moves.override_ticket(
            body.ticket_id,
            action=body.action,
            actor=api_user(),
            service_point_id=body.service_point_id,
            priority=body.priority,
            department_id=body.department_id,
            reason=body.reason,
        )
    except NotFound:
        # An id in the body that does not exist is a 422 on that field (API.md).
        raise ValidationFailed({"ticket_id": "No ticket has this id."}) from None
    return jsonify(_ticket_json(ticket))
