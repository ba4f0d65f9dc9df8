"""The queue: check-in, call-next, every state change and override, the wait estimate.

Every change locks the ticket's row, checks that the move is legal from the
ticket's current state, applies it and writes exactly one QueueEvent in the
same transaction. An illegal move raises :class:`Conflict` before anything
changes. :func:`queue_state` is the one query that the boards, the display,
the API and call-next's ordering all share.

Serving order (DOMAIN.md): priority group, then ``queue_key`` (the effective
time at check-in, moved by "move to front" and "skip"), then ticket id.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Select, case, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.auth.models import User
from webapp.database import MAX_ID, get_by_id, utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue.models import (
    ACTIVE_STATUSES,
    PRIORITIES,
    QueueEvent,
    Ticket,
    TicketSequence,
)

PRIORITY_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES)}
PRIORITY_LABELS = {
    "emergency": "Emergency",
    "urgent": "Urgent",
    "priority": "Priority",
    "routine": "Routine",
}
STATUS_LABELS = {
    "waiting": "Waiting",
    "called": "Called",
    "in_service": "In service",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
    "transferred": "Transferred",
}
# A service point counts as serving for the estimate when someone is signed in at
# it, or when it called a patient this recently.
ACTIVE_SERVICE_POINT_WINDOW = timedelta(minutes=30)

_priority_rank = case(PRIORITY_RANK, value=Ticket.priority)


def serving_order(query: Select[tuple[Ticket]]) -> Select[tuple[Ticket]]:
    """Order waiting tickets the way they are served."""
    return query.order_by(_priority_rank, Ticket.queue_key, Ticket.id)


# ------------------------------------------------------------------ helpers


def get_ticket(ticket_id: int) -> Ticket:
    ticket = get_by_id(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


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
    return event


# Every move and the statuses it may start from (DOMAIN.md's state diagram). The services
# refuse anything else; the workstation reads the same table to grey out its buttons.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "call": ("waiting",),
    "start": ("called",),
    "complete": ("in_service",),
    "no_show": ("called", "in_service"),
    "cancel": ("waiting",),
    "return_to_queue": ("called",),
    "assign": ("waiting",),
    "skip": ("waiting", "called"),
    "move_to_front": ("waiting",),
    "set_priority": ("waiting",),
    "recall": ("called",),
    "transfer": ("waiting", "called", "in_service"),
}


def _refuse(ticket: Ticket, doing: str, move: str) -> None:
    allowed = ALLOWED_FROM[move]
    if ticket.status not in allowed:
        readable = " or ".join(STATUS_LABELS[status].lower() for status in allowed)
        raise Conflict(
            f"Ticket {ticket.number} is {STATUS_LABELS[ticket.status].lower()}; "
            f"it can be {doing} only while it is {readable}.",
            field="status",
        )


def _service_point(service_point_id: int | None, department_id: int | None = None) -> ServicePoint:
    point = get_by_id(ServicePoint, service_point_id)
    if point is None or not point.active:
        raise ValidationFailed({"service_point_id": "Choose an active room or counter."})
    if department_id is not None and point.department_id != department_id:
        raise ValidationFailed(
            {"service_point_id": "That room belongs to another department's queue."}
        )
    return point


def serving_ticket(point: ServicePoint) -> Ticket | None:
    """The ticket a service point is calling or serving, if any."""
    return db.session.scalar(
        select(Ticket).where(
            Ticket.service_point_id == point.id, Ticket.status.in_(("called", "in_service"))
        )
    )


def _require_free(point: ServicePoint) -> None:
    busy = serving_ticket(point)
    if busy is not None:
        raise Conflict(
            f"{point.name} is still serving {busy.number} ({STATUS_LABELS[busy.status].lower()}). "
            "Complete it, mark it no-show or return it to the queue first.",
            field="service_point_id",
        )


def _flush_serving(point: ServicePoint) -> None:
    """Flush, turning the one-patient-per-room index's refusal into a clear Conflict."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            f"{point.name} is already serving a patient. Reload to see the latest queue.",
            field="service_point_id",
        ) from None


