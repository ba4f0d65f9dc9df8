"""seed-demo's four weeks of finished history (webapp/demo_history.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import Result
from flask import Flask
from sqlalchemy import event, func, select

from webapp.appointments.models import Appointment
from webapp.auth.models import User
from webapp.auth.services import password_matches
from webapp.commands import DEMO_USERS, HISTORY_STAFF
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.patients.models import Patient
from webapp.queue.models import QueueEvent, Ticket, TicketSequence
from webapp.queue.moves import check_in

LONDON = ZoneInfo("Europe/London")
# A Tuesday well away from the clock changes; the history covers the 28 days before it.
TRIAL_DAY = date(2026, 3, 10)
FIRST_DAY = TRIAL_DAY - timedelta(days=28)
DAY_BOUNDS = {"GM": (18, 28), "PED": (12, 20), "LAB": (22, 32), "PH": (24, 34)}

# The event actions each final status implies, in order.
LIVES = {
    "completed": ["check_in", "call", "start", "complete"],
    "no_show": ["check_in", "call", "recall", "no_show"],
    "cancelled": ["check_in", "cancel"],
    "transferred": ["check_in", "call", "start", "transfer"],
}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "Europe/London"}


def _at(hour: int, minute: int = 0, day: date = TRIAL_DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON)


def _seed(app: Flask, *args: str, moment: datetime | None = None) -> Result:
    with time_machine.travel(moment or _at(10), tick=False):
        result = app.test_cli_runner().invoke(args=["seed-demo", "--no-logins", *args])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@contextmanager
def _inserts(app: Flask) -> Iterator[Counter[str]]:
    """Counts the INSERT statements sent to the database, by table."""
    counts: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO"):
            counts[statement.split()[2].strip('"')] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_it_writes_a_plausible_number_of_tickets_per_department_and_day(app: Flask) -> None:
    result = _seed(app)

    per_day = Counter(
        db.session.execute(
            select(Department.code, Ticket.service_day)
            .join(Department, Ticket.department_id == Department.id)
            .where(Ticket.transferred_from_id.is_(None))
        ).tuples()
    )
    days = [FIRST_DAY + timedelta(days=n) for n in range(28)]
    for code, (low, high) in DAY_BOUNDS.items():
        for day in days:
            assert low <= per_day[(code, day)] <= high, (code, day)
    assert {day for _, day in per_day} == set(days)
    assert f"{_count(Ticket)} past tickets" in result.output
    assert db.session.scalar(select(func.count()).where(Ticket.status == "no_show")) > 0
    assert db.session.scalar(select(func.count()).where(Ticket.status == "cancelled")) > 0
    assert db.session.scalar(select(func.count()).where(Ticket.status == "transferred")) > 0
    priorities = Counter(db.session.scalars(select(Ticket.priority)))
    assert set(priorities) <= {"routine", "priority", "urgent"}
    assert priorities["routine"] > 0.8 * _count(Ticket)
    booked = db.session.scalars(select(Appointment).where(Appointment.starts_at < _at(0))).all()
    assert booked
    assert {a.status for a in booked} <= {"completed", "no_show", "cancelled"}


def test_it_gives_each_ticket_the_events_its_status_implies_in_order(app: Flask) -> None:
    _seed(app)

    events: dict[int, list[QueueEvent]] = defaultdict(list)
    for queue_event in db.session.scalars(
        select(QueueEvent).order_by(QueueEvent.ticket_id, QueueEvent.created_at, QueueEvent.id)
    ):
        events[queue_event.ticket_id].append(queue_event)
    tickets = db.session.scalars(select(Ticket)).all()
    assert len(events) == len(tickets)
    for ticket in tickets:
        life = events[ticket.id]
        assert [e.action for e in life] == LIVES[ticket.status], ticket.number
        assert life[-1].to_status == ticket.status
        assert all(e.department_id == ticket.department_id for e in life)
        moments = [e.created_at for e in life]
        assert moments == sorted(moments)
        assert life[0].created_at == ticket.checked_in_at
        assert life[-1].created_at == ticket.ended_at
        if ticket.status != "cancelled":
            assert ticket.called_at == life[1].created_at
            assert ticket.checked_in_at <= ticket.called_at <= ticket.ended_at
            assert ticket.service_point_id is not None
            wait = (ticket.called_at - ticket.checked_in_at).total_seconds() / 60
            assert 2 <= wait <= 60
        if ticket.started_at is not None:
            assert ticket.called_at <= ticket.started_at <= ticket.ended_at
        assert ticket.service_day == ticket.checked_in_at.astimezone(LONDON).date()
        assert ticket.estimated_wait_at_check_in is not None
        if ticket.appointment_id is not None:
            assert ticket.appointment is not None
            assert ticket.appointment.status == ticket.status


def test_it_opens_a_completed_follow_up_ticket_for_each_transfer(app: Flask) -> None:
    _seed(app)

    transferred = db.session.scalars(select(Ticket).where(Ticket.status == "transferred")).all()
    assert transferred
    for ticket in transferred:
        follow_up = db.session.scalar(select(Ticket).where(Ticket.transferred_from_id == ticket.id))
        assert follow_up is not None
        assert follow_up.department_id != ticket.department_id
        assert follow_up.status == "completed"
        assert follow_up.status_token == ticket.status_token
        assert follow_up.priority == ticket.priority
        assert follow_up.checked_in_at == ticket.ended_at
        assert follow_up.service_day == ticket.service_day


def _served() -> list[tuple[str, date, int | None, int | None, str | None]]:
    """Each called ticket's (department code, day, service point, clinician id, role)."""
    return list(
        db.session.execute(
            select(
                Department.code,
                Ticket.service_day,
                Ticket.service_point_id,
                Ticket.clinician_id,
                User.role,
            )
            .join(Department, Ticket.department_id == Department.id)
            .outerjoin(User, Ticket.clinician_id == User.id)
            .where(Ticket.called_at.is_not(None))
        ).tuples()
    )


