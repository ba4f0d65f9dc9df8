"""What changes tickets: check-in, call-next and every move of the rule book.

Every change locks the ticket's row, asks :mod:`webapp.queue.rules` whether the
move is allowed (role, status, reason), applies it and writes exactly one
QueueEvent in the same transaction. A refused move raises before anything
changes.

Serving order (DOMAIN.md): priority group, then ``queue_key`` (the effective
time at check-in, moved by "move to front" and "skip"), then ticket id.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.auth.models import User
from webapp.database import MAX_ID, flush_or_conflict, get_by_id, utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.domain_events import TicketEventHappened, publish
from webapp.extensions import db
from webapp.live import versions as live_versions
from webapp.patients.models import Patient
from webapp.queue.models import ACTIVE_STATUSES, PRIORITIES, QueueEvent, Ticket, TicketSequence
from webapp.queue.rules import (
    MOVES,
    STATUS_LABELS,
    authorize,
    check_move,
    get_move,
    move_for_status,
)
from webapp.queue.state import checked_in_late, estimate_for, serving_order, serving_ticket

# The moves POST /queue/override names by ``action`` (API.md).
OVERRIDE_ACTIONS = ("assign", "skip", "move_to_front", "set_priority", "transfer", "recall")


# ------------------------------------------------------------------ helpers


def _locked_ticket(ticket_id: int) -> Ticket:
    """The ticket, re-read under a row lock so two changes cannot interleave."""
    if not 1 <= ticket_id <= MAX_ID:
        raise NotFound("No such ticket.")
    ticket = db.session.scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def _record(
    ticket: Ticket,
    action: str,
    from_status: str | None,
    actor: User | None,
    *,
    reason: str | None = None,
    service_point_id: int | None = None,
) -> QueueEvent:
    event = QueueEvent(
        ticket_id=ticket.id,
        department_id=ticket.department_id,
        action=action,
        from_status=from_status,
        to_status=ticket.status,
        user_id=actor.id if actor else None,
        service_point_id=service_point_id or ticket.service_point_id,
        reason=(reason or "").strip() or None,
    )
    db.session.add(event)
    # Every screen showing this department's queue learns of the change by its version.
    live_versions.touch(ticket.department_id)
    # Listeners (notifications) write their rows in this same transaction.
    publish(
        TicketEventHappened(
            ticket_id=ticket.id,
            department_id=ticket.department_id,
            action=action,
            from_status=from_status,
            to_status=ticket.status,
        )
    )
    return event


def _service_point(service_point_id: int | None, department_id: int | None = None) -> ServicePoint:
    point = get_by_id(ServicePoint, service_point_id)
    if point is None or not point.active:
        raise ValidationFailed({"service_point_id": "Choose an active room or counter."})
    if department_id is not None and point.department_id != department_id:
        raise ValidationFailed(
            {"service_point_id": "That room belongs to another department's queue."}
        )
    return point


def _require_free(point: ServicePoint) -> None:
    busy = serving_ticket(point)
    if busy is not None:
        raise Conflict(
            f"{point.name} is still serving {busy.number} ({STATUS_LABELS[busy.status].lower()}). "
            "Complete it, mark it no-show or return it to the queue first.",
            field="service_point_id",
        )


def _appointment_follows(ticket: Ticket, status: str) -> None:
    """An appointment completes, no-shows or cancels with its ticket."""
    if ticket.appointment_id is None:
        return
    appointment = db.session.get(Appointment, ticket.appointment_id)
    if appointment is not None and appointment.status in ("booked", "checked_in"):
        appointment.status = status


# ------------------------------------------------------- service point sign-in


def _lock_clinician(actor: User | None) -> None:
    """Lock a clinician's own row. Taken first of all locks by whatever seats a clinician
    (the user, then the room, then the ticket), so two rooms calling for one clinician at
    once queue up instead of deadlocking."""
    if actor is not None and actor.role == "clinician":
        db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())


def take_service_point(point: ServicePoint, actor: User | None) -> None:
    """Sign a clinician in at ``point``, and out of any other: one room per clinician.

    The clinician's own row is locked first, so two rooms calling for the same
    clinician at once take turns; the partial unique index on
    ``service_points.clinician_id`` refuses whatever a race would still let through.
    """
    if actor is None or actor.role != "clinician":
        return
    _lock_clinician(actor)
    left = ServicePoint.__table__.update().where(
        ServicePoint.clinician_id == actor.id, ServicePoint.id != point.id
    )
    # The rooms left behind count no more in their departments' estimates.
    left_departments = db.session.scalars(
        left.values(clinician_id=None, signed_in_at=None).returning(ServicePoint.department_id)
    ).all()
    live_versions.touch(*left_departments)
    # Re-read who sits here now: the room was loaded before the lock, and another room
    # calling for this clinician may since have signed them out of it.
    db.session.refresh(point, ["clinician_id", "signed_in_at"])
    if point.clinician_id != actor.id:
        point.clinician_id = actor.id
        point.signed_in_at = utcnow()
        live_versions.touch(point.department_id)
    flush_or_conflict(
        f"{actor.full_name} is being signed in at another room right now; try again.",
        "service_point_id",
    )


def sign_in_at_service_point(service_point_id: int | None, actor: User) -> ServicePoint:
    """A clinician chooses their room or counter at the workstation."""
    point = _service_point(service_point_id)
    if not point.department.active:
        raise ValidationFailed({"service_point_id": "That room's department is inactive."})
    take_service_point(point, actor)
    return point


# ----------------------------------------------------------------- numbers


def _next_sequence(department_id: int, day: date) -> int:
    """The next ticket number of a department's day, atomically (an upsert on one row).

    Concurrent check-ins serialise on the counter row, so numbers are distinct
    and consecutive; a number, once issued, is never issued again that day.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(TicketSequence)
        .values(department_id=department_id, service_day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=["department_id", "service_day"],
            set_={"last_value": TicketSequence.last_value + 1},
        )
        .returning(TicketSequence.last_value)
    )
    return int(db.session.execute(statement).scalar_one())