def _sign_in_at(point: ServicePoint, actor: User | None) -> None:
    """A clinician who calls from a room is at that room (counts for the wait estimate)."""
    if actor is not None and actor.role == "clinician":
        db.session.execute(
            ServicePoint.__table__.update()
            .where(ServicePoint.clinician_id == actor.id, ServicePoint.id != point.id)
            .values(clinician_id=None, signed_in_at=None)
        )
        point.clinician_id = actor.id
        point.signed_in_at = utcnow()


def _appointment_follows(ticket: Ticket, status: str) -> None:
    """An appointment completes, no-shows or cancels with its ticket."""
    if ticket.appointment_id is None:
        return
    appointment = db.session.get(Appointment, ticket.appointment_id)
    if appointment is not None and appointment.status in ("booked", "checked_in"):
        appointment.status = status


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
    if appointment is None:
        return checked_in_at
    grace = timedelta(minutes=current_app.config["QUEUE_APPOINTMENT_GRACE_MINUTES"])
    if checked_in_at <= appointment.starts_at + grace:
        return appointment.starts_at
    return checked_in_at


# ---------------------------------------------------------------- check-in


def check_in(
    *,
    actor: User | None,
    appointment_id: int | None = None,
    patient_id: int | None = None,
    department_id: int | None = None,
    priority: str = "routine",
) -> Ticket:
    """Open a ticket for a booked appointment or a walk-in."""
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
    appointment: Appointment | None = None
    if appointment_id is not None:
        appointment = get_by_id(Appointment, appointment_id)
        if appointment is None:
            raise ValidationFailed({"appointment_id": "No appointment has this id."})
        if appointment.status != "booked":
            raise Conflict(
                f"This appointment is {appointment.status.replace('_', ' ')}; only a booked "
                "appointment can be checked in.",
                field="appointment_id",
            )
        patient, department = appointment.patient, appointment.department
    else:
        errors: dict[str, str] = {}
        found_patient = get_by_id(Patient, patient_id)
        found_department = get_by_id(Department, department_id)
        if found_patient is None:
            errors["patient_id"] = "No patient has this id."
        if found_department is None or not found_department.active:
            errors["department_id"] = "Choose an active department."
        if found_patient is None or found_department is None or errors:
            raise ValidationFailed(errors)
        patient, department = found_patient, found_department
        if not department.accepts_walk_ins:
            raise Conflict(
                f"{department.name} sees patients by appointment only; book an appointment.",
                field="department_id",
            )
    if not department.active:
        raise ValidationFailed({"department_id": "This department is inactive."})

    # Serialise check-ins of one patient: the row lock makes "one active ticket" a clean 409.
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

    now = utcnow()
    day = clock.service_day(now)
    sequence = _next_sequence(department.id, day)
    effective_at = _effective_time(appointment, now)
    ticket = Ticket(
        department_id=department.id,
        service_day=day,
        sequence=sequence,
        number=f"{department.code}-{sequence:03d}",
        patient_id=patient.id,
        appointment_id=appointment.id if appointment else None,
        priority=priority,
        status="waiting",
        queue_key=effective_at.timestamp(),
        effective_at=effective_at,
        checked_in_at=now,
        status_token=secrets.token_urlsafe(24),
    )
    db.session.add(ticket)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            f"This patient already has an active ticket in {department.name}.", field="patient_id"
        ) from None
    if appointment is not None:
        appointment.status = "checked_in"
    _record(ticket, "check_in", None, actor)
    ticket.estimated_wait_at_check_in = estimate_for(ticket)
    return ticket


# --------------------------------------------------------------- call next