def test_it_has_every_departments_patients_served_by_clinicians(app: Flask) -> None:
    _seed(app)
    demo_clinician = db.session.scalar(select(User.id).where(User.username == "clinician"))

    served = _served()
    assert {code for code, *_ in served} == set(DAY_BOUNDS)
    assert all(role == "clinician" for *_, role in served)
    completed = Counter(
        db.session.execute(
            select(Department.code, Ticket.clinician_id)
            .join(Department, Ticket.department_id == Department.id)
            .where(Ticket.status == "completed")
        ).tuples()
    )
    by_department: dict[str, set[int | None]] = defaultdict(set)
    for code, clinician_id in completed:
        by_department[code].add(clinician_id)
    for code in DAY_BOUNDS:
        assert None not in by_department[code], code
        assert len(by_department[code]) >= 2, code
    assert len(by_department["GM"]) >= 3
    assert demo_clinician in by_department["GM"] & by_department["PED"]
    # Uneven, as real workloads are: the busiest clinician serves far more than the quietest.
    totals = Counter[int | None]()
    for (_, clinician_id), count in completed.items():
        totals[clinician_id] += count
    assert max(totals.values()) > 1.5 * min(totals.values())


def test_it_puts_each_clinician_in_one_department_a_day(app: Flask) -> None:
    _seed(app)

    departments: dict[tuple[int | None, date], set[str]] = defaultdict(set)
    for code, day, _, clinician_id, _ in _served():
        departments[(clinician_id, day)].add(code)

    assert all(len(codes) == 1 for codes in departments.values())
    # Only the demo clinician works in more than one department (on different days).
    homes: dict[int | None, set[str]] = defaultdict(set)
    for (clinician_id, _), codes in departments.items():
        homes[clinician_id] |= codes
    several = [clinician_id for clinician_id, codes in homes.items() if len(codes) > 1]
    usernames = db.session.scalars(select(User.username).where(User.id.in_(several))).all()
    assert usernames == ["clinician"]