def _effective_time(appointment: Appointment | None, checked_in_at: datetime) -> datetime:
    """The appointment's time for a patient who is early, on time or within the grace period;
    otherwise the check-in time."""
    if appointment is None or checked_in_late(appointment.starts_at, checked_in_at):
        return checked_in_at
    return appointment.starts_at


def _new_ticket(
    *,
    department: Department,
    patient_id: int,
    appointment_id: int | None,
    priority: str,
    effective_at: datetime,
    now: datetime,
    status_token: str,
    transferred_from_id: int | None = None,
) -> Ticket:
    """A waiting ticket with the department's next number of the day, added to the session."""
    day = clock.service_day(now)
    sequence = _next_sequence(department.id, day)
    ticket = Ticket(
        department_id=department.id,
        service_day=day,
        sequence=sequence,
        number=f"{department.code}-{sequence:03d}",
        patient_id=patient_id,
        appointment_id=appointment_id,
        priority=priority,
        status="waiting",
        queue_key=effective_at.timestamp(),
        effective_at=effective_at,
        checked_in_at=now,
        status_token=status_token,
        transferred_from_id=transferred_from_id,
    )
    db.session.add(ticket)
    return ticket


# ---------------------------------------------------------------- check-in


def _check_in_form(
    appointment_id: int | None, patient_id: int | None, department_id: int | None, priority: str
) -> None:
    """Exactly one of: an appointment, or a patient and a department (a walk-in)."""
    if priority not in PRIORITIES:
        raise ValidationFailed({"priority": "Choose emergency, urgent, priority or routine."})
    walk_in = {"patient_id": patient_id, "department_id": department_id}
    if appointment_id is not None and any(value is not None for value in walk_in.values()):
        raise ValidationFailed(
            {
                field: "Send appointment_id or a walk-in, not both."
                for field, value in walk_in.items()
                if value is not None
            }
        )
    if appointment_id is None and any(value is None for value in walk_in.values()):
        raise ValidationFailed(
            {
                field: "Send appointment_id, or patient_id and department_id for a walk-in."
                for field, value in walk_in.items()
                if value is None
            }
        )


def _booked_appointment(appointment_id: int) -> Appointment:
    appointment = get_by_id(Appointment, appointment_id)
    if appointment is None:
        raise ValidationFailed({"appointment_id": "No appointment has this id."})
    if appointment.status != "booked":
        raise Conflict(
            f"This appointment is {appointment.status.replace('_', ' ')}; only a booked "
            "appointment can be checked in.",
            field="appointment_id",
        )
    return appointment


def _walk_in_parties(
    patient_id: int | None, department_id: int | None
) -> tuple[Patient, Department]:
    errors: dict[str, str] = {}
    patient = get_by_id(Patient, patient_id)
    department = get_by_id(Department, department_id)
    if patient is None:
        errors["patient_id"] = "No patient has this id."
    if department is None or not department.active:
        errors["department_id"] = "Choose an active department."
    if patient is None or department is None or errors:
        raise ValidationFailed(errors)
    return patient, department


