"""The end of the service day (DOMAIN.md "The service day").

After a department's last opening hour of a day (or at ``DAY_CLOSE_TIME`` when it is
open at all hours, or has no hours that day) the day is closed: its appointments still
``booked`` become ``no_show``; its tickets still ``waiting`` or ``called`` become
``cancelled`` and those ``in_service`` become ``completed``. Every ticket change is a move
of the rule book made by the system (actor None), so each writes its QueueEvent with the
reason :data:`CLOSE_REASON`, and the ticket's appointment follows it.

A called ticket cannot be cancelled directly (the rule book cancels only from waiting):
it is returned to the queue, then cancelled, two events with the same reason. Marking it
a no-show instead would count the day's end as the patient's absence in the reports.

Only what arrived before the close moment is closed while the day lasts: a patient who
checks in after a 17:00 close (check-in is always allowed) is not cancelled minutes
later; once the calendar day is over, whatever is left of it is closed (the periodic task
also looks at yesterday). Running the close again changes nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.audit.services import record_audit
from webapp.departments.models import Department
from webapp.departments.services import WEEKDAYS
from webapp.domain_errors import Conflict
from webapp.extensions import db
from webapp.queue.models import Ticket
from webapp.queue.moves import apply_move

log = logging.getLogger(__name__)

CLOSE_REASON = "closed at end of day"

# The moves that close a ticket still open at the end of the day, by its status.
_CLOSING_MOVES = {
    "waiting": ("cancel",),
    "called": ("return_to_queue", "cancel"),
    "in_service": ("complete",),
}


@dataclass(frozen=True)
class DayClosed:
    """What one run of :func:`close_day` changed."""

    no_show_appointments: int = 0
    cancelled_tickets: int = 0
    completed_tickets: int = 0

    @property
    def changed(self) -> int:
        return self.no_show_appointments + self.cancelled_tickets + self.completed_tickets


def close_moment(department: Department, day: date) -> datetime:
    """When ``day`` closes for ``department``: the end of its last opening interval that day,
    else (open at all hours, or closed that day) ``DAY_CLOSE_TIME``, in the hospital's zone."""
    zone = clock.hospital_zone()
    intervals = (department.opening_hours or {}).get(WEEKDAYS[day.weekday()], [])
    if department.opening_hours is None or not intervals:
        wall = time.fromisoformat(current_app.config["DAY_CLOSE_TIME"])
        return datetime.combine(day, wall, zone)
    last_end = max(closes for _, closes in intervals)
    if last_end == "24:00":
        return clock.day_bounds(day)[1]
    return datetime.combine(day, time.fromisoformat(last_end), zone)


def close_day(department: Department, day: date, now: datetime) -> DayClosed:
    """Close ``department``'s ``day`` if its close moment has passed by ``now``."""
    closes_at = close_moment(department, day)
    if now < closes_at:
        return DayClosed()
    start, end = clock.day_bounds(day)
    # While the calendar day lasts, what came after the close moment stays open.
    cutoff = end if now >= end else closes_at
    appointments = _close_appointments(department, start, cutoff)
    cancelled = completed = 0
    for ticket_id, status in db.session.execute(
        select(Ticket.id, Ticket.status)
        .where(
            Ticket.department_id == department.id,
            Ticket.service_day == day,
            Ticket.status.in_(tuple(_CLOSING_MOVES)),
            Ticket.checked_in_at < cutoff,
        )
        .order_by(Ticket.id)
    ).all():
        try:
            for move in _CLOSING_MOVES[status]:
                apply_move(ticket_id, move, actor=None, reason=CLOSE_REASON)
        except Conflict:
            # Someone moved it between the read and the row lock: it is no longer ours to close.
            log.info("End of day: ticket %s changed meanwhile; left as it is", ticket_id)
            continue
        if status == "in_service":
            completed += 1
        else:
            cancelled += 1
    db.session.flush()
    return DayClosed(appointments, cancelled, completed)


def _close_appointments(department: Department, start: datetime, cutoff: datetime) -> int:
    """The day's appointments still booked (the patient never came) become no-shows."""
    appointments = list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.department_id == department.id,
                Appointment.status == "booked",
                Appointment.starts_at >= start,
                Appointment.starts_at < cutoff,
            )
            .order_by(Appointment.id)
            .with_for_update()
        )
    )
    for appointment in appointments:
        appointment.status = "no_show"
        record_audit(
            "appointment.no_show",
            None,
            entity_type="appointment",
            entity_id=appointment.id,
            summary=f"Appointment {appointment.id} marked no-show: {CLOSE_REASON}",
            details={"reason": CLOSE_REASON},
        )
    return len(appointments)


def close_due_days(now: datetime) -> DayClosed:
    """Close yesterday (if it was missed) and today for every active department whose close
    moment has passed: what the periodic task runs."""
    today = clock.service_day(now)
    totals = DayClosed()
    departments = db.session.scalars(
        select(Department).where(Department.active.is_(True)).order_by(Department.id)
    )
    for department in departments:
        for day in (today - timedelta(days=1), today):
            closed = close_day(department, day, now)
            totals = DayClosed(
                totals.no_show_appointments + closed.no_show_appointments,
                totals.cancelled_tickets + closed.cancelled_tickets,
                totals.completed_tickets + closed.completed_tickets,
            )
    return totals
