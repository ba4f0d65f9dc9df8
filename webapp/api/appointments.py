"""Appointments: POST/GET /appointments, GET/PATCH/DELETE /appointments/{id}.

Booking, rescheduling and cancelling are the appointment service's (overlaps,
opening hours, the past); this module maps JSON to its arguments and back.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from webapp.api.blueprint import CONFLICT, NOT_FOUND, allow, api_blueprint, api_user
from webapp.api.paging import paginate
from webapp.api.schemas.appointments import (
    AppointmentCreateBody,
    AppointmentList,
    AppointmentOut,
    AppointmentPatchBody,
    AppointmentPath,
    AppointmentQuery,
)
from webapp.appointments import services as appointments
from webapp.appointments.models import Appointment
from webapp.auth.models import ROLES
from webapp.domain_errors import ValidationFailed
from webapp.extensions import db

bp = api_blueprint("appointments", "/appointments", "Appointments")

API_CANCEL_REASON = "Cancelled through the API"
RESCHEDULE_FIELDS = ("starts_at", "duration_minutes", "clinician_id")


def _appointment_json(appointment: Appointment) -> dict[str, object]:
    return AppointmentOut.model_validate(appointment).model_dump(mode="json")


def _reloaded(appointment: Appointment) -> Appointment:
    """Read the row back, so times go out in UTC like every other answer, not in the
    offset the caller happened to send."""
    db.session.refresh(appointment)
    return appointment


@bp.post(
    "",
    summary="Book an appointment",
    description="Receptionists and admins (403 for clinicians). Books an appointment for a "
    "patient in a department, optionally with a clinician; audited. "
    "409 when the clinician or the patient already has an overlapping appointment "
    "(back-to-back is fine); 422 for a time in the past, outside the department's opening "
    "hours, without an offset, or an unknown patient, department or clinician.",
    responses={201: AppointmentOut, **CONFLICT},
)
@allow(bp, "receptionist", "admin")
def create_appointment(body: AppointmentCreateBody) -> tuple[Response, int]:
    appointment = appointments.book_appointment(
        patient_id=body.patient_id,
        department_id=body.department_id,
        clinician_id=body.clinician_id,
        starts_at=body.starts_at,
        duration_minutes=body.duration_minutes,
        reason=body.reason,
        actor=api_user(),
    )
    return jsonify(_appointment_json(_reloaded(appointment))), 201


@bp.get(
    "",
    summary="Appointments matching every filter given, ordered by start time",
    description="Any role. Filters (all optional, combined): `date` (a day in the hospital's "
    "time zone), department, clinician, patient and status; a page at a time. Refuses: 422 "
    "for an unknown status or a day out of range.",
    responses={200: AppointmentList},
)
@allow(bp, *ROLES)
def list_appointments(query: AppointmentQuery) -> Response:
    found, counters = paginate(
        appointments.appointments_query(
            day=query.day,
            department_id=query.department_id,
            clinician_id=query.clinician_id,
            patient_id=query.patient_id,
            status=query.status,
        ),
        query,
    )
    return jsonify(items=[_appointment_json(item) for item in found], **counters)


@bp.get(
    "/<int:id>",
    summary="An appointment",
    description="Any role. One appointment with its times (UTC), status, reason and kiosk "
    "booking reference. Refuses: 404 for no such appointment.",
    responses={200: AppointmentOut, **NOT_FOUND},
)
@allow(bp, *ROLES)
def get_appointment(path: AppointmentPath) -> Response:
    return jsonify(_appointment_json(appointments.get_appointment(path.id)))


@bp.patch(
    "/<int:id>",
    summary="Reschedule a booked appointment, or cancel it with status cancelled",
    description="Receptionists and admins (403 for clinicians); 404 for no such appointment. "
    "Send any of starts_at, duration_minutes and clinician_id (null: any "
    'clinician) to move it under the booking rules, or `{"status": "cancelled", '
    '"reason"?}` to cancel it. 409 when it is no longer booked or the new time overlaps.',
    responses={200: AppointmentOut, **NOT_FOUND, **CONFLICT},
)
@allow(bp, "receptionist", "admin")
def update_appointment(path: AppointmentPath, body: AppointmentPatchBody) -> Response:
    appointment = appointments.get_appointment(path.id)
    sent = body.model_fields_set
    moves = [field for field in RESCHEDULE_FIELDS if field in sent]
    if "status" in sent:
        if moves:
            raise ValidationFailed(
                {field: "Cancel or reschedule, not both in one request." for field in moves}
            )
        appointments.cancel_appointment(
            appointment, actor=api_user(), reason=body.reason or API_CANCEL_REASON
        )
        return jsonify(_appointment_json(appointment))
    if "reason" in sent:
        raise ValidationFailed({"reason": 'A reason goes with "status": "cancelled" only.'})
    if not moves:
        raise ValidationFailed(
            {"body": "Send starts_at, duration_minutes or clinician_id, or status cancelled."}
        )
    changes: dict[str, Any] = {field: getattr(body, field) for field in moves}
    appointments.reschedule_appointment(appointment, actor=api_user(), **changes)
    return jsonify(_appointment_json(_reloaded(appointment)))


@bp.delete(
    "/<int:id>",
    summary="Cancel an appointment (it is kept on record)",
    description="Receptionists and admins. Cancels a booked appointment with the reason "
    '"Cancelled through the API"; it stays on record with status cancelled, and the '
    "cancellation is audited. Answers 204 with no body. Refuses: 403 for clinicians; 404 "
    "for no such appointment; 409 when it is no longer booked (already cancelled, checked "
    "in, completed or a no-show).",
    responses={204: None, **NOT_FOUND, **CONFLICT},
)
@allow(bp, "receptionist", "admin")
def delete_appointment(path: AppointmentPath) -> Response:
    appointment = appointments.get_appointment(path.id)
    appointments.cancel_appointment(appointment, actor=api_user(), reason=API_CANCEL_REASON)
    return Response(status=204)
