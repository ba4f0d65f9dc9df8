"""Four weeks of finished queue history for the demo, so the reports have something to show.

Written in bulk (a handful of multi-row INSERTs per table, not one ORM object per row) and
deterministic: a day's history comes from a random generator seeded with the date. Only the
status tokens are real secrets. Each department's tickets are served by its clinicians: every
day each service point is staffed by one of them, with a colleague covering now and then.
Bulk inserts publish no domain events, so no demo patient is texted about a visit that never
happened.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.auth.models import User
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue.models import QueueEvent, Ticket, TicketSequence

HISTORY_DAYS = 28
# Arrivals per hour of the day (relative weights): a morning peak, a quiet evening.
ARRIVAL_WEIGHTS = {
    7: 5,
    8: 10,
    9: 12,
    10: 11,
    11: 8,
    12: 5,
    13: 4,
    14: 4,
    15: 3,
    16: 3,
    17: 2,
    18: 1,
    19: 1,
}
# Tickets per department and day (inclusive bounds).
DAILY_TICKETS = {"GM": (18, 28), "PED": (12, 20), "LAB": (22, 32), "PH": (24, 34)}
_DEFAULT_DAILY_TICKETS = (12, 20)
# The share of a service point's tickets served by a colleague covering for its clinician.
COVER_SHARE = 0.1
# The share of tickets in these departments that come with an appointment.
BOOKED_SHARE = {"GM": 0.35, "PED": 0.4}
# Mostly routine; now and then a patient who goes ahead of the queue.
PRIORITY_SHARES = ("routine", "priority", "urgent")
PRIORITY_WEIGHTS = (90, 7, 3)
NO_SHOW_SHARE = 0.05
CANCEL_SHARE = 0.03
TRANSFER_SHARE = 0.02
# Where a transferred patient is sent from each department.
TRANSFER_TARGETS = {"GM": ("LAB", "PH", "PED"), "PED": ("LAB", "PH", "GM"), "LAB": ("GM",)}


@dataclass
class _Plan:
    """The rows of one run, collected before the bulk inserts."""

    appointments: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    # Per ticket (same order as tickets / follow_ups): its events without ticket_id.
    ticket_events: list[list[dict[str, Any]]] = field(default_factory=list)
    follow_up_events: list[list[dict[str, Any]]] = field(default_factory=list)
    # Per ticket: the index of its appointment in appointments, or None.
    ticket_appointment: list[int | None] = field(default_factory=list)
    # Per follow-up: the index of the transferred ticket in tickets.
    follow_up_source: list[int] = field(default_factory=list)
    # Each department's service points, by department id.
    points: dict[int, list[int | None]] = field(default_factory=dict)
    # The appointment slots already taken, as (department id, start).
    booked: set[tuple[int, datetime]] = field(default_factory=set)


@dataclass
class _Rota:
    """Who works where on one day."""

    rng: random.Random
    # By (department id, service point id or None): the clinician at that point all day.
    at_point: dict[tuple[int, int | None], User] = field(default_factory=dict)
    # By department id: its clinicians on duty that day (each covers for the others).
    on_duty: dict[int, list[User]] = field(default_factory=dict)

    def server(self, department: Department, point_id: int | None) -> User | None:
        """The clinician who calls a patient to ``point_id``: mostly the one placed there."""
        regular = self.at_point.get((department.id, point_id))
        if regular is None:
            return None
        colleagues = [user for user in self.on_duty[department.id] if user is not regular]
        if colleagues and self.rng.random() < COVER_SHARE:
            return self.rng.choice(colleagues)
        return regular


def seed_history(
    departments: dict[str, Department],
    patients: list[Patient],
    *,
    clinicians: Mapping[str, Sequence[User]],
    receptionist: User | None,
    days: int = HISTORY_DAYS,
) -> int:
    """Add finished tickets for each of the ``days`` days before today; returns how many.

    ``clinicians`` are the staff who serve each department's tickets, by department code;
    one listed under several departments works in one of them on any day. A department
    with nobody listed is served by nobody.

    A department's day that already has tickets is left alone, so running it again adds
    nothing. The day's ticket counters are raised past the numbers written, so a later
    check-in on such a day cannot reuse one.
    """
    if not patients or not departments:
        return 0
    today = clock.today()
    first = today - timedelta(days=days)
    ids = {code: department.id for code, department in departments.items()}
    taken = set(
        db.session.execute(
            select(Ticket.department_id, Ticket.service_day)
            .where(
                Ticket.department_id.in_(ids.values()),
                Ticket.service_day >= first,
                Ticket.service_day < today,
            )
            .distinct()
        ).tuples()
    )
    counters: dict[tuple[int, date], int] = {
        (department_id, day): last_value
        for department_id, day, last_value in db.session.execute(
            select(
                TicketSequence.department_id,
                TicketSequence.service_day,
                TicketSequence.last_value,
            ).where(
                TicketSequence.department_id.in_(ids.values()),
                TicketSequence.service_day >= first,
                TicketSequence.service_day < today,
            )
        ).tuples()
    }
    known_counters = set(counters)
    plan = _Plan(points={department_id: [] for department_id in ids.values()})
    for point_id, department_id in db.session.execute(
        select(ServicePoint.id, ServicePoint.department_id)
        .where(ServicePoint.department_id.in_(ids.values()), ServicePoint.active.is_(True))
        .order_by(ServicePoint.id)
    ).tuples():
        plan.points[department_id].append(point_id)
    start, _ = clock.day_bounds(first)
    end, _ = clock.day_bounds(today)
    # Appointments are found again by department and start after the bulk insert.
    plan.booked = set(
        db.session.execute(
            select(Appointment.department_id, Appointment.starts_at).where(
                Appointment.department_id.in_(ids.values()),
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
        ).tuples()
    )
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        open_codes = [code for code in departments if (ids[code], day) not in taken]
        if open_codes:
            _plan_day(
                day, open_codes, departments, patients, clinicians, receptionist, counters, plan
            )
    if not plan.tickets:
        return 0
    _write(plan, counters, known_counters)
    return len(plan.tickets) + len(plan.follow_ups)


# ------------------------------------------------------------------ planning


def _plan_day(
    day: date,
    codes: list[str],
    departments: dict[str, Department],
    patients: list[Patient],
    clinicians: Mapping[str, Sequence[User]],
    receptionist: User | None,
    counters: dict[tuple[int, date], int],
    plan: _Plan,
) -> None:
    # Not a secret: a seed per date makes the demo the same on every machine.
    rng = random.Random(f"demo-history-{day.isoformat()}")  # noqa: S311
    rota = _rota(day, codes, departments, clinicians, plan)
    for code in codes:
        department = departments[code]
        low, high = DAILY_TICKETS.get(code, _DEFAULT_DAILY_TICKETS)
        arrivals = sorted(
            moment
            for moment in (_arrival(rng, day) for _ in range(rng.randint(low, high)))
            if moment
        )
        visitors = _visitors(rng, patients, len(arrivals))
        for arrived, patient in zip(arrivals, visitors, strict=True):
            _plan_ticket(
                rng,
                day,
                department,
                patient,
                arrived,
                codes,
                departments,
                rota,
                receptionist,
                counters,
                plan,
            )


def _rota(
    day: date,
    codes: list[str],
    departments: dict[str, Department],
    clinicians: Mapping[str, Sequence[User]],
    plan: _Plan,
) -> _Rota:
    """The day's clinician at each service point of the ``codes`` departments.

    Drawn from a generator of its own, so the rota does not change the rest of the day's
    history (arrivals, waits, outcomes).
    """
    rng = random.Random(f"demo-rota-{day.isoformat()}")  # noqa: S311
    rota = _Rota(rng=rng)
    homes: dict[int, list[str]] = {}
    for code in departments:
        for user in clinicians.get(code, ()):
            homes.setdefault(user.id, []).append(code)
    # Nobody is in two departments at once: one listed under several picks one for the day.
    works_in = {user_id: rng.choice(listed) for user_id, listed in homes.items()}
    for code in codes:
        department = departments[code]
        listed = list(clinicians.get(code, ()))
        # A department whose every clinician is elsewhere today borrows them all back.
        staff = [user for user in listed if works_in[user.id] == code] or listed
        rng.shuffle(staff)
        rota.on_duty[department.id] = staff
        if not staff:
            continue
        # One clinician per point; with more points than staff, someone works two rooms, and
        # with more staff than points the rest are on duty only to cover.
        for index, point_id in enumerate(plan.points[department.id] or [None]):
            rota.at_point[(department.id, point_id)] = staff[index % len(staff)]
    return rota


def _arrival(rng: random.Random, day: date) -> datetime | None:
    hour = rng.choices(list(ARRIVAL_WEIGHTS), weights=list(ARRIVAL_WEIGHTS.values()))[0]
    wall = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))
    return clock.from_local(wall)  # None in the hour skipped when the clocks go forward


def _visitors(rng: random.Random, patients: list[Patient], count: int) -> list[Patient]:
    """``count`` patients, each at most once a day while there are enough of them."""
    chosen: list[Patient] = []
    while len(chosen) < count:
        chosen.extend(rng.sample(patients, min(len(patients), count - len(chosen))))
    return chosen


def _minutes(value: float) -> timedelta:
    return timedelta(seconds=round(value * 60))


def _wait_minutes(rng: random.Random, arrived: datetime) -> float:
    """Longer in the morning rush; between 2 and 60 minutes."""
    hour = clock.local(arrived).hour
    mean = 28 if 8 <= hour < 12 else 14
    return min(60.0, max(2.0, rng.gauss(mean, mean / 2)))


def _service_minutes(rng: random.Random, department: Department) -> float:
    usual = department.default_service_minutes
    return max(1.5, rng.gauss(usual, usual * 0.3))


def _estimate(rng: random.Random, wait: float) -> int:
    return max(0, round(wait + rng.gauss(0, wait * 0.25 + 2)))


def _event(
    action: str,
    from_status: str | None,
    to_status: str,
    at: datetime,
    department: Department,
    *,
    user: User | None,
    point_id: int | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "department_id": department.id,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "user_id": user.id if user else None,
        "service_point_id": point_id,
        "reason": reason,
        "created_at": at,
    }


def _plan_ticket(
    rng: random.Random,
    day: date,
    department: Department,
    patient: Patient,
    arrived: datetime,
    codes: list[str],
    departments: dict[str, Department],
    rota: _Rota,
    receptionist: User | None,
    counters: dict[tuple[int, date], int],
    plan: _Plan,
) -> None:
    code = department.code
    point_id = rng.choice(plan.points[department.id] or [None])
    server = rota.server(department, point_id)
    wait = _wait_minutes(rng, arrived)
    outcome = rng.random()
    targets = [target for target in TRANSFER_TARGETS.get(code, ()) if target in codes]
    if outcome < NO_SHOW_SHARE:
        status = "no_show"
    elif outcome < NO_SHOW_SHARE + CANCEL_SHARE:
        status = "cancelled"
    elif outcome < NO_SHOW_SHARE + CANCEL_SHARE + TRANSFER_SHARE and targets:
        status = "transferred"
    else:
        status = "completed"

    appointment_index = None
    effective_at = arrived
    if status != "transferred" and rng.random() < BOOKED_SHARE.get(code, 0.0):
        appointment_index, effective_at = _plan_appointment(
            rng, department, patient, arrived, status, server, plan
        )

    called = arrived + _minutes(wait)
    events = [_event("check_in", None, "waiting", arrived, department, user=receptionist)]
    row = _ticket_row(department, day, patient, arrived, effective_at, counters)
    row.update(
        appointment_id=None,
        priority=rng.choices(PRIORITY_SHARES, weights=PRIORITY_WEIGHTS)[0],
        status=status,
        estimated_wait_at_check_in=_estimate(rng, wait),
        recall_count=0,
    )
    if status == "cancelled":
        ended = arrived + _minutes(wait * rng.uniform(0.3, 0.9))
        events.append(
            _event(
                "cancel",
                "waiting",
                "cancelled",
                ended,
                department,
                user=receptionist,
                reason="Patient left before being called",
            )
        )
        row.update(service_point_id=None, clinician_id=None, ended_at=ended)
    else:
        row.update(service_point_id=point_id, clinician_id=server.id if server else None)
        row["called_at"] = called
        events.append(
            _event("call", "waiting", "called", called, department, user=server, point_id=point_id)
        )
        if status == "no_show":
            recalled = called + _minutes(rng.uniform(2, 4))
            ended = recalled + _minutes(rng.uniform(2, 4))
            events.append(
                _event(
                    "recall",
                    "called",
                    "called",
                    recalled,
                    department,
                    user=server,
                    point_id=point_id,
                )
            )
            events.append(
                _event(
                    "no_show",
                    "called",
                    "no_show",
                    ended,
                    department,
                    user=server,
                    point_id=point_id,
                )
            )
            row.update(recall_count=1, ended_at=ended)
        else:
            started = called + _minutes(rng.uniform(0.5, 3))
            ended = started + _minutes(_service_minutes(rng, department))
            events.append(
                _event(
                    "start",
                    "called",
                    "in_service",
                    started,
                    department,
                    user=server,
                    point_id=point_id,
                )
            )
            row.update(started_at=started, ended_at=ended)
            if status == "completed":
                events.append(
                    _event(
                        "complete",
                        "in_service",
                        "completed",
                        ended,
                        department,
                        user=server,
                        point_id=point_id,
                    )
                )
            else:
                target = departments[rng.choice(targets)]
                events.append(
                    _event(
                        "transfer",
                        "in_service",
                        "transferred",
                        ended,
                        department,
                        user=server,
                        point_id=point_id,
                        reason=f"Sent on to {target.name}",
                    )
                )
                _plan_follow_up(rng, day, target, patient, ended, row, rota, counters, plan)
    row["updated_at"] = row["ended_at"]
    plan.tickets.append(row)
    plan.ticket_events.append(events)
    plan.ticket_appointment.append(appointment_index)


def _ticket_row(
    department: Department,
    day: date,
    patient: Patient,
    arrived: datetime,
    effective_at: datetime,
    counters: dict[tuple[int, date], int],
) -> dict[str, Any]:
    key = (department.id, day)
    counters[key] = sequence = counters.get(key, 0) + 1
    return {
        "department_id": department.id,
        "service_day": day,
        "sequence": sequence,
        "number": f"{department.code}-{sequence:03d}",
        "patient_id": patient.id,
        "priority": "routine",
        "queue_key": effective_at.timestamp(),
        "effective_at": effective_at,
        "checked_in_at": arrived,
        "called_at": None,
        "started_at": None,
        "ended_at": None,
        "skip_count": 0,
        "status_token": secrets.token_urlsafe(24),
        "transferred_from_id": None,
    }


def _plan_appointment(
    rng: random.Random,
    department: Department,
    patient: Patient,
    arrived: datetime,
    status: str,
    server: User | None,
    plan: _Plan,
) -> tuple[int | None, datetime]:
    """A booking the patient arrived a little early for; none if its slot is taken that day."""
    minutes = department.default_service_minutes
    local_arrival = clock.local(arrived)
    midnight = datetime.combine(local_arrival.date(), time.min, local_arrival.tzinfo)
    slots_before = (local_arrival - midnight) // timedelta(minutes=minutes)
    starts_at = clock.from_local(
        (midnight + timedelta(minutes=minutes * (slots_before + 1))).replace(tzinfo=None)
    )
    if starts_at is None or (department.id, starts_at) in plan.booked:
        return None, arrived
    plan.booked.add((department.id, starts_at))
    plan.appointments.append(
        {
            "patient_id": patient.id,
            "department_id": department.id,
            "clinician_id": server.id if server else None,
            "starts_at": starts_at,
            "duration_minutes": minutes,
            "ends_at": starts_at + timedelta(minutes=minutes),
            "reason": "Follow-up" if rng.random() < 0.6 else "New complaint",
            "status": status,  # completed, no_show or cancelled, as its ticket
            "cancel_reason": "Patient left before being called" if status == "cancelled" else None,
            "created_by_id": None,
            "created_at": starts_at - timedelta(days=rng.randint(1, 14)),
            "updated_at": starts_at,
        }
    )
    return len(plan.appointments) - 1, starts_at


def _plan_follow_up(
    rng: random.Random,
    day: date,
    target: Department,
    patient: Patient,
    arrived: datetime,
    source: dict[str, Any],
    rota: _Rota,
    counters: dict[tuple[int, date], int],
    plan: _Plan,
) -> None:
    """The ticket a transfer opens in ``target``, served to completion."""
    point_id = rng.choice(plan.points[target.id] or [None])
    server = rota.server(target, point_id)
    wait = min(60.0, max(2.0, rng.gauss(10, 4)))
    called = arrived + _minutes(wait)
    started = called + _minutes(rng.uniform(0.5, 3))
    ended = started + _minutes(_service_minutes(rng, target))
    row = _ticket_row(target, day, patient, arrived, arrived, counters)
    row.update(
        appointment_id=None,
        status="completed",
        service_point_id=point_id,
        clinician_id=server.id if server else None,
        called_at=called,
        started_at=started,
        ended_at=ended,
        updated_at=ended,
        recall_count=0,
        estimated_wait_at_check_in=_estimate(rng, wait),
        priority=source["priority"],
        status_token=source["status_token"],  # the patient keeps one ticket page
    )
    plan.follow_ups.append(row)
    plan.follow_up_source.append(len(plan.tickets))  # the source is appended next
    plan.follow_up_events.append(
        [
            _event(
                "check_in",
                None,
                "waiting",
                arrived,
                target,
                user=server,
                reason=f"Transferred from {source['number']}",
            ),
            _event("call", "waiting", "called", called, target, user=server, point_id=point_id),
            _event(
                "start", "called", "in_service", started, target, user=server, point_id=point_id
            ),
            _event(
                "complete", "in_service", "completed", ended, target, user=server, point_id=point_id
            ),
        ]
    )


# ------------------------------------------------------------------ writing


def _ids_by_key(rows: list[dict[str, Any]], found: Any, key: tuple[str, ...]) -> list[int]:
    """The ids of the inserted ``rows``, matched on ``key``, unique among them and ``found``.

    Found again after plain multi-row INSERTs: returning ids in row order would send one
    INSERT per row on SQLite. The inserts go through the tables, not the ORM's bulk insert,
    which splits the rows into a statement per run of rows with the same None columns.
    """
    ids = {tuple(values): row_id for row_id, *values in found}
    return [ids[tuple(row[name] for name in key)] for row in rows]


def _insert_tickets(rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    db.session.execute(insert(Ticket.__table__), rows)
    days = [row["service_day"] for row in rows]
    found = db.session.execute(
        select(Ticket.id, Ticket.department_id, Ticket.service_day, Ticket.sequence).where(
            Ticket.department_id.in_({row["department_id"] for row in rows}),
            Ticket.service_day >= min(days),
            Ticket.service_day <= max(days),
        )
    )
    return _ids_by_key(rows, found, ("department_id", "service_day", "sequence"))


def _insert_appointments(rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    db.session.execute(insert(Appointment.__table__), rows)
    starts = [row["starts_at"] for row in rows]
    found = db.session.execute(
        select(Appointment.id, Appointment.department_id, Appointment.starts_at).where(
            Appointment.department_id.in_({row["department_id"] for row in rows}),
            Appointment.starts_at >= min(starts),
            Appointment.starts_at <= max(starts),
        )
    )
    return _ids_by_key(rows, found, ("department_id", "starts_at"))


def _write(
    plan: _Plan,
    counters: dict[tuple[int, date], int],
    known_counters: set[tuple[int, date]],
) -> None:
    appointment_ids = _insert_appointments(plan.appointments)
    for row, index in zip(plan.tickets, plan.ticket_appointment, strict=True):
        row["appointment_id"] = None if index is None else appointment_ids[index]
    ticket_ids = _insert_tickets(plan.tickets)
    for row, source in zip(plan.follow_ups, plan.follow_up_source, strict=True):
        row["transferred_from_id"] = ticket_ids[source]
    follow_up_ids = _insert_tickets(plan.follow_ups)

    events = [
        {**event, "ticket_id": ticket_id}
        for ticket_id, ticket_events in zip(
            ticket_ids + follow_up_ids, plan.ticket_events + plan.follow_up_events, strict=True
        )
        for event in ticket_events
    ]
    db.session.execute(insert(QueueEvent.__table__), events)

    new_counters = [
        {"department_id": department_id, "service_day": day, "last_value": last}
        for (department_id, day), last in counters.items()
        if (department_id, day) not in known_counters
    ]
    raised = [
        {"department_id": department_id, "service_day": day, "last_value": last}
        for (department_id, day), last in counters.items()
        if (department_id, day) in known_counters
    ]
    if new_counters:
        db.session.execute(insert(TicketSequence.__table__), new_counters)
    if raised:
        db.session.execute(update(TicketSequence), raised)