def test_it_mostly_staffs_each_service_point_with_one_clinician_a_day(app: Flask) -> None:
    _seed(app)

    at_point: dict[tuple[int | None, date], Counter[int | None]] = defaultdict(Counter)
    for _, day, point_id, clinician_id, _ in _served():
        at_point[(point_id, day)][clinician_id] += 1

    regular = sum(counts.most_common(1)[0][1] for counts in at_point.values())
    total = sum(sum(counts.values()) for counts in at_point.values())
    assert 0.8 * total <= regular < total  # now and then a colleague covers


def test_it_serves_about_each_departments_usual_time(app: Flask) -> None:
    _seed(app)

    for department in db.session.scalars(select(Department)):
        minutes = [
            (t.ended_at - t.started_at).total_seconds() / 60
            for t in db.session.scalars(
                select(Ticket).where(
                    Ticket.department_id == department.id, Ticket.status == "completed"
                )
            )
        ]
        mean = sum(minutes) / len(minutes)
        usual = department.default_service_minutes
        assert 0.8 * usual <= mean <= 1.2 * usual, department.code


def test_it_makes_the_morning_busier_than_the_afternoon(app: Flask) -> None:
    _seed(app)

    hours = Counter(
        t.astimezone(LONDON).hour for t in db.session.scalars(select(Ticket.checked_in_at))
    )
    morning = sum(hours[h] for h in range(8, 12))
    afternoon = sum(hours[h] for h in range(14, 18))
    assert morning > 2 * afternoon
    assert set(hours) <= set(range(7, 23))


def test_it_adds_no_second_history_when_run_again(app: Flask) -> None:
    _seed(app)
    counts = (
        _count(Ticket),
        _count(QueueEvent),
        _count(Appointment),
        _count(TicketSequence),
        _count(User),
    )

    result = _seed(app, moment=_at(11))

    assert "0 users" in result.output
    assert "0 past tickets" in result.output
    assert (
        _count(Ticket),
        _count(QueueEvent),
        _count(Appointment),
        _count(TicketSequence),
        _count(User),
    ) == counts


def test_it_prints_no_login_for_the_history_staff(app: Flask) -> None:
    with time_machine.travel(_at(10), tick=False):
        result = app.test_cli_runner().invoke(args=["seed-demo"])

    assert result.exit_code == 0, result.output
    listed = result.output.split("Demo logins (username / password):\n")[1]
    logins = [line for line in listed.splitlines() if line.startswith("  ")]
    assert [line.split()[1] for line in logins] == [username for username, *_ in DEMO_USERS]
    published = [password for *_, password in DEMO_USERS]
    for username, full_name, _ in HISTORY_STAFF:
        assert username not in result.output
        assert full_name not in result.output
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        assert (user.role, user.active) == ("clinician", True)
        # Nobody signs in as them with a password anyone was shown.
        assert not any(password_matches(p, user.password_hash) for p in published)


def test_it_is_the_same_history_on_every_run(app: Flask) -> None:
    _seed(app)
    columns = (
        Ticket.number,
        Ticket.service_day,
        Ticket.status,
        Ticket.checked_in_at,
        Ticket.service_point_id,
        Ticket.clinician_id,
    )
    first = sorted(db.session.execute(select(*columns)).tuples(), key=repr)
    db.session.execute(QueueEvent.__table__.delete())
    db.session.execute(Ticket.__table__.delete().where(Ticket.transferred_from_id.is_not(None)))
    db.session.execute(Ticket.__table__.delete())
    db.session.execute(TicketSequence.__table__.delete())
    db.session.execute(Appointment.__table__.delete().where(Appointment.starts_at < _at(0)))
    db.session.commit()

    _seed(app)

    again = sorted(db.session.execute(select(*columns)).tuples(), key=repr)
    assert again == first