def call_next(*, service_point_id: int, actor: User | None) -> Ticket | None:
    """Call the first waiting ticket the service point may take, or None when there is none.

    ``FOR UPDATE SKIP LOCKED`` lets concurrent callers each take a different
    ticket on PostgreSQL; SQLite serialises the whole transaction.
    """
    point = _service_point(service_point_id)
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
    _call(candidate, point, actor, action="call")
    return candidate


def _call(
    ticket: Ticket,
    point: ServicePoint,
    actor: User | None,
    *,
    action: str,
    reason: str | None = None,
) -> None:
    previous = ticket.status
    ticket.status = "called"
    ticket.service_point_id = point.id
    ticket.clinician_id = actor.id if actor and actor.role == "clinician" else point.clinician_id
    ticket.called_at = utcnow()
    _sign_in_at(point, actor)
    _flush_serving(point)
    _record(ticket, action, previous, actor, reason=reason)


# --------------------------------------------------------- status changes

TARGET_STATUSES = ("called", "in_service", "completed", "no_show", "cancelled", "waiting")


def transition_ticket(
    ticket_id: int,
    *,
    status: str,
    actor: User | None,
    service_point_id: int | None = None,
    reason: str | None = None,
) -> Ticket:
    """Move a ticket to ``status`` if that move is legal from where it is."""
    if status not in TARGET_STATUSES:
        raise ValidationFailed({"status": f"Use one of: {', '.join(TARGET_STATUSES)}."})
    ticket = _locked_ticket(ticket_id)
    previous = ticket.status
    now = utcnow()
    if status == "called":
        _refuse(ticket, "called", "call")
        # A ticket assigned to a room is called there unless another room is named.
        point = _service_point(service_point_id or ticket.service_point_id, ticket.department_id)
        if ticket.service_point_id not in (None, point.id):
            raise Conflict(
                f"Ticket {ticket.number} is assigned to another room; reassign it first.",
                field="service_point_id",
            )
        _require_free(point)
        _call(ticket, point, actor, action="call", reason=reason)
        return ticket
    if status == "in_service":
        _refuse(ticket, "started", "start")
        ticket.status, ticket.started_at, action = "in_service", now, "start"
    elif status == "completed":
        _refuse(ticket, "completed", "complete")
        ticket.status, ticket.ended_at, action = "completed", now, "complete"
        _appointment_follows(ticket, "completed")
    elif status == "no_show":
        _refuse(ticket, "marked no-show", "no_show")
        ticket.status, ticket.ended_at, action = "no_show", now, "no_show"
        _appointment_follows(ticket, "no_show")
    elif status == "cancelled":
        _refuse(ticket, "cancelled", "cancel")
        ticket.status, ticket.ended_at, action = "cancelled", now, "cancel"
        _appointment_follows(ticket, "cancelled")
    else:  # waiting: the patient goes back to the place they had
        _refuse(ticket, "returned to the queue", "return_to_queue")
        ticket.status, action = "waiting", "return_to_queue"
        ticket.service_point_id = None
        ticket.clinician_id = None
        ticket.called_at = None
    _record(ticket, action, previous, actor, reason=reason)
    db.session.flush()
    return ticket


# --------------------------------------------------------------- overrides

