"""The queue's read side: the live state of a department, positions and wait estimates.

:func:`queue_state` is the one query that the boards, the display, the API and
call-next's ordering share. Nothing here changes a ticket.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import selectinload

from webapp import clock
from webapp.database import get_by_id, utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.domain_errors import NotFound
from webapp.extensions import db
from webapp.queue.models import ACTIVE_STATUSES, PRIORITIES, QueueEvent, Ticket
from webapp.queue.targets import TargetStatus, target_status

PRIORITY_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES)}
# A service point counts as serving for the estimate when someone is signed in at
# it, or when it called a patient this recently.
ACTIVE_SERVICE_POINT_WINDOW = timedelta(minutes=30)
# How many of the newest calls the waiting-room display lists.
RECENT_CALLS = 5
# The typical visit: the median of this many of today's newest completed visits, once at
# least TYPICAL_VISIT_MIN_SAMPLE are done, kept within these multiples of the default.
TYPICAL_VISIT_SAMPLE = 20
TYPICAL_VISIT_MIN_SAMPLE = 3
TYPICAL_VISIT_BOUNDS = (0.5, 3.0)
CALL_ACTIONS = ("call", "recall")

_priority_rank = case(PRIORITY_RANK, value=Ticket.priority)


def serving_order(query: Select[tuple[Ticket]]) -> Select[tuple[Ticket]]:
    """Order waiting tickets the way they are served."""
    return query.order_by(_priority_rank, Ticket.queue_key, Ticket.id)


def get_ticket(ticket_id: int) -> Ticket:
    ticket = get_by_id(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def serving_ticket(point: ServicePoint) -> Ticket | None:
    """The ticket a service point is calling or serving, if any."""
    return db.session.scalar(
        select(Ticket).where(
            Ticket.service_point_id == point.id, Ticket.status.in_(("called", "in_service"))
        )
    )


# ------------------------------------------------------------ lateness


def appointment_grace() -> timedelta:
    """How long after an appointment's start a patient still keeps the appointment's place."""
    return timedelta(minutes=current_app.config["QUEUE_APPOINTMENT_GRACE_MINUTES"])


def checked_in_late(appointment_starts_at: datetime, checked_in_at: datetime) -> bool:
    """The grace rule (DOMAIN.md "Queue order"), the one place it lives: a patient who checks
    in later than the grace period after their appointment's start queues from check-in."""
    return checked_in_at > appointment_starts_at + appointment_grace()


def is_late(ticket: Ticket) -> bool:
    """Whether the ticket's patient checked in late for their appointment. A walk-in is never
    late, nor is a transfer's follow-up ticket (it joins the other queue at transfer time)."""
    if ticket.appointment is None or ticket.transferred_from_id is not None:
        return False
    return checked_in_late(ticket.appointment.starts_at, ticket.checked_in_at)


# ---------------------------------------------------------- the queue state


def typical_visit_minutes(department: Department, day: date) -> float:
    """The department's typical visit (DOMAIN.md "Wait estimate"): the median length
    (started → ended) of its last 20 visits completed on ``day``, kept between half and three
    times its default service minutes; the default itself until 3 visits are done.

    The median and the bounds keep a run of very short (or very long) visits from telling
    the patients in line a wait nobody will see. Reads at most 20 rows.
    """
    default = float(department.default_service_minutes)
    durations = [
        (ended - started).total_seconds() / 60
        for started, ended in db.session.execute(
            select(Ticket.started_at, Ticket.ended_at)
            .where(
                Ticket.department_id == department.id,
                Ticket.service_day == day,
                Ticket.status == "completed",
                Ticket.started_at.is_not(None),
                Ticket.ended_at.is_not(None),
            )
            .order_by(Ticket.ended_at.desc(), Ticket.id.desc())
            .limit(TYPICAL_VISIT_SAMPLE)
        )
    ]
    if len(durations) < TYPICAL_VISIT_MIN_SAMPLE:
        return default
    low, high = default * TYPICAL_VISIT_BOUNDS[0], default * TYPICAL_VISIT_BOUNDS[1]
    median = float(statistics.median(durations))
    return min(max(median, low), high)


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


def estimate_minutes(ahead: int, typical_minutes: float, points: int) -> int:
    """tickets ahead × typical visit minutes ÷ serving rooms, rounded up."""
    return math.ceil(ahead * typical_minutes / max(points, 1))


