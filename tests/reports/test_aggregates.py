"""The reports' computing core: per-day aggregates from aggregate SQL, and the figures from them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from tests.conftest import running_app
from tests.factories import AppointmentFactory, DepartmentFactory, PatientFactory, UserFactory
from webapp import clock
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.queue.models import QueueEvent, Ticket
from webapp.reports.aggregates import (
    DayAggregate,
    clinician_names,
    day_aggregates,
    merge_all,
    metrics_from,
    nearest_rank,
    wait_distribution,
)

DAY = date(2026, 3, 10)
_numbers = itertools.count(1)


def at(hour: int, minute: int, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def make_ticket(
    department: Department,
    checked_in_at: datetime,
    status: str,
    *,
    calls: Sequence[tuple[str, datetime]] = (),
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    estimate: int | None = None,
    appointment: bool = False,
    clinician: User | None = None,
    priority: str = "routine",
) -> Ticket:
    """A ticket written straight to its table with hand-set timestamps, with its
    check-in event and the given ("call" | "recall", when) events."""
    n = next(_numbers)
    patient = PatientFactory()
    booking = AppointmentFactory(patient=patient, department=department) if appointment else None
    ticket = Ticket(
        department_id=department.id,
        service_day=clock.service_day(checked_in_at),
        sequence=n,
        number=f"T-{n:03d}",
        patient_id=patient.id,
        appointment_id=booking.id if booking else None,
        status=status,
        priority=priority,
        clinician_id=clinician.id if clinician else None,
        queue_key=checked_in_at.timestamp(),
        effective_at=checked_in_at,
        checked_in_at=checked_in_at,
        # As the queue does it: a recall overwrites called_at.
        called_at=calls[-1][1] if calls else None,
        recall_count=sum(1 for action, _ in calls if action == "recall"),
        started_at=started_at,
        ended_at=ended_at,
        status_token=f"token-{n}",
        estimated_wait_at_check_in=estimate,
    )
    db.session.add(ticket)
    db.session.flush()
    db.session.add(
        QueueEvent(
            ticket_id=ticket.id,
            department_id=department.id,
            action="check_in",
            to_status="waiting",
            created_at=checked_in_at,
        )
    )
    for action, moment in calls:
        db.session.add(
            QueueEvent(
                ticket_id=ticket.id,
                department_id=department.id,
                action=action,
                from_status="waiting" if action == "call" else "called",
                to_status="called",
                created_at=moment,
            )
        )
    db.session.flush()
    return ticket


def build_fixture_day() -> tuple[Department, User, User]:
    """Six tickets on DAY (UTC hospital zone), figures computed by hand:

    waits 10, 20, 5 (recalled later), 30, 45.5 → mean 22.1, median 20, p90 45;
    service 12, 8, 10 → mean 10.0; arrivals 2 at 08, 09 and 10;
    estimate errors 5, 10, 0, 9 → mean 6.0, 2 of 4 called within their estimate.
    """
    department = DepartmentFactory()
    alice = UserFactory(role="clinician", full_name="Alice Adams")
    bob = UserFactory(role="clinician", full_name="Bob Brown")
    make_ticket(
        department,
        at(8, 5),
        "completed",
        calls=[("call", at(8, 15))],
        started_at=at(8, 16),
        ended_at=at(8, 28),
        estimate=15,
        clinician=alice,
    )
    make_ticket(
        department,
        at(8, 20),
        "completed",
        calls=[("call", at(8, 40))],
        started_at=at(8, 41),
        ended_at=at(8, 49),
        estimate=10,
        appointment=True,
        clinician=alice,
    )
    make_ticket(
        department,
        at(9, 0),
        "completed",
        calls=[("call", at(9, 5)), ("recall", at(9, 30))],
        started_at=at(9, 31),
        ended_at=at(9, 41),
        estimate=5,
        clinician=bob,
    )
    make_ticket(department, at(9, 10), "no_show", calls=[("call", at(9, 40))], estimate=21)
    make_ticket(department, at(10, 0), "transferred", calls=[("call", at(10, 45, 30))])
    make_ticket(department, at(10, 30), "cancelled", estimate=10, appointment=True)
    # Neither the day before nor another department counts toward this department's day.
    make_ticket(department, at(9, 0, day=DAY - timedelta(days=1)), "cancelled")
    make_ticket(DepartmentFactory(), at(9, 0), "cancelled")
    db.session.commit()
    return department, alice, bob


def assert_fixture_figures(department: Department, alice: User, bob: User) -> None:
    aggregates = day_aggregates(DAY, DAY, department_id=department.id)
    assert list(aggregates) == [(department.id, DAY)]
    aggregate = aggregates[(department.id, DAY)]
    assert aggregate.wait_histogram == {"5": 1, "10": 1, "20": 1, "30": 1, "45": 1}
    assert aggregate.wait_count == 5
    assert aggregate.wait_sum_minutes == pytest.approx(110.5)
    assert aggregate.service_count == 3
    assert aggregate.service_sum_minutes == pytest.approx(30)
    assert aggregate.served_by_clinician == {alice.id: 2, bob.id: 1}
    assert aggregate.estimate_count == 4
    assert aggregate.estimate_abs_error_sum == pytest.approx(24)
    assert aggregate.called_within_estimate == 2

    names = clinician_names(aggregates.values())
    assert names == {alice.id: "Alice Adams", bob.id: "Bob Brown"}
    metrics = metrics_from(aggregate, names)
    hours = [0] * 24
    hours[8] = hours[9] = hours[10] = 2
    assert (
        metrics.tickets_issued,
        metrics.walk_ins,
        metrics.appointments,
        metrics.served,
        metrics.no_shows,
        metrics.cancelled,
        metrics.transferred,
    ) == (6, 4, 2, 3, 1, 1, 1)
    assert metrics.mean_wait_minutes == 22.1
    assert metrics.median_wait_minutes == 20
    assert metrics.p90_wait_minutes == 45
    assert metrics.mean_service_minutes == 10.0
    assert metrics.arrivals_by_hour == hours
    served_hours = [0] * 24
    served_hours[8], served_hours[9] = 2, 1  # visits ended 08:28, 08:49 and 09:41
    assert metrics.served_by_hour == served_hours
    assert metrics.wait_distribution == [
        ("0–9 min", 1),
        ("10–19 min", 1),
        ("20–29 min", 1),
        ("30–39 min", 1),
        ("40–49 min", 1),
        ("50–59 min", 0),
        ("60+ min", 0),
    ]
    assert metrics.served_by_clinician == [
        {"clinician_id": alice.id, "name": "Alice Adams", "served": 2},
        {"clinician_id": bob.id, "name": "Bob Brown", "served": 1},
    ]
    assert metrics.estimate_mean_abs_error_minutes == 6.0
    assert metrics.called_within_estimate_share == 0.5


def test_it_gives_the_hand_computed_figures_of_a_fixture_day(app: Flask) -> None:
    assert_fixture_figures(*build_fixture_day())


@pytest.mark.postgres
def test_it_gives_the_same_figures_on_postgresql(pg_app: Flask) -> None:
    assert_fixture_figures(*build_fixture_day())


def test_it_counts_the_wait_to_the_first_call_whatever_the_recalls(app: Flask) -> None:
    department = DepartmentFactory()
    plain = make_ticket(department, at(8, 0), "called", calls=[("call", at(8, 7))])
    recalled = make_ticket(
        department,
        at(9, 0),
        "called",
        calls=[("call", at(9, 7)), ("recall", at(9, 30)), ("recall", at(9, 50))],
    )
    db.session.commit()
    assert recalled.called_at == at(9, 50)  # what a wait read from the ticket would use

    aggregate = day_aggregates(DAY, DAY)[(department.id, DAY)]

    assert plain.called_at == at(8, 7)
    assert aggregate.wait_histogram == {"7": 2}
    assert aggregate.wait_sum_minutes == pytest.approx(14)


def test_it_reports_no_figure_where_there_is_no_data(app: Flask) -> None:
    department = DepartmentFactory()
    make_ticket(department, at(8, 0), "waiting")
    db.session.commit()

    metrics = metrics_from(day_aggregates(DAY, DAY)[(department.id, DAY)], {})

    assert metrics.tickets_issued == 1
    assert metrics.mean_wait_minutes is None
    assert metrics.median_wait_minutes is None
    assert metrics.p90_wait_minutes is None
    assert metrics.mean_service_minutes is None
    assert metrics.estimate_mean_abs_error_minutes is None
    assert metrics.called_within_estimate_share is None
    assert metrics.served_by_clinician == []
    assert clinician_names([DayAggregate()]) == {}
    assert day_aggregates(DAY + timedelta(days=1), DAY + timedelta(days=2)) == {}


def test_it_takes_percentiles_by_nearest_rank_at_minute_resolution() -> None:
    assert nearest_rank({}, 50) is None
    assert nearest_rank({"4": 1}, 90) == 4
    # 1..10: median rank ceil(5) = 5 → 5; p90 rank ceil(9) = 9 → 9
    assert nearest_rank({str(m): 1 for m in range(1, 11)}, 50) == 5
    assert nearest_rank({str(m): 1 for m in range(1, 11)}, 90) == 9
    # keys sort as numbers, not text
    assert nearest_rank({"10": 1, "9": 1, "100": 1}, 50) == 10


def test_it_bands_the_wait_distribution_by_ten_minutes_up_to_an_hour() -> None:
    bands = wait_distribution({"0": 2, "9": 1, "10": 4, "59": 1, "60": 3, "185": 2})

    assert bands == [
        ("0–9 min", 3),
        ("10–19 min", 4),
        ("20–29 min", 0),
        ("30–39 min", 0),
        ("40–49 min", 0),
        ("50–59 min", 1),
        ("60+ min", 5),
    ]
    assert [count for _band, count in wait_distribution({})] == [0] * 7


@pytest.fixture
def new_york_app() -> Iterator[Flask]:
    yield from running_app(HOSPITAL_TIMEZONE="America/New_York")


def test_it_puts_a_visit_across_midnight_on_the_hospital_day_and_hour(
    new_york_app: Flask,
) -> None:
    assert_new_york_night()


@pytest.mark.postgres
def test_it_puts_arrivals_on_the_hospital_hour_on_postgresql(pg_app: Flask) -> None:
    # The hospital's zone is read when used, so setting it here is as good as at start-up.
    pg_app.config["HOSPITAL_TIMEZONE"] = "America/New_York"
    assert_new_york_night()


def assert_new_york_night() -> None:
    department = DepartmentFactory()
    # 23:50 on 7 March in New York (EST, UTC-5) is 04:50 UTC on the 8th; called 20 minutes later.
    make_ticket(
        department,
        datetime(2026, 3, 8, 4, 50, tzinfo=UTC),
        "completed",
        calls=[("call", datetime(2026, 3, 8, 5, 10, tzinfo=UTC))],
        # Seen 00:12–00:30 local on the 8th: served in hour 00 of the 7th's service day.
        started_at=datetime(2026, 3, 8, 5, 12, tzinfo=UTC),
        ended_at=datetime(2026, 3, 8, 5, 30, tzinfo=UTC),
    )
    # The clocks go forward on 8 March: 01:30 EST is 06:30 UTC, 03:30 EDT is 07:30 UTC.
    make_ticket(department, datetime(2026, 3, 8, 6, 30, tzinfo=UTC), "cancelled")
    make_ticket(department, datetime(2026, 3, 8, 7, 30, tzinfo=UTC), "cancelled")
    db.session.commit()

    aggregates = day_aggregates(date(2026, 3, 7), date(2026, 3, 8))

    evening = aggregates[(department.id, date(2026, 3, 7))]
    assert evening.tickets_issued == 1
    assert evening.arrivals_by_hour[23] == 1
    assert sum(evening.arrivals_by_hour) == 1
    assert evening.wait_histogram == {"20": 1}
    assert evening.served_by_hour[0] == 1
    assert sum(evening.served_by_hour) == 1
    night = aggregates[(department.id, date(2026, 3, 8))]
    assert night.arrivals_by_hour[1] == 1
    assert night.arrivals_by_hour[3] == 1
    assert sum(night.arrivals_by_hour) == 2


def _sample(seed: int) -> DayAggregate:
    hours = [0] * 24
    hours[seed % 24] = seed
    return DayAggregate(
        tickets_issued=seed,
        walk_ins=seed,
        served=seed,
        wait_count=2,
        wait_sum_minutes=seed * 1.5,
        wait_histogram={str(seed): 1, "3": 1},
        service_count=1,
        service_sum_minutes=seed,
        arrivals_by_hour=hours,
        served_by_hour=list(reversed(hours)),
        served_by_clinician={seed: 1, 99: 2},
        estimate_count=1,
        estimate_abs_error_sum=seed,
        called_within_estimate=1,
    )


def test_it_merges_by_adding_everything_associatively() -> None:
    a, b, c = _sample(2), _sample(3), _sample(9)

    assert (a + b) + c == a + (b + c) == merge_all([a, b, c])
    total = merge_all([a, b, c])
    assert total.tickets_issued == 14
    assert total.wait_count == 6
    assert total.wait_sum_minutes == pytest.approx(21)
    assert total.wait_histogram == {"2": 1, "3": 3, "9": 1}
    assert total.served_by_clinician == {2: 1, 3: 1, 9: 1, 99: 6}
    assert total.arrivals_by_hour[2] == 2 and total.arrivals_by_hour[3] == 3
    assert total.arrivals_by_hour[9] == 9
    assert total.estimate_count == 3 and total.called_within_estimate == 3
    assert merge_all([]) == DayAggregate()
    assert a == _sample(2)  # merging leaves its inputs alone


def _queries_for(first_day: date, last_day: date) -> int:
    """How many SELECTs computing the aggregates runs (not the transaction's BEGIN)."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        day_aggregates(first_day, last_day)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return sum(1 for statement in statements if statement.lstrip().upper().startswith("SELECT"))


def test_it_runs_a_fixed_number_of_queries_however_many_tickets(app: Flask) -> None:
    department = DepartmentFactory()
    clinician = UserFactory(role="clinician")

    def add(tickets: int) -> None:
        for i in range(tickets):
            start = at(8, 0) + timedelta(minutes=7 * i)
            make_ticket(
                department,
                start,
                "completed",
                calls=[("call", start + timedelta(minutes=i % 13))],
                started_at=start + timedelta(minutes=15),
                ended_at=start + timedelta(minutes=25),
                estimate=i % 9,
                clinician=clinician,
            )
        db.session.commit()

    add(3)
    few = _queries_for(DAY, DAY)
    add(60)
    many = _queries_for(DAY, DAY)

    assert few == many == 5
    assert day_aggregates(DAY, DAY)[(department.id, DAY)].tickets_issued == 63
