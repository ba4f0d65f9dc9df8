"""Serving order: priority group, manual position (move to front, skip), effective time, id.

queue_state's waiting list is the one order every board, the API and call-next share.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
    walk_in,
)
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
    department = DepartmentFactory(code="GM")
    db.session.commit()
    return department


@pytest.fixture
def room(gm: Any) -> Any:
    point = ServicePointFactory(department=gm, name="Room 1")
    db.session.commit()
    return point


def at(clock: Any, minutes: float) -> None:
    clock.move_to(T0 + timedelta(minutes=minutes), tick=False)


def booked(gm: Any, label: str, starts_minutes: float) -> Ticket:
    """Check in (now) a patient booked at T0 + starts_minutes."""
    appointment = AppointmentFactory(
        department=gm,
        patient=PatientFactory(first_name=label),
        starts_at=T0 + timedelta(minutes=starts_minutes),
    )
    db.session.commit()
    ticket = moves.check_in(actor=None, appointment_id=appointment.id)
    db.session.commit()
    return ticket


def order(gm: Any) -> list[str]:
    return [entry.ticket.patient.first_name for entry in reads.queue_state(gm.id).waiting]


def override(ticket: Ticket, action: str, **kwargs: Any) -> None:
    moves.override_ticket(ticket.id, action=action, actor=None, **kwargs)
    db.session.commit()


def queue(gm: Any, clock: Any, labels: str, priority: str = "routine", start: int = 0) -> dict:
    """Walk-ins one minute apart, in the order of ``labels``."""
    tickets = {}
    for index, label in enumerate(labels):
        at(clock, start + index)
        tickets[label] = walk_in(gm, label, priority)
    return tickets


# ---------------------------------------------------------------- priorities


def test_priority_groups_then_check_in_time(gm: Any, clock: Any) -> None:
    arrivals = [
        ("r1", "routine"),
        ("p1", "priority"),
        ("u1", "urgent"),
        ("e1", "emergency"),
        ("r2", "routine"),
        ("u2", "urgent"),
        ("p2", "priority"),
        ("e2", "emergency"),
    ]
    for minute, (label, priority) in enumerate(arrivals):
        at(clock, minute)
        walk_in(gm, label, priority)
    assert order(gm) == ["e1", "e2", "u1", "u2", "p1", "p2", "r1", "r2"]
    state = reads.queue_state(gm.id)
    assert [entry.position for entry in state.waiting] == list(range(1, 9))


def test_same_instant_falls_back_to_ticket_id(gm: Any) -> None:
    for label in "abc":
        walk_in(gm, label)  # frozen clock: identical check-in times
    assert order(gm) == ["a", "b", "c"]


def test_only_waiting_tickets_of_the_department(gm: Any, room: Any, clock: Any) -> None:
    other = DepartmentFactory(code="LAB")
    db.session.commit()
    tickets = queue(gm, clock, "abcd")
    walk_in(other, "elsewhere")
    moves.call_next(service_point_id=room.id, actor=None)
    moves.transition_ticket(tickets["d"].id, status="cancelled", actor=None)
    db.session.commit()
    state = reads.queue_state(gm.id)
    assert order(gm) == ["b", "c"]
    assert [t.patient.first_name for t in state.called] == ["a"]


# ---------------------------------------------------------------- appointments


def test_early_arrival_takes_appointment_time(gm: Any, clock: Any) -> None:
    at(clock, -30)
    early = booked(gm, "early", starts_minutes=10)  # checked in 08:30 for 09:10
    assert early.effective_at == T0 + timedelta(minutes=10)
    queue(gm, clock, "ab", start=5)  # 09:05, 09:06: before the appointment
    queue(gm, clock, "cd", start=11)  # 09:11, 09:12: after it
    assert order(gm) == ["a", "b", "early", "c", "d"]


def test_on_time_arrival(gm: Any, clock: Any) -> None:
    queue(gm, clock, "ab", start=5)
    at(clock, 10)
    on_time = booked(gm, "on_time", starts_minutes=10)
    assert on_time.effective_at == T0 + timedelta(minutes=10)
    queue(gm, clock, "c", start=11)
    assert order(gm) == ["a", "b", "on_time", "c"]


@pytest.mark.parametrize("late_by", [1, 14, 15])
def test_within_grace_takes_appointment_time(gm: Any, clock: Any, late_by: int) -> None:
    queue(gm, clock, "ab", start=-5)  # 08:55, 08:56
    queue(gm, clock, "c", start=0.5)  # 09:00:30
    at(clock, late_by)
    late = booked(gm, "late", starts_minutes=0)
    assert late.effective_at == T0
    assert late.checked_in_at == T0 + timedelta(minutes=late_by)
    # Placed by 09:00, ahead of walk-ins who came after 09:00 but before the patient arrived.
    assert order(gm) == ["a", "b", "late", "c"]


@pytest.mark.parametrize("late_by", [15.01, 16, 45])
def test_late_beyond_grace_takes_check_in_time(gm: Any, clock: Any, late_by: float) -> None:
    queue(gm, clock, "ab", start=1)  # 09:01, 09:02
    at(clock, late_by)
    late = booked(gm, "late", starts_minutes=0)
    assert late.effective_at == late.checked_in_at == T0 + timedelta(minutes=late_by)
    queue(gm, clock, "c", start=50)
    assert order(gm) == ["a", "b", "late", "c"]


def test_grace_is_configurable(app: Any, gm: Any, clock: Any) -> None:
    app.config["QUEUE_APPOINTMENT_GRACE_MINUTES"] = 5
    queue(gm, clock, "a", start=2)
    at(clock, 6)
    late = booked(gm, "late", starts_minutes=0)
    assert late.effective_at == T0 + timedelta(minutes=6)
    assert order(gm) == ["a", "late"]


def test_appointment_priority_still_wins(gm: Any, clock: Any) -> None:
    at(clock, -20)
    booked(gm, "appt", starts_minutes=-10)  # early, effective 08:50
    queue(gm, clock, "u", priority="urgent", start=30)
    assert order(gm) == ["u", "appt"]


# ------------------------------------------------------------------------ skip


def test_skip_places_after_next_three_of_its_group(gm: Any, clock: Any) -> None:
    tickets = queue(gm, clock, "abcdef")
    queue(gm, clock, "U", priority="urgent", start=20)
    override(tickets["a"], "skip")
    assert order(gm) == ["U", "b", "c", "d", "a", "e", "f"]
    assert tickets["a"].skip_count == 1
    override(tickets["a"], "skip")
    assert order(gm) == ["U", "b", "c", "d", "e", "f", "a"]
    assert tickets["a"].skip_count == 2


def test_skip_from_the_middle(gm: Any, clock: Any) -> None:
    tickets = queue(gm, clock, "abcdefg")
    override(tickets["c"], "skip")
    assert order(gm) == ["a", "b", "d", "e", "f", "c", "g"]


@pytest.mark.parametrize(
    ("labels", "skipped", "expected"),
    [
        ("ab", "a", ["b", "a"]),
        ("abc", "a", ["b", "c", "a"]),
        ("abcd", "a", ["b", "c", "d", "a"]),
        ("a", "a", ["a"]),
        ("abcd", "c", ["a", "b", "d", "c"]),
        ("abcd", "d", ["a", "b", "c", "d"]),
    ],
)
def test_skip_fewer_waiting(
    gm: Any, clock: Any, labels: str, skipped: str, expected: list[str]
) -> None:
    tickets = queue(gm, clock, labels)
    override(tickets[skipped], "skip")
    assert order(gm) == expected


def test_skip_counts_only_its_priority_group(gm: Any, clock: Any) -> None:
    tickets = queue(gm, clock, "ab")
    queue(gm, clock, "UVW", priority="urgent", start=10)
    override(tickets["a"], "skip")  # only one other routine ticket waits
    assert order(gm) == ["U", "V", "W", "b", "a"]


def test_skip_a_called_ticket(gm: Any, room: Any, clock: Any) -> None:
    tickets = queue(gm, clock, "abcdef")
    moves.call_next(service_point_id=room.id, actor=None)
    db.session.commit()
    assert order(gm) == ["b", "c", "d", "e", "f"]
    override(tickets["a"], "skip")
    assert tickets["a"].status == "waiting" and tickets["a"].service_point_id is None
    assert order(gm) == ["b", "c", "d", "a", "e", "f"]
    # The room is free again and calls "b".
    assert moves.call_next(service_point_id=room.id, actor=None).id == tickets["b"].id


def test_skip_with_identical_effective_times(gm: Any, clock: Any) -> None:
    """Booked patients who all arrived early for 09:00 slots share one effective time."""
    at(clock, -30)
    tickets = {label: booked(gm, label, starts_minutes=0) for label in "abcde"}
    assert order(gm) == ["a", "b", "c", "d", "e"]
    override(tickets["a"], "skip")
    assert order(gm) == ["b", "c", "d", "a", "e"]


def test_skip_with_identical_check_in_times(gm: Any) -> None:
    tickets = {label: walk_in(gm, label) for label in "abcde"}  # frozen clock
    override(tickets["b"], "skip")
    assert order(gm) == ["a", "c", "d", "e", "b"]


class TestSkipPlacesConfigured:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"QUEUE_SKIP_PLACES": 1}

    def test_skip_one_place(self, app: Any, gm: Any, clock: Any) -> None:
        assert app.config["QUEUE_SKIP_PLACES"] == 1
        tickets = queue(gm, clock, "abcd")
        override(tickets["a"], "skip")
        assert order(gm) == ["b", "a", "c", "d"]


class TestSkipPlacesFive:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"QUEUE_SKIP_PLACES": 5}

    def test_skip_five_places(self, gm: Any, clock: Any) -> None:
        tickets = queue(gm, clock, "abcdefgh")
        override(tickets["a"], "skip")
        assert order(gm) == ["b", "c", "d", "e", "f", "a", "g", "h"]


# --------------------------------------------------------------- move to front


def test_move_to_front_within_group(gm: Any, clock: Any) -> None:
    tickets = queue(gm, clock, "abcd")
    queue(gm, clock, "U", priority="urgent", start=10)
    override(tickets["d"], "move_to_front")
    assert order(gm) == ["U", "d", "a", "b", "c"]
    override(tickets["c"], "move_to_front")
    assert order(gm) == ["U", "c", "d", "a", "b"]
    override(tickets["c"], "move_to_front")  # already first: stays first
    assert order(gm) == ["U", "c", "d", "a", "b"]


def test_move_to_front_with_identical_times(gm: Any) -> None:
    tickets = {label: walk_in(gm, label) for label in "abc"}
    override(tickets["c"], "move_to_front")
    assert order(gm) == ["c", "a", "b"]


def test_move_to_front_beats_early_appointment(gm: Any, clock: Any) -> None:
    at(clock, -30)
    booked(gm, "appt", starts_minutes=-20)
    tickets = queue(gm, clock, "ab")
    override(tickets["b"], "move_to_front")
    assert order(gm) == ["b", "appt", "a"]


# ---------------------------------------------------- return to queue, priority


def test_return_to_queue_keeps_the_place(gm: Any, room: Any, clock: Any) -> None:
    tickets = queue(gm, clock, "abcd")
    tickets |= queue(gm, clock, "U", priority="urgent", start=5)
    called = moves.call_next(service_point_id=room.id, actor=None)
    assert called.id == tickets["U"].id
    queue(gm, clock, "e", start=20)
    moves.transition_ticket(called.id, status="waiting", actor=None)
    db.session.commit()
    assert order(gm) == ["U", "a", "b", "c", "d", "e"]
    # A returned routine ticket also goes back to its place, not to the end.
    moves.call_next(service_point_id=room.id, actor=None)  # U
    moves.transition_ticket(tickets["U"].id, status="no_show", actor=None)
    moves.call_next(service_point_id=room.id, actor=None)  # a
    moves.transition_ticket(tickets["a"].id, status="waiting", actor=None)
    db.session.commit()
    assert order(gm) == ["a", "b", "c", "d", "e"]


def test_set_priority_changes_group(gm: Any, clock: Any) -> None:
    tickets = queue(gm, clock, "abc")
    tickets |= queue(gm, clock, "UV", priority="urgent", start=10)
    override(tickets["c"], "set_priority", priority="urgent")
    assert order(gm) == ["c", "U", "V", "a", "b"]  # c checked in before U and V
    override(tickets["U"], "set_priority", priority="routine")
    assert order(gm) == ["c", "V", "a", "b", "U"]
    override(tickets["b"], "set_priority", priority="emergency")
    assert order(gm) == ["b", "c", "V", "a", "U"]


# --------------------------------------------------------- call-next = the order


def test_call_next_follows_queue_state_exactly(gm: Any, clock: Any) -> None:
    room1 = ServicePointFactory(department=gm, name="Room 1")
    room2 = ServicePointFactory(department=gm, name="Room 2")
    doctor = UserFactory(role="clinician")
    db.session.commit()
    at(clock, -40)
    booked(gm, "appt_early", starts_minutes=3)
    tickets = queue(gm, clock, "abcdefg")
    queue(gm, clock, "PQ", priority="priority", start=8)
    queue(gm, clock, "E", priority="emergency", start=12)
    at(clock, 30)
    booked(gm, "appt_late", starts_minutes=4)
    override(tickets["b"], "skip")
    override(tickets["f"], "move_to_front")
    override(tickets["g"], "assign", service_point_id=room2.id)
    override(tickets["c"], "set_priority", priority="urgent")

    expected_all = order(gm)
    ordered = reads.queue_state(gm.id).waiting
    # queue_state's order really is (priority rank, queue_key, id).
    keys = [
        (reads.PRIORITY_RANK[e.ticket.priority], e.ticket.queue_key, e.ticket.id) for e in ordered
    ]
    assert keys == sorted(keys)

    called: list[str] = []
    while True:
        waiting = reads.queue_state(gm.id).waiting
        expected = next(
            (e.ticket for e in waiting if e.ticket.service_point_id in (None, room1.id)), None
        )
        ticket = moves.call_next(service_point_id=room1.id, actor=doctor)
        db.session.commit()
        if expected is None:
            assert ticket is None
            break
        assert ticket is not None and ticket.id == expected.id
        called.append(ticket.patient.first_name)
        moves.transition_ticket(ticket.id, status="in_service", actor=doctor)
        moves.transition_ticket(ticket.id, status="completed", actor=doctor)
        db.session.commit()
    assert called == [label for label in expected_all if label != "g"]
    assert called[:4] == ["E", "c", "P", "Q"]
    assert order(gm) == ["g"]
    assert moves.call_next(service_point_id=room2.id, actor=None).id == tickets["g"].id