OVERRIDE_ACTIONS = ("assign", "skip", "move_to_front", "set_priority", "transfer", "recall")


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
    """Apply a staff override; for ``transfer`` the new ticket is returned."""
    if action not in OVERRIDE_ACTIONS:
        raise ValidationFailed({"action": f"Use one of: {', '.join(OVERRIDE_ACTIONS)}."})
    ticket = _locked_ticket(ticket_id)
    previous = ticket.status

    if action == "assign":
        _refuse(ticket, "assigned", "assign")
        point = _service_point(service_point_id, ticket.department_id)
        ticket.service_point_id = point.id
        _record(ticket, "assign", previous, actor, reason=reason, service_point_id=point.id)
    elif action == "skip":
        _refuse(ticket, "skipped", "skip")
        _place_after_next(ticket, current_app.config["QUEUE_SKIP_PLACES"], previous)
        if previous == "called":
            ticket.service_point_id = None
            ticket.clinician_id = None
            ticket.called_at = None
        ticket.status = "waiting"
        ticket.skip_count += 1
        _record(ticket, "skip", previous, actor, reason=reason)
    elif action == "move_to_front":
        _refuse(ticket, "moved to the front", "move_to_front")
        keys = _group_keys(ticket)
        if keys and keys[0] <= ticket.queue_key:
            ticket.queue_key = keys[0] - 1
        _record(ticket, "move_to_front", previous, actor, reason=reason)
    elif action == "set_priority":
        _refuse(ticket, "re-prioritised", "set_priority")
        if priority not in PRIORITIES:
            raise ValidationFailed({"priority": "Choose emergency, urgent, priority or routine."})
        ticket.priority = priority
        _record(ticket, "set_priority", previous, actor, reason=reason)
    elif action == "recall":
        _refuse(ticket, "recalled", "recall")
        ticket.recall_count += 1
        ticket.called_at = utcnow()
        _record(ticket, "recall", previous, actor, reason=reason)
    else:
        return _transfer(ticket, department_id=department_id, actor=actor, reason=reason)
    db.session.flush()
    return ticket


def _transfer(
    ticket: Ticket, *, department_id: int | None, actor: User | None, reason: str | None
) -> Ticket:
    _refuse(ticket, "transferred", "transfer")
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
    day = clock.service_day(now)
    sequence = _next_sequence(target.id, day)
    follow_up = Ticket(
        department_id=target.id,
        service_day=day,
        sequence=sequence,
        number=f"{target.code}-{sequence:03d}",
        patient_id=ticket.patient_id,
        appointment_id=ticket.appointment_id,
        priority=ticket.priority,
        status="waiting",
        queue_key=now.timestamp(),
        effective_at=now,
        checked_in_at=now,
        status_token=ticket.status_token,  # the patient keeps one ticket page
        transferred_from_id=ticket.id,
    )
    db.session.add(follow_up)
    db.session.flush()
    _record(follow_up, "check_in", None, actor, reason=f"Transferred from {ticket.number}")
    follow_up.estimated_wait_at_check_in = estimate_for(follow_up)
    db.session.flush()
    return follow_up


# ---------------------------------------------------------- the queue state


def mean_service_minutes(department: Department, day: date) -> float:
    """Today's mean service time (started → ended) of completed tickets, else the default."""
    durations: list[float] = [
        (ended - started).total_seconds() / 60
        for started, ended in db.session.execute(
            select(Ticket.started_at, Ticket.ended_at).where(
                Ticket.department_id == department.id,
                Ticket.service_day == day,
                Ticket.status == "completed",
                Ticket.started_at.is_not(None),
                Ticket.ended_at.is_not(None),
            )
        )
    ]
    if not durations:
        return float(department.default_service_minutes)
    return sum(durations) / len(durations)


def active_service_points(department: Department) -> int:
    """Rooms serving now: someone signed in there, or it called a patient in the last 30 min."""
    since = utcnow() - ACTIVE_SERVICE_POINT_WINDOW
    signed_in = set(
        db.session.scalars(
            select(ServicePoint.id).where(
                ServicePoint.department_id == department.id,
                ServicePoint.active.is_(True),
                ServicePoint.clinician_id.is_not(None),
            )
        )
    )
    recently_calling = set(
        db.session.scalars(
            select(QueueEvent.service_point_id).where(
                QueueEvent.department_id == department.id,
                QueueEvent.action.in_(("call", "recall")),
                QueueEvent.created_at >= since,
                QueueEvent.service_point_id.is_not(None),
            )
        )
    )
    return max(1, len(signed_in | recently_calling))