@dataclass(frozen=True)
class WaitingTicket:
    ticket: Ticket
    position: int  # 1-based
    estimated_wait_minutes: int
    late: bool = False  # checked in after the appointment's grace period (see is_late)
    # Against the department's service target at the moment the state was read: screens that
    # show it later turn it on from at_risk_at / breached_at (webapp.queue.targets).
    target: TargetStatus | None = None


@dataclass(frozen=True)
class QueueState:
    department: Department
    waiting: list[WaitingTicket]
    called: list[Ticket]
    in_service: list[Ticket]
    generated_at: datetime
    typical_visit_minutes: float
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
    typical = typical_visit_minutes(department, clock.service_day())
    points = active_service_points(department)
    waiting = [ticket for ticket in tickets if ticket.status == "waiting"]
    now = utcnow()
    entries = [
        WaitingTicket(
            ticket,
            index + 1,
            estimate_minutes(index, typical, points),
            is_late(ticket),
            target_status(ticket, department, now),
        )
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
        generated_at=now,
        typical_visit_minutes=typical,
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


def latest_ticket_for_token(token: str, *, fresh: bool = False) -> Ticket:
    """The newest ticket of a transfer chain, for the patient's ticket page; ``fresh`` reads
    it again even if this session already holds it."""
    query = (
        select(Ticket)
        .where(Ticket.status_token == token)
        .order_by(Ticket.checked_in_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    if fresh:
        query = query.execution_options(populate_existing=True)
    ticket = db.session.scalar(query)
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


# ------------------------------------------------------ calls for the display

# A ticket whose latest call is still being answered: the display shows it under "now calling".
CURRENT_CALL_STATUSES = ("called", "in_service")


@dataclass(frozen=True)
class Call:
    """A ticket's latest call or recall today, as the display shows it: a ticket number and a
    room, nothing else."""

    id: int  # the QueueEvent's id; ids newer than the screen has seen are announced
    number: str
    room: str | None
    at: datetime
    recall: bool  # the latest call is a recall
    recalls: int  # how many times the ticket has been recalled today
    ticket_status: str  # the ticket's status now

    @property
    def room_label(self) -> str:
        return self.room or "Reception"

    @property
    def is_current(self) -> bool:
        """Whether the patient is still answering this call: a finished visit, a no-show, a
        transfer or a return to the queue is no longer "now calling"."""
        return self.ticket_status in CURRENT_CALL_STATUSES

    @property
    def recall_label(self) -> str:
        """How the display marks a recall ("again", "again ×3"); empty for a first call."""
        if not self.recall:
            return ""
        return "again" if self.recalls <= 1 else f"again ×{self.recalls}"

    @property
    def announcement(self) -> str:
        """What the screen says: "GM-014" is read letter by letter ("G M 0 1 4"), as every
        speech voice reads spaced characters one by one."""
        spelled = " ".join(re.sub(r"[^A-Za-z0-9]", "", self.number))
        return f"Ticket {spelled}, please go to {self.room_label}"


def recent_calls(department: Department, limit: int = RECENT_CALLS) -> list[Call]:
    """The department's last ``limit`` tickets called today, one per ticket (its latest call or
    recall, with today's recall count), newest call first.

    A grouped subquery picks each ticket's latest call event (event ids grow with time), so a
    ticket called and recalled three times takes one line, not four; plain GROUP BY and MAX
    behave the same on SQLite and PostgreSQL.
    """
    latest = (
        select(
            QueueEvent.ticket_id.label("ticket_id"),
            func.max(QueueEvent.id).label("event_id"),
            func.sum(case((QueueEvent.action == "recall", 1), else_=0)).label("recalls"),
        )
        .where(
            QueueEvent.department_id == department.id,
            QueueEvent.action.in_(CALL_ACTIONS),
            QueueEvent.created_at >= clock.day_bounds(clock.today())[0],
        )
        .group_by(QueueEvent.ticket_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            QueueEvent.id,
            QueueEvent.action,
            QueueEvent.created_at,
            Ticket.number,
            Ticket.status,
            ServicePoint.name,
            latest.c.recalls,
        )
        .join(latest, latest.c.event_id == QueueEvent.id)
        .join(Ticket, Ticket.id == QueueEvent.ticket_id)
        .outerjoin(ServicePoint, ServicePoint.id == QueueEvent.service_point_id)
        .order_by(QueueEvent.id.desc())
        .limit(limit)
    )
    return [
        Call(
            id=event_id,
            number=number,
            room=room,
            at=created_at,
            recall=action == "recall",
            recalls=int(recalls or 0),
            ticket_status=status,
        )
        for event_id, action, created_at, number, status, room, recalls in rows
    ]