def test_it_fills_only_the_days_without_tickets(app: Flask) -> None:
    _seed(app, moment=_at(10, day=TRIAL_DAY - timedelta(days=2)))
    before = _count(Ticket)

    result = _seed(app)

    # Only the first run's today and the day after it had no history yet.
    new_days = set(
        db.session.scalars(
            select(Ticket.service_day).where(Ticket.service_day >= TRIAL_DAY - timedelta(days=2))
        )
    )
    assert new_days == {TRIAL_DAY - timedelta(days=2), TRIAL_DAY - timedelta(days=1)}
    assert _count(Ticket) > before
    assert f"{_count(Ticket) - before} past tickets" in result.output


def test_it_lets_a_live_check_in_follow_the_history(app: Flask) -> None:
    _seed(app)
    gm = db.session.scalar(select(Department).where(Department.code == "GM"))
    receptionist = db.session.scalar(select(User).where(User.username == "reception"))
    patient = db.session.scalar(select(Patient).where(Patient.mrn == "DEMO0001"))
    assert gm is not None and receptionist is not None and patient is not None
    yesterday = TRIAL_DAY - timedelta(days=1)
    last = db.session.scalar(
        select(func.max(Ticket.sequence)).where(
            Ticket.department_id == gm.id, Ticket.service_day == yesterday
        )
    )

    with time_machine.travel(_at(10), tick=False):
        today = check_in(actor=receptionist, patient_id=patient.id, department_id=gm.id)
        db.session.commit()
    # Back on a day the history filled, the counter continues after its numbers.
    with time_machine.travel(_at(20, day=yesterday), tick=False):
        late = check_in(
            actor=receptionist,
            patient_id=db.session.scalars(select(Patient.id).limit(2)).all()[1],
            department_id=gm.id,
        )
        db.session.commit()

    assert today.service_day == TRIAL_DAY
    assert late.service_day == yesterday
    assert late.sequence == last + 1


def test_it_texts_nobody_about_the_history(app: Flask) -> None:
    _seed(app)

    assert _count(Ticket) > 0
    assert any(p.sms_opt_in and p.phone for p in db.session.scalars(select(Patient)))
    assert _count(Notification) == 0


def test_it_writes_the_history_with_a_few_inserts_per_table(app: Flask) -> None:
    _seed(app, "--no-history")

    with _inserts(app) as counts:
        _seed(app, moment=_at(10, 5))

    assert _count(QueueEvent) > 1000
    # Multi-row INSERTs: a handful per table, however many rows.
    assert counts["tickets"] <= 6
    assert counts["queue_events"] <= 12
    assert counts["appointments"] <= 3
    assert counts["ticket_sequences"] <= 2


def test_it_adds_nothing_without_history(app: Flask) -> None:
    _seed(app, "--no-history")

    assert _count(Ticket) == 0
    assert _count(QueueEvent) == 0
    # The history's staff come with the history.
    assert sorted(db.session.scalars(select(User.username))) == sorted(
        username for username, *_ in DEMO_USERS
    )


@pytest.mark.postgres
def test_it_writes_the_history_on_postgresql(pg_app: Flask) -> None:
    with time_machine.travel(_at(10), tick=False):
        result = pg_app.test_cli_runner().invoke(args=["seed-demo", "--no-logins"])
        again = pg_app.test_cli_runner().invoke(args=["seed-demo", "--no-logins"])

    assert result.exit_code == 0, result.output
    assert again.exit_code == 0, again.output
    assert "0 past tickets" in again.output
    tickets = _count(Ticket)
    assert tickets > 28 * 4 * 10
    assert f"{tickets} past tickets" in result.output
    assert _count(QueueEvent) > 3 * tickets
    assert _count(Notification) == 0
