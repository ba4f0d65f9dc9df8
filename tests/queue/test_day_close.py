"""The end-of-day close (webapp/queue/day_close.py) and its periodic task.

After the department's last opening hour (or DAY_CLOSE_TIME when open at all hours) the day's
booked appointments become no-shows, waiting and called tickets are cancelled and in-service
ones completed, each with the reason "closed at end of day" in its QueueEvent; a second run
changes nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    ServicePointFactory,
    walk_in,
)
from webapp import tasks
from webapp.appointments.models import Appointment
from webapp.audit.models import AuditLog
from webapp.config import ConfigError, load_config
from webapp.extensions import db
from webapp.queue import day_close, moves
from webapp.queue import tasks as queue_tasks
from webapp.queue.models import QueueEvent, Ticket

MONDAY = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)  # the hospital's zone is UTC in tests
HOURS = {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "tue": [["08:00", "17:00"]]}
REASON = "closed at end of day"


@pytest.fixture
def clock(app: Any, time_machine: Any) -> Any:
    time_machine.move_to(MONDAY, tick=False)
    return time_machine


@pytest.fixture
def gm(app: Any, clock: Any) -> Iterator[Any]:
    department = DepartmentFactory(code="GM", opening_hours=HOURS)
    db.session.commit()
    yield department
    # SQLite's DROP TABLE deletes row by row and would trip transferred_from_id's RESTRICT key.
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return MONDAY.replace(hour=hour, minute=minute) + timedelta(days=days)


def to_status(ticket: Ticket, *statuses: str, point: Any = None) -> Ticket:
    for status in statuses:
        moves.transition_ticket(
            ticket.id, status=status, actor=None, service_point_id=point.id if point else None
        )
    db.session.commit()
    return ticket


def events_of(ticket: Ticket) -> list[tuple[str, str | None, str, int | None, str | None]]:
    return [
        (e.action, e.from_status, e.to_status, e.user_id, e.reason)
        for e in db.session.scalars(
            select(QueueEvent).where(QueueEvent.ticket_id == ticket.id).order_by(QueueEvent.id)
        )
    ]


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(QueueEvent)) or 0


def refreshed(*rows: Any) -> list[str]:
    for row in rows:
        db.session.refresh(row)
    return [row.status for row in rows]


@pytest.fixture
def day(gm: Any) -> dict[str, Any]:
    """A Monday in General Medicine, as it stands at 16:30."""
    room1, room2 = ServicePointFactory(department=gm), ServicePointFactory(department=gm)
    never_came = AppointmentFactory(department=gm, starts_at=at(15, 0))
    tomorrow = AppointmentFactory(department=gm, starts_at=at(9, 0, days=1))
    waiting_booking = AppointmentFactory(department=gm, starts_at=at(16, 0))
    serving_booking = AppointmentFactory(department=gm, starts_at=at(14, 0))
    db.session.commit()
    done = to_status(walk_in(gm), "called", "in_service", "completed", point=room1)
    serving = to_status(
        moves.check_in(actor=None, appointment_id=serving_booking.id),
        "called",
        "in_service",
        point=room1,
    )
    called = to_status(walk_in(gm), "called", point=room2)
    waiting = walk_in(gm)
    booked_waiting = moves.check_in(actor=None, appointment_id=waiting_booking.id)
    db.session.commit()
    return {
        "never_came": never_came,
        "tomorrow": tomorrow,
        "waiting_booking": waiting_booking,
        "serving_booking": serving_booking,
        "done": done,
        "serving": serving,
        "called": called,
        "waiting": waiting,
        "booked_waiting": booked_waiting,
    }


# ------------------------------------------------------------------ the close


def test_nothing_closes_before_the_last_opening_hour(day: dict[str, Any], gm: Any) -> None:
    before = event_count()
    assert day_close.close_day(gm, MONDAY.date(), at(16, 59)).changed == 0
    assert refreshed(day["waiting"], day["called"], day["serving"], day["never_came"]) == [
        "waiting",
        "called",
        "in_service",
        "booked",
    ]
    assert event_count() == before


def test_it_closes_the_day_with_an_event_per_change(day: dict[str, Any], gm: Any) -> None:
    done_events = events_of(day["done"])

    closed = day_close.close_day(gm, MONDAY.date(), at(17, 0))
    db.session.commit()

    assert closed == day_close.DayClosed(
        no_show_appointments=1, cancelled_tickets=3, completed_tickets=1
    )
    assert refreshed(
        day["waiting"], day["booked_waiting"], day["called"], day["serving"], day["done"]
    ) == ["cancelled", "cancelled", "cancelled", "completed", "completed"]
    assert refreshed(
        day["never_came"], day["waiting_booking"], day["serving_booking"], day["tomorrow"]
    ) == ["no_show", "cancelled", "completed", "booked"]
    # Each change is the system's (no user) and says why.
    assert events_of(day["waiting"])[-1] == ("cancel", "waiting", "cancelled", None, REASON)
    assert events_of(day["serving"])[-1] == ("complete", "in_service", "completed", None, REASON)
    # A called patient goes back to the queue, then is cancelled: not counted as a no-show.
    assert events_of(day["called"])[-2:] == [
        ("return_to_queue", "called", "waiting", None, REASON),
        ("cancel", "waiting", "cancelled", None, REASON),
    ]
    assert events_of(day["done"]) == done_events
    # The room is free again for tomorrow.
    assert day["called"].service_point_id is None
    audit = db.session.scalar(
        select(AuditLog).where(
            AuditLog.action == "appointment.no_show", AuditLog.entity_id == day["never_came"].id
        )
    )
    assert audit is not None and audit.user_id is None and REASON in audit.summary


def test_running_it_twice_changes_nothing_more(day: dict[str, Any], gm: Any, clock: Any) -> None:
    day_close.close_day(gm, MONDAY.date(), at(17, 0))
    db.session.commit()
    events = event_count()
    statuses = refreshed(*day.values())

    clock.move_to(at(17, 5), tick=False)
    again = day_close.close_day(gm, MONDAY.date(), at(17, 5))
    db.session.commit()

    assert again.changed == 0
    assert event_count() == events
    assert refreshed(*day.values()) == statuses


def test_a_check_in_after_the_close_waits_until_midnight(gm: Any, clock: Any) -> None:
    """Check-in is always allowed: a 17:30 walk-in is not cancelled at the 17:35 run; once the
    day is over, the run for yesterday closes it."""
    clock.move_to(at(17, 30), tick=False)
    evening = walk_in(gm)
    assert day_close.close_due_days(at(17, 35)).changed == 0
    assert refreshed(evening) == ["waiting"]

    clock.move_to(at(0, 5, days=1), tick=False)
    closed = day_close.close_due_days(at(0, 5, days=1))
    db.session.commit()

    assert closed.cancelled_tickets == 1
    assert refreshed(evening) == ["cancelled"]
    assert events_of(evening)[-1] == ("cancel", "waiting", "cancelled", None, REASON)


def test_other_departments_and_days_are_left_alone(day: dict[str, Any], gm: Any) -> None:
    lab = DepartmentFactory(code="LAB", opening_hours=None)  # open at all hours: 23:30
    db.session.commit()
    lab_ticket = walk_in(lab)
    day_close.close_due_days(at(17, 0))
    db.session.commit()
    assert refreshed(lab_ticket, day["waiting"], day["tomorrow"]) == [
        "waiting",
        "cancelled",
        "booked",
    ]


# ---------------------------------------------------------- when a day closes


@pytest.mark.parametrize(
    ("hours", "weekday_offset", "expected"),
    [
        (HOURS, 0, (17, 0, 0)),  # Monday: the end of the last interval
        (HOURS, 1, (17, 0, 0)),
        ({"mon": [["20:00", "24:00"]]}, 0, (0, 0, 1)),  # midnight
        (None, 0, (23, 30, 0)),  # open at all hours: DAY_CLOSE_TIME
        (HOURS, 6, (23, 30, 0)),  # closed on Sunday: DAY_CLOSE_TIME as well
    ],
)
def test_the_close_moment(
    app: Any, hours: Any, weekday_offset: int, expected: tuple[int, int, int]
) -> None:
    department = DepartmentFactory(opening_hours=hours)
    day = MONDAY.date() + timedelta(days=weekday_offset)
    hour, minute, days_later = expected
    assert day_close.close_moment(department, day) == datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=UTC
    ) + timedelta(days=days_later)


def test_an_all_hours_department_closes_at_day_close_time(app: Any, clock: Any) -> None:
    app.config["DAY_CLOSE_TIME"] = "20:15"
    ed = DepartmentFactory(code="ED", opening_hours=None)
    db.session.commit()
    ticket = walk_in(ed)
    assert day_close.close_due_days(at(20, 14)).changed == 0
    assert day_close.close_due_days(at(20, 15)).cancelled_tickets == 1
    assert refreshed(ticket) == ["cancelled"]


def test_the_close_follows_the_hospital_time_zone(app: Any, clock: Any) -> None:
    app.config["HOSPITAL_TIMEZONE"] = "America/New_York"  # UTC-4 on 10 March 2025
    ed = DepartmentFactory(code="ED", opening_hours=None)
    db.session.commit()
    ticket = walk_in(ed)  # 05:00 in New York
    day = ticket.service_day
    assert day_close.close_day(ed, day, datetime(2025, 3, 11, 3, 29, tzinfo=UTC)).changed == 0
    assert day_close.close_day(ed, day, datetime(2025, 3, 11, 3, 30, tzinfo=UTC)).changed == 1


@pytest.mark.parametrize("value", ["25:00", "7pm", "23:60", "2330", " "])
def test_day_close_time_is_validated(value: str) -> None:
    env = {"APP_ENV": "development", "SECRET_KEY": "x" * 32, "DAY_CLOSE_TIME": value}
    if not value.strip():
        assert load_config(env)["DAY_CLOSE_TIME"] == "23:30"
        return
    with pytest.raises(ConfigError) as caught:
        load_config(env)
    assert caught.value.variable == "DAY_CLOSE_TIME"


# ------------------------------------------------------------------ the task


def test_the_task_runs_every_five_minutes() -> None:
    def names(minute: int) -> list[str]:
        return [task.name for task in tasks.huey.read_periodic(at(17, minute))]

    assert "close_finished_days" in names(5)
    assert "close_finished_days" not in names(7)


def test_the_task_closes_every_department_due(day: dict[str, Any], gm: Any, clock: Any) -> None:
    """Huey runs the periodic task in-process in tests (immediate mode)."""
    assert tasks.huey.immediate
    clock.move_to(at(16, 55), tick=False)
    events = event_count()
    queue_tasks.close_finished_days()
    assert event_count() == events
    assert refreshed(day["waiting"]) == ["waiting"]

    clock.move_to(at(17, 0), tick=False)
    queue_tasks.close_finished_days()

    assert refreshed(day["waiting"], day["called"], day["serving"], day["never_came"]) == [
        "cancelled",
        "cancelled",
        "completed",
        "no_show",
    ]
    events = event_count()
    clock.move_to(at(17, 5), tick=False)
    queue_tasks.close_finished_days()
    assert event_count() == events
    booked = select(func.count()).select_from(Appointment).where(Appointment.status == "booked")
    assert db.session.scalar(booked) == 1  # tomorrow's


def test_the_close_on_postgresql(pg_app: Any, time_machine: Any) -> None:
    """The same close on PostgreSQL (row locks, timestamptz bounds), run twice."""
    time_machine.move_to(MONDAY, tick=False)
    gm = DepartmentFactory(code="GM", opening_hours=HOURS)
    room = ServicePointFactory(department=gm)
    never_came = AppointmentFactory(department=gm, starts_at=at(15, 0))
    tomorrow = AppointmentFactory(department=gm, starts_at=at(9, 0, days=1))
    db.session.commit()
    called = to_status(walk_in(gm), "called", point=room)
    waiting = walk_in(gm)

    first = day_close.close_day(gm, MONDAY.date(), at(17, 0))
    db.session.commit()
    events = event_count()
    second = day_close.close_day(gm, MONDAY.date(), at(17, 5))
    db.session.commit()

    assert (first.changed, second.changed) == (3, 0)
    assert event_count() == events
    assert refreshed(called, waiting, never_came, tomorrow) == [
        "cancelled",
        "cancelled",
        "no_show",
        "booked",
    ]
    assert events_of(waiting)[-1] == ("cancel", "waiting", "cancelled", None, REASON)