def _refuse_walk_in(department: Department) -> None:
    if not department.accepts_walk_ins:
        raise Conflict(
            f"{department.name} sees patients by appointment only; book an appointment.",
            field="department_id",
        )


def booking_today(patient: Patient, department: Department) -> Appointment | None:
    """The patient's earliest appointment of today (the hospital's day) in the department
    that is still ``booked``: a walk-in check-in checks it in (DOMAIN.md "The service day")."""
    start, end = clock.day_bounds(clock.today())
    return db.session.scalar(
        select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.department_id == department.id,
            Appointment.status == "booked",
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(1)
        .with_for_update()
    )


def _refuse_second_active_ticket(patient: Patient, department: Department) -> None:
    """One active ticket per patient and department; the patient's row lock makes it a clean 409."""
    db.session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    existing = db.session.scalar(
        select(Ticket).where(
            Ticket.patient_id == patient.id,
            Ticket.department_id == department.id,
            Ticket.status.in_(ACTIVE_STATUSES),
        )
    )
    if existing is not None:
        raise Conflict(
            f"This patient already has ticket {existing.number} in {department.name} "
            f"({STATUS_LABELS[existing.status].lower()}).",
            field="patient_id",
        )


def check_in(
    *,
    actor: User | None,
    appointment_id: int | None = None,
    patient_id: int | None = None,
    department_id: int | None = None,
    priority: str = "routine",
    reason: str | None = None,
) -> Ticket:
    """Open a ticket for a booked appointment or a walk-in.

    A walk-in who holds a booking today in that department checks that booking in: the
    ticket carries it (``ticket.appointment_id``) and queues by its time and grace rule.
    ``reason`` goes on the check-in's QueueEvent: a check-in with no staff actor names
    its source there (the self check-in kiosk: "Self check-in at kiosk Entrance").
    """
    _check_in_form(appointment_id, patient_id, department_id, priority)
    appointment = _booked_appointment(appointment_id) if appointment_id is not None else None
    if appointment is not None:
        patient, department = appointment.patient, appointment.department
    else:
        patient, department = _walk_in_parties(patient_id, department_id)
    if not department.active:
        raise ValidationFailed({"department_id": "This department is inactive."})
    # The patient's row lock (taken here) also serialises two desks matching one booking.
    _refuse_second_active_ticket(patient, department)
    if appointment_id is None:
        appointment = booking_today(patient, department)
        if appointment is None:
            _refuse_walk_in(department)

    now = utcnow()
    ticket = _new_ticket(
        department=department,
        patient_id=patient.id,
        appointment_id=appointment.id if appointment else None,
        priority=priority,
        effective_at=_effective_time(appointment, now),
        now=now,
        status_token=secrets.token_urlsafe(24),
    )
    flush_or_conflict(
        f"This patient already has an active ticket in {department.name}.", "patient_id"
    )
    if appointment is not None:
        appointment.status = "checked_in"
    _record(ticket, "check_in", None, actor, reason=reason)
    ticket.estimated_wait_at_check_in = estimate_for(ticket)
    return ticket


# --------------------------------------------------------------- call next