def estimate_minutes(ahead: int, mean_minutes: float, points: int) -> int:
    """tickets ahead × mean service minutes ÷ serving rooms, rounded up."""
    return math.ceil(ahead * mean_minutes / max(points, 1))


@dataclass(frozen=True)
class WaitingTicket:
    ticket: Ticket
    position: int  # 1-based
    estimated_wait_minutes: int


@dataclass(frozen=True)
class QueueState:
    department: Department
    waiting: list[WaitingTicket]
    called: list[Ticket]
    in_service: list[Ticket]
    generated_at: datetime
    mean_service_minutes: float
    active_service_points: int
    positions: dict[int, WaitingTicket] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """Changes whenever anything a board shows changes (for "send only if changed" polling)."""
        parts = [
            f"{entry.ticket.id}:{entry.ticket.status}:{entry.ticket.updated_at.timestamp()}"
            for entry in self.waiting
        ] + [
            f"{ticket.id}:{ticket.status}:{ticket.recall_count}:{ticket.updated_at.timestamp()}"
            for ticket in self.called + self.in_service
        ]
        # A stable digest (not hash(), which differs between server processes).
        digest = hashlib.blake2b("|".join(parts).encode(), digest_size=6).hexdigest()
        return f"{self.department.id}-{digest}-{len(parts)}"


def queue_state(department_id: int) -> QueueState:
    """The live queue of one department: every board, the display, the API and estimates use it."""
    department = get_by_id(Department, department_id)
    if department is None:
        raise NotFound("No such department.")
    tickets = list(
        db.session.scalars(
            serving_order(
                select(Ticket)
                .where(Ticket.department_id == department.id, Ticket.status.in_(ACTIVE_STATUSES))
                # Boards show each row's patient, appointment time and room: load them in
                # three queries, not three per row.
                .options(
                    selectinload(Ticket.patient),
                    selectinload(Ticket.appointment),
                    selectinload(Ticket.service_point),
                )
            )
        )
    )
    mean = mean_service_minutes(department, clock.service_day())
    points = active_service_points(department)
    waiting = [ticket for ticket in tickets if ticket.status == "waiting"]
    entries = [
        WaitingTicket(ticket, index + 1, estimate_minutes(index, mean, points))
        for index, ticket in enumerate(waiting)
    ]
    by_call = sorted(
        (ticket for ticket in tickets if ticket.status == "called"),
        key=lambda ticket: ticket.called_at or ticket.checked_in_at,
    )
    return QueueState(
        department=department,
        waiting=entries,
        called=by_call,
        in_service=[ticket for ticket in tickets if ticket.status == "in_service"],
        generated_at=utcnow(),
        mean_service_minutes=mean,
        active_service_points=points,
        positions={entry.ticket.id: entry for entry in entries},
    )


def estimate_for(ticket: Ticket) -> int | None:
    """The current wait estimate of a waiting ticket (None when it is not waiting)."""
    if ticket.status != "waiting":
        return None
    entry = queue_state(ticket.department_id).positions.get(ticket.id)
    return entry.estimated_wait_minutes if entry else None


def position_of(ticket: Ticket) -> WaitingTicket | None:
    if ticket.status != "waiting":
        return None
    return queue_state(ticket.department_id).positions.get(ticket.id)


def latest_ticket_for_token(token: str) -> Ticket:
    """The newest ticket of a transfer chain, for the patient's ticket page."""
    ticket = db.session.scalar(
        select(Ticket)
        .where(Ticket.status_token == token)
        .order_by(Ticket.checked_in_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def tickets_today(department_id: int | None = None) -> Select[tuple[Ticket]]:
    query = select(Ticket).where(Ticket.service_day == clock.service_day())
    if department_id is not None:
        query = query.where(Ticket.department_id == department_id)
    return query.order_by(Ticket.checked_in_at, Ticket.id)


def count_waiting(department_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(
                Ticket.department_id == department_id, Ticket.status == "waiting"
            )
        )
        or 0
    )
