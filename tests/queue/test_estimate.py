"""The wait estimate (DOMAIN.md): ceil(ahead × the typical visit ÷ active service points).

The typical visit is the median of today's last 20 completed visits, kept between half and
three times the department's default; the default until 3 visits are done.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import (
    DepartmentFactory,
    ServicePointFactory,
    UserFactory,
    walk_in,
)
from webapp.clock import service_day
from webapp.extensions import db
from webapp.queue import moves
from webapp.queue import state as reads
from webapp.queue.models import Ticket

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine: Any) -> Any:
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.fixture
def gm(app: Any, clock: Any) -> Any:
    department = DepartmentFactory(code="GM", default_service_minutes=10)
    db.session.commit()
    return department


def serve(department: Any, clock: Any, minutes: float, point: Any = None) -> Ticket:
    """Check in, call (by no one, so nobody signs in), start, and complete after ``minutes``."""
    point = point or ServicePointFactory(department=department)
    ticket = walk_in(department)
    moves.transition_ticket(ticket.id, status="called", actor=None, service_point_id=point.id)
    moves.transition_ticket(ticket.id, status="in_service", actor=None)
    clock.shift(timedelta(minutes=minutes))
    moves.transition_ticket(ticket.id, status="completed", actor=None)
    db.session.commit()
    return ticket


def estimates(department: Any) -> list[tuple[int, int]]:
    return [
        (entry.position, entry.estimated_wait_minutes)
        for entry in reads.queue_state(department.id).waiting
    ]


# ------------------------------------------------------------------- formula


@pytest.mark.parametrize(
    ("ahead", "typical", "points", "expected"),
    [
        (0, 10, 1, 0),
        (1, 10, 1, 10),
        (3, 10, 2, 15),
        (3, 7.5, 2, 12),  # 11.25 rounds up
        (1, 7.01, 1, 8),
        (2, 10, 3, 7),  # 6.67 rounds up
        (5, 10, 0, 50),  # at least one point
        (4, 12, 4, 12),
    ],
)
def test_estimate_minutes(ahead: int, typical: float, points: int, expected: int) -> None:
    assert reads.estimate_minutes(ahead, typical, points) == expected


# ---------------------------------------------------------- the default


def test_default_minutes_one_point_positions_one_based(gm: Any) -> None:
    for _ in range(4):
        walk_in(gm)
    state = reads.queue_state(gm.id)
    assert state.typical_visit_minutes == 10
    assert state.active_service_points == 1  # nobody signed in: at least 1
    assert estimates(gm) == [(1, 0), (2, 10), (3, 20), (4, 30)]
    assert state.positions[state.waiting[2].ticket.id].position == 3


def test_estimate_at_check_in_is_kept(gm: Any) -> None:
    first, second, third = walk_in(gm), walk_in(gm), walk_in(gm)
    assert [t.estimated_wait_at_check_in for t in (first, second, third)] == [0, 10, 20]
    assert reads.estimate_for(third) == 20
    assert reads.position_of(third).position == 3


def test_estimate_for_non_waiting_is_none(gm: Any) -> None:
    point = ServicePointFactory(department=gm)
    db.session.commit()
    ticket = walk_in(gm)
    waiting = walk_in(gm)
    moves.call_next(service_point_id=point.id, actor=None)
    db.session.commit()
    assert reads.estimate_for(ticket) is None
    assert reads.position_of(ticket) is None
    # The called ticket is no longer ahead.
    assert reads.estimate_for(waiting) == 0
    assert reads.position_of(waiting).position == 1


# ------------------------------------------------------- the typical visit


def typical(department: Any) -> float:
    return reads.typical_visit_minutes(department, service_day())


def test_the_median_of_todays_visits(gm: Any, clock: Any) -> None:
    point = ServicePointFactory(department=gm)
    db.session.commit()
    for minutes in (6, 9, 30):  # a mean would say 15; the median is not pulled by one long visit
        serve(gm, clock, minutes, point)
    assert typical(gm) == 9
    serve(gm, clock, 8, point)
    assert typical(gm) == pytest.approx(8.5)  # an even count: the middle two's mean
    for _ in range(4):
        walk_in(gm)
    clock.shift(timedelta(hours=2))  # the room's call is now stale: 1 point by the floor
    state = reads.queue_state(gm.id)
    assert state.active_service_points == 1
    assert state.typical_visit_minutes == pytest.approx(8.5)
    assert estimates(gm) == [(1, 0), (2, 9), (3, 17), (4, 26)]


def test_fewer_than_three_visits_use_the_default(gm: Any, clock: Any) -> None:
    point = ServicePointFactory(department=gm)
    db.session.commit()
    serve(gm, clock, 7, point)
    serve(gm, clock, 7, point)
    assert typical(gm) == 10  # two visits: still the default
    serve(gm, clock, 7, point)
    assert typical(gm) == 7


def test_visits_of_a_few_seconds_never_promise_one_minute(gm: Any, clock: Any) -> None:
    """Three visits of a few seconds: the third in line is told 2 × half the default."""
    point = ServicePointFactory(department=gm)
    db.session.commit()
    for seconds in (4, 6, 5):
        serve(gm, clock, seconds / 60, point)
    tickets = [walk_in(gm) for _ in range(3)]
    clock.shift(timedelta(hours=1))  # one room counts (the floor)
    assert typical(gm) == 5  # half of 10
    assert estimates(gm) == [(1, 0), (2, 5), (3, 10)]
    assert tickets[2].estimated_wait_at_check_in == 10  # what the phone and the SMS were told


def test_very_long_visits_are_bounded_by_three_times_the_default(gm: Any, clock: Any) -> None:
    point = ServicePointFactory(department=gm)
    db.session.commit()
    for minutes in (95, 120, 240):
        serve(gm, clock, minutes, point)
    assert typical(gm) == 30
    for _ in range(3):
        walk_in(gm)
    clock.shift(timedelta(hours=1))
    assert estimates(gm) == [(1, 0), (2, 30), (3, 60)]


def test_only_the_last_twenty_visits_count(gm: Any, clock: Any) -> None:
    """The oldest of 21 visits is ignored: with it the median would be 14, without it 10."""
    point = ServicePointFactory(department=gm)
    db.session.commit()
    serve(gm, clock, 30, point)  # the 21st-oldest
    for minutes in [6, 14] * 10:
        serve(gm, clock, minutes, point)
    assert typical(gm) == 10
    serve(gm, clock, 14, point)  # now the oldest 6 drops out as well: 9 × 6 and 11 × 14
    assert typical(gm) == 14


def test_only_completed_tickets_count(gm: Any, clock: Any) -> None:
    point = ServicePointFactory(department=gm)
    db.session.commit()
    ticket = walk_in(gm)
    moves.transition_ticket(ticket.id, status="called", actor=None, service_point_id=point.id)
    moves.transition_ticket(ticket.id, status="in_service", actor=None)
    clock.shift(timedelta(minutes=25))
    moves.transition_ticket(ticket.id, status="no_show", actor=None)
    db.session.commit()
    for _ in range(3):
        serve(gm, clock, 6, point)
    assert typical(gm) == 6  # the 25-minute no-show would make the median of four 15.5


def test_yesterdays_and_other_departments_tickets_do_not_count(gm: Any, clock: Any) -> None:
    other = DepartmentFactory(code="LAB", default_service_minutes=5)
    db.session.commit()
    for _ in range(3):
        serve(gm, clock, 20, gm_point := ServicePointFactory(department=gm))
        serve(other, clock, 3)
    assert typical(gm) == 20 and typical(other) == 3
    clock.move_to(T0 + timedelta(days=1), tick=False)
    assert typical(gm) == 10
    for minutes in (4, 6, 14):
        serve(other, clock, minutes)
    assert typical(gm) == 10
    assert typical(other) == 6
    assert gm_point.department_id == gm.id


# ------------------------------------------------------ active service points


def test_signed_in_points_divide_the_wait(gm: Any) -> None:
    doctors = [UserFactory(role="clinician") for _ in range(3)]
    for doctor in doctors[:2]:
        ServicePointFactory(department=gm, clinician_id=doctor.id, signed_in_at=T0)
    ServicePointFactory(department=gm)  # nobody there
    ServicePointFactory(department=gm, clinician_id=doctors[2].id, active=False)
    other = DepartmentFactory(code="LAB")
    ServicePointFactory(department=other, clinician_id=UserFactory(role="clinician").id)
    db.session.commit()
    assert reads.active_service_points(gm) == 2
    for _ in range(4):
        walk_in(gm)
    assert estimates(gm) == [(1, 0), (2, 5), (3, 10), (4, 15)]


def test_recent_call_makes_a_point_active_for_30_minutes(gm: Any, clock: Any) -> None:
    rooms = [ServicePointFactory(department=gm) for _ in range(3)]
    db.session.commit()
    for _ in range(6):
        walk_in(gm)
    assert reads.active_service_points(gm) == 1
    for room in rooms[:2]:
        moves.call_next(service_point_id=room.id, actor=None)  # nobody signs in
    db.session.commit()
    assert reads.active_service_points(gm) == 2
    assert estimates(gm) == [(1, 0), (2, 5), (3, 10), (4, 15)]
    clock.shift(timedelta(minutes=29))
    assert reads.active_service_points(gm) == 2
    clock.shift(timedelta(minutes=2))
    assert reads.active_service_points(gm) == 1
    assert estimates(gm) == [(1, 0), (2, 10), (3, 20), (4, 30)]


def test_recall_keeps_a_point_active(gm: Any, clock: Any) -> None:
    room1, room2 = ServicePointFactory(department=gm), ServicePointFactory(department=gm)
    db.session.commit()
    first, _ = walk_in(gm), walk_in(gm)
    moves.call_next(service_point_id=room1.id, actor=None)
    moves.call_next(service_point_id=room2.id, actor=None)
    db.session.commit()
    clock.shift(timedelta(minutes=25))
    moves.override_ticket(first.id, action="recall", actor=None)
    db.session.commit()
    clock.shift(timedelta(minutes=10))
    assert reads.active_service_points(gm) == 1


def test_signed_in_and_calling_counts_once(gm: Any) -> None:
    doctor = UserFactory(role="clinician")
    room = ServicePointFactory(department=gm)
    db.session.commit()
    walk_in(gm)
    moves.call_next(service_point_id=room.id, actor=doctor)  # signs in and calls
    db.session.commit()
    assert room.clinician_id == doctor.id
    assert reads.active_service_points(gm) == 1


def test_combined_estimate(gm: Any, clock: Any) -> None:
    """ahead × typical ÷ points, rounded up: 7 ahead × 7.5 min ÷ 2 points = 26.25 → 27."""
    doctors = [UserFactory(role="clinician") for _ in range(2)]
    rooms = [
        ServicePointFactory(department=gm, clinician_id=d.id, signed_in_at=T0) for d in doctors
    ]
    db.session.commit()
    for minutes in (5, 7, 8, 10):
        serve(gm, clock, minutes, rooms[0])
    tickets = [walk_in(gm) for _ in range(8)]
    state = reads.queue_state(gm.id)
    assert state.typical_visit_minutes == pytest.approx(7.5)
    assert state.active_service_points == 2
    assert [e.ticket.id for e in state.waiting] == [t.id for t in tickets]
    assert [e.estimated_wait_minutes for e in state.waiting] == [
        0, 4, 8, 12, 15, 19, 23, 27,
    ]  # fmt: skip
    assert tickets[-1].estimated_wait_at_check_in == 27