def call_next(*, service_point_id: int, actor: User | None) -> Ticket | None:
    """Call the first waiting ticket the service point may take, or None when there is none.

    ``FOR UPDATE SKIP LOCKED`` lets concurrent callers each take a different
    ticket on PostgreSQL; SQLite serialises the whole transaction.
    """
    authorize(MOVES["call"], _role(actor))
    point = _service_point(service_point_id)
    _lock_clinician(actor)
    db.session.execute(select(ServicePoint.id).where(ServicePoint.id == point.id).with_for_update())
    _require_free(point)
    candidate = db.session.scalar(
        serving_order(
            select(Ticket).where(
                Ticket.department_id == point.department_id,
                Ticket.status == "waiting",
                (Ticket.service_point_id.is_(None)) | (Ticket.service_point_id == point.id),
            )
        )
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if candidate is None:
        return None
    _call(candidate, point, actor)
    _record(candidate, "call", "waiting", actor)
    return candidate


def _call(ticket: Ticket, point: ServicePoint, actor: User | None) -> None:
    # Seat the clinician first: it re-reads the room, and nothing of the ticket is pending yet.
    take_service_point(point, actor)
    ticket.status = "called"
    ticket.service_point_id = point.id
    ticket.clinician_id = actor.id if actor and actor.role == "clinician" else point.clinician_id
    ticket.called_at = utcnow()
    flush_or_conflict(
        f"{point.name} is already serving a patient. Reload to see the latest queue.",
        "service_point_id",
    )


# ------------------------------------------------------------------ moves


def _role(actor: User | None) -> str | None:
    return actor.role if actor is not None else None


def transition_ticket(
    ticket_id: int,
    *,
    status: str,
    actor: User | None,
    service_point_id: int | None = None,
    reason: str | None = None,
) -> Ticket:
    """Move a ticket to ``status`` (the move that reaches it, as the rule book says)."""
    move = move_for_status(status)
    return apply_move(
        ticket_id, move.name, actor=actor, service_point_id=service_point_id, reason=reason
    )


def override_ticket(
    ticket_id: int,
    *,
    action: str,
    actor: User | None,
    service_point_id: int | None = None,
    priority: str | None = None,
    department_id: int | None = None,
    reason: str | None = None,
) -> Ticket:
    """One of the overrides (``OVERRIDE_ACTIONS``); for ``transfer`` the new ticket is returned."""
    if action not in OVERRIDE_ACTIONS:
        raise ValidationFailed({"action": f"Use one of: {', '.join(OVERRIDE_ACTIONS)}."})
    return apply_move(
        ticket_id,
        action,
        actor=actor,
        service_point_id=service_point_id,
        priority=priority,
        department_id=department_id,
        reason=reason,
    )


def apply_move(
    ticket_id: int,
    move_name: str,
    *,
    actor: User | None,
    service_point_id: int | None = None,
    priority: str | None = None,
    department_id: int | None = None,
    reason: str | None = None,
) -> Ticket:
    """Make one move of the rule book on a ticket, if the table allows it.

    Returns the ticket (for ``transfer``, the new ticket in the other department).
    """
    move = get_move(move_name)
    authorize(move, _role(actor))  # before the ticket is read: no hint whether it exists
    if move.name == "call":
        _lock_clinician(actor)
    ticket = _locked_ticket(ticket_id)
    check_move(move, number=ticket.number, status=ticket.status, role=_role(actor), reason=reason)
    previous = ticket.status
    if move.name == "transfer":
        return _transfer(ticket, department_id=department_id, actor=actor, reason=reason)
    event_point = _APPLY[move.name](ticket, _Change(actor, service_point_id, priority))
    _record(ticket, move.event, previous, actor, reason=reason, service_point_id=event_point)
    db.session.flush()
    return ticket


@dataclass(frozen=True)
class _Change:
    """What a door passed along with a move (each step reads what it needs)."""

    actor: User | None
    service_point_id: int | None
    priority: str | None


# Each step changes the ticket's columns for one move (the table has already allowed it) and
# returns the service point to record on the event when it is not the ticket's own.


def _apply_call(ticket: Ticket, change: _Change) -> int | None:
    # A ticket assigned to a room is called there unless another room is named.
    point = _service_point(change.service_point_id or ticket.service_point_id, ticket.department_id)
    if ticket.service_point_id not in (None, point.id):
        raise Conflict(
            f"Ticket {ticket.number} is assigned to another room; reassign it first.",
            field="service_point_id",
        )
    _require_free(point)
    _call(ticket, point, change.actor)
    return None


def _apply_recall(ticket: Ticket, change: _Change) -> int | None:
    ticket.recall_count += 1
    ticket.called_at = utcnow()
    return None


def _apply_start(ticket: Ticket, change: _Change) -> int | None:
    ticket.status, ticket.started_at = "in_service", utcnow()
    return None


def _end_as(status: str) -> Callable[[Ticket, _Change], int | None]:
    def apply(ticket: Ticket, change: _Change) -> int | None:
        ticket.status, ticket.ended_at = status, utcnow()
        _appointment_follows(ticket, status)
        return None

    return apply


def _leave_room(ticket: Ticket) -> None:
    ticket.service_point_id = None
    ticket.clinician_id = None
    ticket.called_at = None


def _apply_return_to_queue(ticket: Ticket, change: _Change) -> int | None:
    # The patient goes back to the place they had: queue_key is left alone.
    ticket.status = "waiting"
    _leave_room(ticket)
    return None


def _apply_skip(ticket: Ticket, change: _Change) -> int | None:
    previous = ticket.status
    _place_after_next(ticket, current_app.config["QUEUE_SKIP_PLACES"], previous)
    if previous == "called":
        _leave_room(ticket)
    ticket.status = "waiting"
    ticket.skip_count += 1
    return None


def _apply_assign(ticket: Ticket, change: _Change) -> int | None:
    point = _service_point(change.service_point_id, ticket.department_id)
    ticket.service_point_id = point.id
    return point.id


def _apply_move_to_front(ticket: Ticket, change: _Change) -> int | None:
    keys = _group_keys(ticket)
    if keys and keys[0] <= ticket.queue_key:
        ticket.queue_key = keys[0] - 1
    return None


def _apply_set_priority(ticket: Ticket, change: _Change) -> int | None:
    if change.priority not in PRIORITIES:
        raise ValidationFailed({"priority": "Choose emergency, urgent, priority or routine."})
    ticket.priority = change.priority
    return None


_APPLY: dict[str, Callable[[Ticket, _Change], int | None]] = {
    "call": _apply_call,
    "recall": _apply_recall,
    "start": _apply_start,
    "complete": _end_as("completed"),
    "no_show": _end_as("no_show"),
    "cancel": _end_as("cancelled"),
    "return_to_queue": _apply_return_to_queue,
    "skip": _apply_skip,
    "assign": _apply_assign,
    "move_to_front": _apply_move_to_front,
    "set_priority": _apply_set_priority,
}


# ------------------------------------------------------------- queue places


def _group_keys(ticket: Ticket, priority: str | None = None) -> list[float]:
    """queue_keys of the other waiting tickets in ``priority`` (default: the ticket's group)."""
    return list(
        db.session.scalars(
            select(Ticket.queue_key)
            .where(
                Ticket.department_id == ticket.department_id,
                Ticket.status == "waiting",
                Ticket.priority == (priority or ticket.priority),
                Ticket.id != ticket.id,
            )
            .order_by(Ticket.queue_key, Ticket.id)
        )
    )


def _place_after_next(ticket: Ticket, places: int, previous: str) -> None:
    """Give ``ticket`` a queue_key just after the next ``places`` waiting tickets of its group.

    "Next" follows the full serving order (queue_key, then id), so tickets that
    share a key (several patients early for one 09:00 slot) are counted
    correctly; those tied with the last one passed stay behind the skipped ticket.
    """
    group = list(
        db.session.scalars(
            select(Ticket)
            .where(
                Ticket.department_id == ticket.department_id,
                Ticket.status == "waiting",
                Ticket.priority == ticket.priority,
                Ticket.id != ticket.id,
            )
            .order_by(Ticket.queue_key, Ticket.id)
        )
    )
    if previous == "waiting":
        own = (ticket.queue_key, ticket.id)
        group = [other for other in group if (other.queue_key, other.id) > own]
    if not group:
        return
    passed = group[min(places, len(group)) - 1]
    behind = group[min(places, len(group)) :]
    tied = [other for other in behind if other.queue_key == passed.queue_key]
    higher = [other.queue_key for other in behind if other.queue_key > passed.queue_key]
    ceiling = higher[0] if higher else passed.queue_key + 3
    step = (ceiling - passed.queue_key) / 3
    ticket.queue_key = passed.queue_key + step
    for other in tied:  # they were behind the one passed, so they stay behind the ticket
        other.queue_key = passed.queue_key + 2 * step


# ---------------------------------------------------------------- transfer


def _transfer(
    ticket: Ticket, *, department_id: int | None, actor: User | None, reason: str | None
) -> Ticket:
    target = get_by_id(Department, department_id)
    if target is None or not target.active:
        raise ValidationFailed({"department_id": "Choose an active department to transfer to."})
    if target.id == ticket.department_id:
        raise ValidationFailed({"department_id": "Choose another department than the current one."})
    busy = db.session.scalar(
        select(Ticket).where(
            Ticket.patient_id == ticket.patient_id,
            Ticket.department_id == target.id,
            Ticket.status.in_(ACTIVE_STATUSES),
        )
    )
    if busy is not None:
        raise Conflict(
            f"The patient already has ticket {busy.number} in {target.name}.",
            field="department_id",
        )
    previous = ticket.status
    now = utcnow()
    ticket.status = "transferred"
    ticket.ended_at = now
    _record(ticket, "transfer", previous, actor, reason=reason)
    follow_up = _new_ticket(
        department=target,
        patient_id=ticket.patient_id,
        appointment_id=ticket.appointment_id,
        priority=ticket.priority,
        effective_at=now,  # joins the end of the target queue
        now=now,
        status_token=ticket.status_token,  # the patient keeps one ticket page
        transferred_from_id=ticket.id,
    )
    db.session.flush()
    _record(follow_up, "check_in", None, actor, reason=f"Transferred from {ticket.number}")
    follow_up.estimated_wait_at_check_in = estimate_for(follow_up)
    db.session.flush()
    return follow_up
