"""Queue services: every ticket state × every action, check-in numbering, call-next, transfer.

A legal move writes exactly one QueueEvent (action, from/to status, user, reason); an
illegal one raises Conflict and changes nothing: neither the ticket's columns, nor the
event log, nor the ticket count, nor the appointment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
    walk_in,
)
from webapp.domain_errors import Conflict
from webapp.extensions import db
from webapp.queue import moves, rules
from webapp.queue import state as reads
from webapp.queue.models import QueueEvent, Ticket

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)

STATES = ("waiting", "called", "in_service", "completed", "cancelled", "no_show", "transferred")


@pytest.fixture
def clock(time_machine: Any) -> Any:
    time_machine.move_to(T0, tick=False)
    return time_machine


@dataclass
class World:
    gm: Any
    lab: Any
    pharmacy: Any
    room1: Any
    room2: Any
    clinician: Any
    receptionist: Any


def unlink_transfer_chains() -> None:
    """Let the ``app`` fixture's SQLite ``drop_all`` run: DROP TABLE tickets deletes the
    rows one by one and trips the self-referencing ``transferred_from_id`` RESTRICT key."""
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


@pytest.fixture
def world(app: Any, clock: Any) -> Iterator[World]:
    gm = DepartmentFactory(code="GM", name="General Medicine")
    lab = DepartmentFactory(code="LAB", name="Laboratory")
    pharmacy = DepartmentFactory(code="PH", name="Pharmacy")
    clinician = UserFactory(role="clinician", username="doc")
    receptionist = UserFactory(role="receptionist", username="desk")
    room1 = ServicePointFactory(department=gm, name="Room 1")
    room2 = ServicePointFactory(department=gm, name="Room 2")
    db.session.commit()
    yield World(gm, lab, pharmacy, room1, room2, clinician, receptionist)
    unlink_transfer_chains()


def event_count(ticket_id: int | None = None) -> int:
    query = select(func.count()).select_from(QueueEvent)
    if ticket_id is not None:
        query = query.where(QueueEvent.ticket_id == ticket_id)
    return db.session.scalar(query) or 0


def ticket_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket)) or 0


def columns(ticket: Ticket) -> dict[str, Any]:
    return {column.key: getattr(ticket, column.key) for column in Ticket.__mapper__.column_attrs}


def events_of(ticket_id: int) -> list[QueueEvent]:
    return list(
        db.session.scalars(
            select(QueueEvent).where(QueueEvent.ticket_id == ticket_id).order_by(QueueEvent.id)
        )
    )


def ticket_in_state(w: World, state: str, *, with_appointment: bool = False) -> Ticket:
    """A GM ticket brought to ``state`` through the services (Room 1 serves it)."""
    if with_appointment:
        appointment = AppointmentFactory(department=w.gm, starts_at=T0 + timedelta(minutes=10))
        db.session.commit()
        ticket = moves.check_in(actor=w.receptionist, appointment_id=appointment.id)
    else:
        ticket = moves.check_in(
            actor=w.receptionist, patient_id=PatientFactory().id, department_id=w.gm.id
        )
    tid = ticket.id
    path = {
        "waiting": [],
        "called": ["called"],
        "in_service": ["called", "in_service"],
        "completed": ["called", "in_service", "completed"],
        "cancelled": ["cancelled"],
        "no_show": ["called", "no_show"],
    }
    if state == "transferred":
        moves.override_ticket(tid, action="transfer", actor=w.clinician, department_id=w.lab.id)
    else:
        for step in path[state]:
            moves.transition_ticket(
                tid, status=step, actor=w.clinician, service_point_id=w.room1.id, reason="setup"
            )
    db.session.commit()
    ticket = db.session.get(Ticket, tid)
    assert ticket is not None and ticket.status == state
    return ticket


# (kind, name) -> (legal from-states, event action, resulting status or None = the same)
ACTIONS: dict[tuple[str, str], tuple[tuple[str, ...], str, str | None]] = {
    ("transition", "called"): (("waiting",), "call", "called"),
    ("transition", "in_service"): (("called",), "start", "in_service"),
    ("transition", "completed"): (("in_service",), "complete", "completed"),
    ("transition", "no_show"): (("called", "in_service"), "no_show", "no_show"),
    ("transition", "cancelled"): (("waiting",), "cancel", "cancelled"),
    ("transition", "waiting"): (("called",), "return_to_queue", "waiting"),
    ("override", "assign"): (("waiting",), "assign", None),
    ("override", "skip"): (("waiting", "called"), "skip", "waiting"),
    ("override", "move_to_front"): (("waiting",), "move_to_front", None),
    ("override", "set_priority"): (("waiting",), "set_priority", None),
    ("override", "transfer"): (("waiting", "called", "in_service"), "transfer", "transferred"),
    ("override", "recall"): (("called",), "recall", None),
}

CASES = [
    pytest.param(state, kind, name, id=f"{state}-{kind}-{name}")
    for state in STATES
    for kind, name in ACTIONS
]


def actor_for(w: World, kind: str, name: str) -> Any:
    """A person the rule book lets make this move: the clinician where it may, else reception."""
    move = rules.move_for_status(name) if kind == "transition" else rules.MOVES[name]
    return w.clinician if move.allows_role("clinician") else w.receptionist


def apply(w: World, ticket_id: int, kind: str, name: str, reason: str) -> Ticket:
    actor = actor_for(w, kind, name)
    if kind == "transition":
        return moves.transition_ticket(
            ticket_id,
            status=name,
            actor=actor,
            service_point_id=w.room2.id,  # always free
            reason=reason,
        )
    return moves.override_ticket(
        ticket_id,
        action=name,
        actor=actor,
        service_point_id=w.room2.id,
        priority="urgent",
        department_id=w.pharmacy.id,
        reason=reason,
    )


@pytest.mark.parametrize(("state", "kind", "name"), CASES)
def test_state_action_table(world: World, state: str, kind: str, name: str) -> None:
    w = world
    ticket = ticket_in_state(w, state, with_appointment=True)
    tid = ticket.id
    appointment_status = ticket.appointment.status
    before = columns(ticket)
    events_before, tickets_before = event_count(), ticket_count()
    own_events_before = event_count(tid)
    legal_from, action, to_status = ACTIONS[(kind, name)]

    if state not in legal_from:
        with pytest.raises(Conflict):
            apply(w, tid, kind, name, "because")
        # Nothing changed: not in memory, not pending in the session (counts autoflush).
        assert columns(db.session.get(Ticket, tid)) == before
        assert event_count() == events_before
        assert ticket_count() == tickets_before
        assert ticket.appointment.status == appointment_status
        db.session.rollback()
        assert columns(db.session.get(Ticket, tid)) == before
        assert event_count() == events_before
        return

    result = apply(w, tid, kind, name, "  because  ")
    db.session.commit()
    ticket = db.session.get(Ticket, tid)
    assert ticket.status == (to_status or state)
    assert event_count(tid) == own_events_before + 1
    event = events_of(tid)[-1]
    assert event.action == action
    assert event.from_status == state
    assert event.to_status == (to_status or state)
    assert event.user_id == actor_for(w, kind, name).id
    assert event.department_id == w.gm.id
    assert event.reason == "because"
    if name == "transfer":
        # The follow-up ticket gets its own single check-in event; nothing else is written.
        assert result.id != tid
        assert event_count() == events_before + 2
        assert [e.action for e in events_of(result.id)] == ["check_in"]
        assert ticket_count() == tickets_before + 1
    else:
        assert result.id == tid
        assert event_count() == events_before + 1
        assert ticket_count() == tickets_before

    # Action-specific effects.
    if name == "called":
        assert ticket.service_point_id == w.room2.id
        assert ticket.clinician_id == w.clinician.id
        assert ticket.called_at == T0
    elif name == "in_service":
        assert ticket.started_at == T0
    elif name in ("completed", "no_show", "cancelled"):
        assert ticket.ended_at == T0
        assert ticket.appointment.status == name
    elif name == "waiting" or (name == "skip" and state == "called"):
        assert ticket.service_point_id is None
        assert ticket.clinician_id is None
        assert ticket.called_at is None
    elif name == "assign":
        assert ticket.service_point_id == w.room2.id
        assert event.service_point_id == w.room2.id
    elif name == "set_priority":
        assert ticket.priority == "urgent"
    elif name == "recall":
        assert ticket.recall_count == before["recall_count"] + 1
    elif name == "transfer":
        assert ticket.ended_at == T0
    if name == "skip":
        assert ticket.skip_count == before["skip_count"] + 1


def test_table_covers_every_state_and_action() -> None:
    assert len(CASES) == 7 * 12
    assert {name for kind, name in ACTIONS if kind == "override"} == set(moves.OVERRIDE_ACTIONS)
    assert {name for kind, name in ACTIONS if kind == "transition"} == set(rules.MOVE_TO_STATUS)


def test_event_without_actor_or_reason(world: World) -> None:
    ticket = walk_in(world.gm, actor=world.receptionist)
    moves.override_ticket(ticket.id, action="move_to_front", actor=None, reason="   ")
    db.session.commit()
    event = events_of(ticket.id)[-1]
    assert event.user_id is None and event.reason is None


def test_check_in_event(world: World) -> None:
    ticket = walk_in(world.gm, actor=world.receptionist)
    [event] = events_of(ticket.id)
    assert (event.action, event.from_status, event.to_status) == ("check_in", None, "waiting")
    assert event.user_id == world.receptionist.id
    assert ticket.checked_in_at == T0 and ticket.status == "waiting"
    assert ticket.appointment_id is None and ticket.priority == "routine"
    assert ticket.status_token and len(ticket.status_token) >= 24


# ----------------------------------------------------------------- numbering


def test_numbers_per_department_per_day(world: World, clock: Any) -> None:
    w = world
    assert [walk_in(w.gm, actor=w.receptionist).number for _ in range(3)] == [
        "GM-001",
        "GM-002",
        "GM-003",
    ]
    assert walk_in(w.lab, actor=w.receptionist).number == "LAB-001"
    assert walk_in(w.gm, actor=w.receptionist).number == "GM-004"
    clock.move_to(T0 + timedelta(days=1), tick=False)
    assert walk_in(w.gm, actor=w.receptionist).number == "GM-001"
    assert walk_in(w.lab, actor=w.receptionist).number == "LAB-001"
    tickets = db.session.scalars(select(Ticket).where(Ticket.number == "GM-001")).all()
    assert sorted(t.service_day.isoformat() for t in tickets) == ["2025-03-10", "2025-03-11"]


def test_number_not_reused_after_cancellation(world: World) -> None:
    w = world
    first = walk_in(w.gm, actor=w.receptionist)
    second = walk_in(w.gm, actor=w.receptionist)
    moves.transition_ticket(second.id, status="cancelled", actor=w.receptionist, reason="left")
    moves.transition_ticket(first.id, status="cancelled", actor=w.receptionist, reason="left")
    db.session.commit()
    # Same patient again after cancellation: allowed, with a new number.
    again = walk_in(w.gm, second.patient, actor=w.receptionist)
    assert again.number == "GM-003"


def test_refused_check_in_does_not_consume_a_number(world: World) -> None:
    w = world
    first = walk_in(w.gm, actor=w.receptionist)
    with pytest.raises(Conflict):
        walk_in(w.gm, first.patient, actor=w.receptionist)
    db.session.rollback()
    assert walk_in(w.gm, actor=w.receptionist).number == "GM-002"


def test_service_day_follows_hospital_timezone(app: Any, clock: Any) -> None:
    app.config["HOSPITAL_TIMEZONE"] = "America/New_York"
    gm = DepartmentFactory(code="GM")
    db.session.commit()
    # 2025-03-10 03:30 UTC is still 9 March in New York.
    clock.move_to(datetime(2025, 3, 10, 3, 30, tzinfo=UTC), tick=False)
    late = moves.check_in(actor=None, patient_id=PatientFactory().id, department_id=gm.id)
    clock.move_to(datetime(2025, 3, 10, 5, 30, tzinfo=UTC), tick=False)
    early = moves.check_in(actor=None, patient_id=PatientFactory().id, department_id=gm.id)
    db.session.commit()
    assert (late.service_day.isoformat(), late.number) == ("2025-03-09", "GM-001")
    assert (early.service_day.isoformat(), early.number) == ("2025-03-10", "GM-001")


# ------------------------------------------------------------------ check-in


def test_check_in_of_booked_appointment(world: World) -> None:
    appointment = AppointmentFactory(department=world.gm, starts_at=T0 + timedelta(minutes=5))
    db.session.commit()
    ticket = moves.check_in(actor=world.receptionist, appointment_id=appointment.id)
    db.session.commit()
    assert appointment.status == "checked_in"
    assert ticket.appointment_id == appointment.id
    assert ticket.patient_id == appointment.patient_id
    assert ticket.department_id == world.gm.id


@pytest.mark.parametrize(
    ("minutes_before", "late"),
    [(-30, False), (0, False), (15, False), (16, True), (90, True)],
)
def test_a_waiting_ticket_is_late_after_the_grace_period(
    world: World, minutes_before: int, late: bool
) -> None:
    """QUEUE_APPOINTMENT_GRACE_MINUTES is 15: one rule for the queue place and the flag."""
    starts_at = T0 - timedelta(minutes=minutes_before)
    appointment = AppointmentFactory(department=world.gm, starts_at=starts_at)
    db.session.commit()
    ticket = moves.check_in(actor=world.receptionist, appointment_id=appointment.id)
    walk = walk_in(world.gm, actor=world.receptionist)
    entries = reads.queue_state(world.gm.id).positions
    assert entries[ticket.id].late is late
    assert ticket.effective_at == (T0 if late else starts_at)
    assert entries[walk.id].late is False  # a walk-in is never late


# ------------------------------------------------- a walk-in who has a booking


def test_a_walk_in_with_a_booking_today_checks_it_in(world: World) -> None:
    w = world
    patient = PatientFactory()
    booking = AppointmentFactory(
        department=w.gm, patient=patient, starts_at=T0 + timedelta(minutes=30)
    )
    earlier_walk_in = walk_in(w.gm, actor=w.receptionist)
    ticket = walk_in(w.gm, patient, actor=w.receptionist)
    assert ticket.appointment_id == booking.id
    assert booking.status == "checked_in"
    # It queues by the appointment's time, as if the appointment had been named.
    assert ticket.effective_at == booking.starts_at
    assert [event.action for event in events_of(ticket.id)] == ["check_in"]
    assert [e.ticket.id for e in reads.queue_state(w.gm.id).waiting] == [
        earlier_walk_in.id,
        ticket.id,
    ]


def test_the_earliest_booking_still_booked_is_matched(world: World) -> None:
    w = world
    patient = PatientFactory()
    done = AppointmentFactory(
        department=w.gm, patient=patient, starts_at=T0 - timedelta(hours=1), status="completed"
    )
    later = AppointmentFactory(department=w.gm, patient=patient, starts_at=T0 + timedelta(hours=5))
    earliest = AppointmentFactory(
        department=w.gm, patient=patient, starts_at=T0 + timedelta(hours=2)
    )
    ticket = walk_in(w.gm, patient, actor=w.receptionist)
    assert ticket.appointment_id == earliest.id
    assert (done.status, earliest.status, later.status) == ("completed", "checked_in", "booked")
    moves.transition_ticket(ticket.id, status="cancelled", actor=w.receptionist, reason="Left")
    db.session.commit()
    again = walk_in(w.gm, patient, actor=w.receptionist)
    assert again.appointment_id == later.id


def test_a_late_booking_is_matched_but_queues_from_check_in(world: World) -> None:
    w = world
    patient = PatientFactory()
    booking = AppointmentFactory(
        department=w.gm, patient=patient, starts_at=T0 - timedelta(minutes=40)
    )
    ticket = walk_in(w.gm, patient, actor=w.receptionist)
    assert ticket.appointment_id == booking.id
    assert ticket.effective_at == T0
    assert reads.queue_state(w.gm.id).positions[ticket.id].late is True


@pytest.mark.parametrize(
    ("where", "starts", "status"),
    [
        ("lab", timedelta(hours=1), "booked"),  # another department
        ("gm", timedelta(days=1), "booked"),  # tomorrow
        ("gm", -timedelta(days=1), "booked"),  # yesterday's, never closed
        ("gm", timedelta(hours=1), "cancelled"),
        ("gm", timedelta(hours=1), "no_show"),
    ],
)
def test_a_walk_in_without_a_booking_today_here_stays_a_walk_in(
    world: World, where: str, starts: timedelta, status: str
) -> None:
    patient = PatientFactory()
    other = AppointmentFactory(
        department=getattr(world, where), patient=patient, starts_at=T0 + starts, status=status
    )
    ticket = walk_in(world.gm, patient, actor=world.receptionist)
    assert ticket.appointment_id is None
    assert other.status == status


def test_today_is_the_hospitals_day(world: World, app: Any, clock: Any) -> None:
    """At 03:30 UTC it is still 9 March in New York: a booking for 9 March 22:00 there is
    today's; one for 10 March 09:00 there is tomorrow's."""
    app.config["HOSPITAL_TIMEZONE"] = "America/New_York"
    clock.move_to(datetime(2025, 3, 10, 3, 30, tzinfo=UTC), tick=False)
    patient = PatientFactory()
    tomorrow = AppointmentFactory(
        department=world.gm, patient=patient, starts_at=datetime(2025, 3, 10, 13, 0, tzinfo=UTC)
    )
    tonight = AppointmentFactory(
        department=world.gm, patient=patient, starts_at=datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    )
    ticket = walk_in(world.gm, patient, actor=world.receptionist)
    assert ticket.appointment_id == tonight.id
    assert tomorrow.status == "booked"


def test_a_walk_in_matches_todays_booking_on_postgresql(pg_app: Any, clock: Any) -> None:
    gm = DepartmentFactory(code="GM")
    patient = PatientFactory()
    AppointmentFactory(department=gm, patient=patient, starts_at=T0 + timedelta(days=1))
    booking = AppointmentFactory(department=gm, patient=patient, starts_at=T0 + timedelta(hours=3))
    db.session.commit()
    ticket = walk_in(gm, patient)
    assert ticket.appointment_id == booking.id
    db.session.refresh(booking)
    assert booking.status == "checked_in"


def test_an_appointment_only_department_takes_a_walk_in_with_a_booking(world: World) -> None:
    w = world
    w.gm.accepts_walk_ins = False
    booked, unbooked = PatientFactory(), PatientFactory()
    booking = AppointmentFactory(department=w.gm, patient=booked, starts_at=T0)
    db.session.commit()
    assert walk_in(w.gm, booked, actor=w.receptionist).appointment_id == booking.id
    with pytest.raises(Conflict, match="appointment only"):
        walk_in(w.gm, unbooked, actor=w.receptionist)


@pytest.mark.parametrize("status", ["checked_in", "cancelled", "no_show", "completed"])
def test_check_in_of_non_booked_appointment_conflicts(world: World, status: str) -> None:
    appointment = AppointmentFactory(department=world.gm, status=status)
    db.session.commit()
    with pytest.raises(Conflict):
        moves.check_in(actor=world.receptionist, appointment_id=appointment.id)
    assert ticket_count() == 0 and event_count() == 0
    assert appointment.status == status


def test_second_active_ticket_same_patient_and_department(world: World) -> None:
    w = world
    first = walk_in(w.gm, actor=w.receptionist)
    patient = first.patient
    for step in (None, "called", "in_service"):
        if step:
            moves.transition_ticket(
                first.id, status=step, actor=w.clinician, service_point_id=w.room1.id
            )
            db.session.commit()
        with pytest.raises(Conflict):
            walk_in(w.gm, patient, actor=w.receptionist)
        db.session.rollback()
    # Another department is fine meanwhile.
    assert walk_in(w.lab, patient, actor=w.receptionist).number == "LAB-001"
    moves.transition_ticket(first.id, status="completed", actor=w.clinician)
    db.session.commit()
    again = walk_in(w.gm, patient, actor=w.receptionist)
    assert again.status == "waiting" and again.number == "GM-002"


def test_second_active_ticket_via_appointment_conflicts(world: World) -> None:
    w = world
    first = walk_in(w.gm, actor=w.receptionist)
    appointment = AppointmentFactory(department=w.gm, patient=first.patient)
    db.session.commit()
    with pytest.raises(Conflict):
        moves.check_in(actor=w.receptionist, appointment_id=appointment.id)
    assert appointment.status == "booked"


def test_walk_in_refused_by_appointment_only_department(world: World) -> None:
    surgery = DepartmentFactory(code="SUR", accepts_walk_ins=False)
    db.session.commit()
    with pytest.raises(Conflict):
        walk_in(surgery, actor=world.receptionist)
    db.session.rollback()
    assert ticket_count() == 0
    # ...but a booked appointment there checks in.
    appointment = AppointmentFactory(department=surgery)
    db.session.commit()
    assert moves.check_in(actor=None, appointment_id=appointment.id).number == "SUR-001"


# ------------------------------------------------- appointment follows ticket


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (["called", "in_service", "completed"], "completed"),
        (["called", "no_show"], "no_show"),
        (["called", "in_service", "no_show"], "no_show"),
        (["cancelled"], "cancelled"),
    ],
)
def test_appointment_follows_ticket(world: World, steps: list[str], expected: str) -> None:
    w = world
    appointment = AppointmentFactory(department=w.gm)
    db.session.commit()
    ticket = moves.check_in(actor=w.receptionist, appointment_id=appointment.id)
    for step in steps:
        assert appointment.status == "checked_in"
        moves.transition_ticket(
            ticket.id, status=step, actor=w.clinician, service_point_id=w.room1.id, reason="r"
        )
    db.session.commit()
    assert db.session.get(type(appointment), appointment.id).status == expected


def test_appointment_passes_on_through_transfer(world: World) -> None:
    w = world
    appointment = AppointmentFactory(department=w.gm)
    db.session.commit()
    ticket = moves.check_in(actor=w.receptionist, appointment_id=appointment.id)
    moves.transition_ticket(
        ticket.id, status="called", actor=w.clinician, service_point_id=w.room1.id
    )
    lab_ticket = moves.override_ticket(
        ticket.id, action="transfer", actor=w.clinician, department_id=w.lab.id
    )
    db.session.commit()
    assert appointment.status == "checked_in"
    assert lab_ticket.appointment_id == appointment.id
    lab_point = ServicePointFactory(department=w.lab)
    db.session.commit()
    for step in ("called", "in_service", "completed"):
        moves.transition_ticket(
            lab_ticket.id, status=step, actor=w.clinician, service_point_id=lab_point.id
        )
    db.session.commit()
    assert appointment.status == "completed"


# ------------------------------------------------------------------ transfer


def test_transfer_chain(world: World, clock: Any) -> None:
    w = world
    walk_in(w.lab, actor=w.receptionist)  # LAB-001 is someone else's
    first = walk_in(w.gm, priority="urgent", actor=w.receptionist)
    token = first.status_token
    moves.transition_ticket(
        first.id, status="called", actor=w.clinician, service_point_id=w.room1.id
    )
    moves.transition_ticket(first.id, status="in_service", actor=w.clinician)
    db.session.commit()
    clock.shift(timedelta(minutes=5))
    lab = moves.override_ticket(
        first.id, action="transfer", actor=w.clinician, department_id=w.lab.id, reason="bloods"
    )
    db.session.commit()
    assert first.status == "transferred" and first.ended_at == T0 + timedelta(minutes=5)
    assert lab.status == "waiting"
    assert lab.department_id == w.lab.id
    assert lab.number == "LAB-002"
    assert lab.transferred_from_id == first.id
    assert lab.transferred_from is first
    assert lab.status_token == token
    assert lab.patient_id == first.patient_id
    assert lab.priority == "urgent"
    assert lab.service_point_id is None and lab.called_at is None
    assert reads.latest_ticket_for_token(token).id == lab.id

    moves.override_ticket(
        lab.id, action="transfer", actor=w.receptionist, department_id=w.pharmacy.id
    )
    db.session.commit()
    newest = reads.latest_ticket_for_token(token)
    assert newest.department_id == w.pharmacy.id
    assert newest.number == "PH-001"
    assert newest.transferred_from_id == lab.id
    assert (
        db.session.scalar(select(func.count()).where(Ticket.status_token == token)) == 3
    )  # one page, three tickets


def test_latest_ticket_for_token_with_frozen_clock(world: World) -> None:
    """Transfer in the same instant as check-in still yields the newest ticket."""
    w = world
    ticket = walk_in(w.gm, actor=w.receptionist)
    follow = moves.override_ticket(ticket.id, action="transfer", actor=None, department_id=w.lab.id)
    db.session.commit()
    assert follow.checked_in_at == ticket.checked_in_at
    assert reads.latest_ticket_for_token(ticket.status_token).id == follow.id


def test_transfer_refused_when_patient_active_in_target(world: World) -> None:
    w = world
    ticket = walk_in(w.gm, actor=w.receptionist)
    walk_in(w.lab, ticket.patient, actor=w.receptionist)
    before = columns(ticket)
    count = event_count()
    with pytest.raises(Conflict):
        moves.override_ticket(ticket.id, action="transfer", actor=None, department_id=w.lab.id)
    assert columns(ticket) == before and event_count() == count


def test_transfer_frees_the_service_point(world: World) -> None:
    w = world
    ticket = walk_in(w.gm, actor=w.receptionist)
    moves.transition_ticket(ticket.id, status="called", actor=None, service_point_id=w.room1.id)
    moves.override_ticket(ticket.id, action="transfer", actor=None, department_id=w.lab.id)
    db.session.commit()
    nxt = walk_in(w.gm, actor=w.receptionist)
    assert moves.call_next(service_point_id=w.room1.id, actor=w.clinician).id == nxt.id


# ------------------------------------------------------------------ call-next


def test_call_next_takes_first_and_sets_room_and_clinician(world: World) -> None:
    w = world
    first, second = walk_in(w.gm, actor=w.receptionist), walk_in(w.gm, actor=w.receptionist)
    called = moves.call_next(service_point_id=w.room1.id, actor=w.clinician)
    db.session.commit()
    assert called.id == first.id
    assert called.status == "called"
    assert called.service_point_id == w.room1.id
    assert called.clinician_id == w.clinician.id
    assert called.called_at == T0
    [_, event] = events_of(first.id)
    assert (event.action, event.from_status, event.to_status) == ("call", "waiting", "called")
    assert event.service_point_id == w.room1.id and event.user_id == w.clinician.id
    # The clinician is now signed in at Room 1.
    assert w.room1.clinician_id == w.clinician.id and w.room1.signed_in_at == T0
    assert second.status == "waiting"


@pytest.mark.parametrize("busy_state", ["called", "in_service"])
def test_call_next_refused_while_room_busy(world: World, busy_state: str) -> None:
    w = world
    ticket = walk_in(w.gm, actor=w.receptionist)
    waiting = walk_in(w.gm, actor=w.receptionist)
    moves.call_next(service_point_id=w.room1.id, actor=w.clinician)
    if busy_state == "in_service":
        moves.transition_ticket(ticket.id, status="in_service", actor=w.clinician)
    db.session.commit()
    count = event_count()
    before = columns(waiting)
    with pytest.raises(Conflict):
        moves.call_next(service_point_id=w.room1.id, actor=w.clinician)
    assert event_count() == count and columns(waiting) == before
    # An explicit call to the busy room is refused as well.
    with pytest.raises(Conflict):
        moves.transition_ticket(
            waiting.id, status="called", actor=w.clinician, service_point_id=w.room1.id
        )
    assert event_count() == count and columns(waiting) == before
    db.session.rollback()
    # Room 2 is free and may call.
    assert moves.call_next(service_point_id=w.room2.id, actor=None).id == waiting.id


@pytest.mark.parametrize("release", ["completed", "no_show", "waiting"])
def test_call_next_allowed_after_release(world: World, release: str) -> None:
    w = world
    first, second = walk_in(w.gm, actor=w.receptionist), walk_in(w.gm, actor=w.receptionist)
    moves.call_next(service_point_id=w.room1.id, actor=w.clinician)
    if release == "completed":
        moves.transition_ticket(first.id, status="in_service", actor=w.clinician)
    moves.transition_ticket(first.id, status=release, actor=w.clinician)
    db.session.commit()
    expected = first if release == "waiting" else second  # return_to_queue keeps the place
    assert moves.call_next(service_point_id=w.room1.id, actor=w.clinician).id == expected.id


def test_call_next_returns_none_when_nothing_waits(world: World) -> None:
    assert moves.call_next(service_point_id=world.room1.id, actor=world.clinician) is None
    assert event_count() == 0


def test_call_next_ignores_other_departments(world: World) -> None:
    walk_in(world.lab, actor=world.receptionist)
    assert moves.call_next(service_point_id=world.room1.id, actor=None) is None


def test_call_next_none_when_all_assigned_elsewhere(world: World) -> None:
    w = world
    a, b = walk_in(w.gm, actor=w.receptionist), walk_in(w.gm, actor=w.receptionist)
    for ticket in (a, b):
        moves.override_ticket(
            ticket.id,
            action="assign",
            actor=w.receptionist,
            service_point_id=w.room2.id,
            reason="room 2 has the equipment",
        )
    db.session.commit()
    count = event_count()
    assert moves.call_next(service_point_id=w.room1.id, actor=w.clinician) is None
    assert event_count() == count
    assert moves.call_next(service_point_id=w.room2.id, actor=None).id == a.id


def test_call_next_takes_assigned_to_me_and_skips_assigned_elsewhere(world: World) -> None:
    w = world
    elsewhere, mine, free = (
        walk_in(w.gm, actor=w.receptionist),
        walk_in(w.gm, actor=w.receptionist),
        walk_in(w.gm, actor=w.receptionist),
    )
    moves.override_ticket(elsewhere.id, action="assign", actor=None, service_point_id=w.room2.id)
    moves.override_ticket(mine.id, action="assign", actor=None, service_point_id=w.room1.id)
    db.session.commit()
    assert moves.call_next(service_point_id=w.room1.id, actor=None).id == mine.id
    moves.transition_ticket(mine.id, status="no_show", actor=None)
    assert moves.call_next(service_point_id=w.room1.id, actor=None).id == free.id


def test_explicit_call_of_ticket_assigned_elsewhere_conflicts(world: World) -> None:
    w = world
    ticket = walk_in(w.gm, actor=w.receptionist)
    moves.override_ticket(ticket.id, action="assign", actor=None, service_point_id=w.room2.id)
    db.session.commit()
    before = columns(ticket)
    with pytest.raises(Conflict):
        moves.transition_ticket(ticket.id, status="called", actor=None, service_point_id=w.room1.id)
    assert columns(ticket) == before


def test_call_next_by_non_clinician_uses_room_clinician(world: World) -> None:
    w = world
    w.room1.clinician_id = w.clinician.id
    admin = UserFactory(role="admin", username="boss")
    db.session.commit()
    walk_in(w.gm, actor=w.receptionist)
    called = moves.call_next(service_point_id=w.room1.id, actor=admin)
    assert called.clinician_id == w.clinician.id


def test_clinician_signs_in_at_one_room_only(world: World) -> None:
    w = world
    walk_in(w.gm, actor=w.receptionist)
    walk_in(w.gm, actor=w.receptionist)
    moves.call_next(service_point_id=w.room1.id, actor=w.clinician)
    moves.call_next(service_point_id=w.room2.id, actor=w.clinician)
    db.session.commit()
    db.session.expire_all()
    assert w.room2.clinician_id == w.clinician.id
    assert w.room1.clinician_id is None


# -------------------------------------------------------------------- recall


def test_recall_increments_recall_count(world: World, clock: Any) -> None:
    w = world
    ticket = walk_in(w.gm, actor=w.receptionist)
    moves.call_next(service_point_id=w.room1.id, actor=w.clinician)
    for expected in (1, 2, 3):
        clock.shift(timedelta(minutes=1))
        moves.override_ticket(ticket.id, action="recall", actor=w.clinician)
        db.session.commit()
        assert ticket.recall_count == expected
    assert ticket.status == "called" and ticket.service_point_id == w.room1.id
    recalls = [e for e in events_of(ticket.id) if e.action == "recall"]
    assert len(recalls) == 3
    assert all(e.service_point_id == w.room1.id for e in recalls)
    assert all((e.from_status, e.to_status) == ("called", "called") for e in recalls)
