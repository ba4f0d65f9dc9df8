"""Queue versions: every change to what a department's screens show bumps that department's
version when its transaction commits, and no other department's; nothing is bumped by a
transaction rolled back; a version only grows; a stamp sent by a screen is judged safely."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event, update

from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory, UserFactory
from webapp import clock
from webapp.appointments.services import book_appointment, cancel_appointment
from webapp.database import utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.departments.services import (
    add_service_point,
    create_department,
    update_department,
    update_service_point,
)
from webapp.extensions import db
from webapp.live.models import DEPARTMENT_LIST
from webapp.live.versions import current, is_current, parse_stamp, stamp_for
from webapp.patients.models import Patient
from webapp.patients.services import update_patient
from webapp.queue.day_close import close_day
from webapp.queue.models import Ticket
from webapp.queue.moves import apply_move, call_next, check_in, sign_in_at_service_point
from webapp.queue.state import position_of


@pytest.fixture
def gm(app: Flask) -> Iterator[Department]:
    department = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    yield department
    db.session.rollback()  # SQLite trips over transfer chains (RESTRICT key) on teardown
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


@pytest.fixture
def lab(gm: Department) -> Department:
    department = DepartmentFactory(code="LAB", name="Laboratory")
    db.session.commit()
    return department


@pytest.fixture
def room(gm: Department) -> ServicePoint:
    point = ServicePointFactory(department=gm, name="Room 1")
    db.session.commit()
    return point


def _patient() -> Patient:
    patient = PatientFactory()
    db.session.commit()
    return patient


def _ticket(department: Department) -> Ticket:
    ticket = check_in(actor=None, patient_id=_patient().id, department_id=department.id)
    db.session.commit()
    return ticket


def _ticket_in(status: str, department: Department, room: ServicePoint) -> Ticket:
    """A ticket of ``department`` in ``status``, behind another waiting ticket."""
    _ticket(department)
    ticket = _ticket(department)
    if status in ("called", "in_service"):
        apply_move(ticket.id, "call", actor=None, service_point_id=room.id)
    if status == "in_service":
        apply_move(ticket.id, "start", actor=None)
    db.session.commit()
    return ticket


def _versions(*ids: int) -> dict[int, int]:
    db.session.expire_all()
    return current(ids)


def assert_bumps(
    change: Callable[[], object],
    bumped: list[int],
    untouched: list[int],
) -> None:
    """``change`` (then a commit) grows the versions of ``bumped`` and no other's."""
    ids = [*bumped, *untouched]
    before = _versions(*ids)
    change()
    # Not bumped until the commit: a poll in between must not see a version of uncommitted data.
    assert _versions(*ids) == before
    db.session.commit()
    after = _versions(*ids)
    for department_id in bumped:
        assert after[department_id] > before[department_id], department_id
    for department_id in untouched:
        assert after[department_id] == before[department_id], department_id


# ------------------------------------------------------------------ queue changes


def test_a_check_in_bumps_its_department(gm: Department, lab: Department) -> None:
    patient = _patient()
    assert_bumps(
        lambda: check_in(actor=None, patient_id=patient.id, department_id=gm.id),
        [gm.id],
        [lab.id, DEPARTMENT_LIST],
    )


def test_calling_the_next_patient_bumps_its_department(
    gm: Department, lab: Department, room: ServicePoint
) -> None:
    _ticket(gm)
    assert_bumps(
        lambda: call_next(service_point_id=room.id, actor=None),
        [gm.id],
        [lab.id, DEPARTMENT_LIST],
    )


@pytest.mark.parametrize(
    ("status", "move", "arguments"),
    [
        ("called", "recall", {}),
        ("waiting", "skip", {"reason": "Not here yet"}),
        ("called", "skip", {"reason": "Stepped out"}),
        ("waiting", "move_to_front", {"reason": "Frail"}),
        ("waiting", "set_priority", {"priority": "urgent", "reason": "Chest pain"}),
        ("waiting", "assign", {"reason": "Needs Room 1"}),
        ("waiting", "cancel", {"reason": "Went home"}),
        ("called", "start", {}),
        ("in_service", "complete", {}),
        ("called", "no_show", {}),
        ("in_service", "no_show", {}),
        ("called", "return_to_queue", {}),
    ],
)
def test_each_move_bumps_its_department(
    gm: Department,
    lab: Department,
    room: ServicePoint,
    status: str,
    move: str,
    arguments: dict[str, str],
) -> None:
    ticket = _ticket_in(status, gm, room)
    if move == "assign":
        arguments = {**arguments, "service_point_id": str(room.id)}
    assert_bumps(
        lambda: apply_move(
            ticket.id,
            move,
            actor=None,
            **{k: int(v) if k == "service_point_id" else v for k, v in arguments.items()},  # type: ignore[arg-type]
        ),
        [gm.id],
        [lab.id, DEPARTMENT_LIST],
    )


@pytest.mark.parametrize("status", ["waiting", "called", "in_service"])
def test_a_transfer_bumps_both_departments(
    gm: Department, lab: Department, room: ServicePoint, status: str
) -> None:
    other = DepartmentFactory(code="XR", name="X-Ray")
    db.session.commit()
    ticket = _ticket_in(status, gm, room)
    assert_bumps(
        lambda: apply_move(ticket.id, "transfer", actor=None, department_id=lab.id),
        [gm.id, lab.id],
        [other.id, DEPARTMENT_LIST],
    )


def test_the_end_of_day_close_bumps_the_department_it_closes(
    gm: Department, lab: Department, room: ServicePoint
) -> None:
    _ticket_in("in_service", gm, room)  # one waiting (cancelled), one in service (completed)
    _ticket(lab)
    today = clock.today()
    closed = None

    def close() -> None:
        nonlocal closed
        closed = close_day(gm, today, utcnow() + timedelta(days=1))

    assert_bumps(close, [gm.id], [lab.id, DEPARTMENT_LIST])
    assert closed is not None and closed.changed == 2


def test_a_clinician_signing_in_at_a_room_bumps_its_department(
    gm: Department, lab: Department, room: ServicePoint
) -> None:
    clinician = UserFactory(role="clinician")
    db.session.commit()
    assert_bumps(
        lambda: sign_in_at_service_point(room.id, clinician), [gm.id], [lab.id, DEPARTMENT_LIST]
    )
    # Signing in again where one already sits changes nothing any screen shows.
    assert_bumps(lambda: sign_in_at_service_point(room.id, clinician), [], [gm.id, lab.id])


def test_a_clinician_moving_to_another_departments_room_bumps_both(
    gm: Department, lab: Department, room: ServicePoint
) -> None:
    room2 = ServicePointFactory(department=gm, name="Room 2")
    lab_room = ServicePointFactory(department=lab, name="Bench 1")
    moving, staying = UserFactory(role="clinician"), UserFactory(role="clinician")
    db.session.commit()
    sign_in_at_service_point(room.id, moving)
    sign_in_at_service_point(room2.id, staying)
    db.session.commit()
    _ticket(gm)
    second = _ticket(gm)
    assert position_of(second) is not None
    estimate_before = position_of(second).estimated_wait_minutes  # type: ignore[union-attr]

    assert_bumps(
        lambda: sign_in_at_service_point(lab_room.id, moving), [lab.id, gm.id], [DEPARTMENT_LIST]
    )
    # What GM's screens show did change: one serving room fewer, a longer wait.
    db.session.expire_all()
    assert position_of(second).estimated_wait_minutes > estimate_before  # type: ignore[union-attr]


# ------------------------------------------------------------------ departments and rooms


def test_a_department_update_bumps_it_and_the_department_list(
    gm: Department, lab: Department
) -> None:
    assert_bumps(
        lambda: update_department(gm, actor=None, name="General Medicine (East)"),
        [gm.id, DEPARTMENT_LIST],
        [lab.id],
    )


def test_a_department_update_that_changes_nothing_bumps_nothing(
    gm: Department, lab: Department
) -> None:
    assert_bumps(
        lambda: update_department(gm, actor=None, name=gm.name),
        [],
        [gm.id, lab.id, DEPARTMENT_LIST],
    )


def test_a_new_department_bumps_the_department_list(gm: Department, lab: Department) -> None:
    assert_bumps(
        lambda: create_department(code="CARD", name="Cardiology", actor=None),
        [DEPARTMENT_LIST],
        [gm.id, lab.id],
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d, p: add_service_point(d, name="Room 9", actor=None), id="add"),
        pytest.param(
            lambda d, p: update_service_point(p, name="Room One", actor=None), id="rename"
        ),
        pytest.param(
            lambda d, p: update_service_point(p, active=False, actor=None), id="deactivate"
        ),
    ],
)
def test_a_service_point_change_bumps_its_department(
    gm: Department,
    lab: Department,
    room: ServicePoint,
    change: Callable[[Department, ServicePoint], object],
) -> None:
    assert_bumps(lambda: change(gm, room), [gm.id], [lab.id, DEPARTMENT_LIST])


# ------------------------------------------------------------------ other domains


def test_renaming_a_patient_bumps_the_departments_of_their_active_tickets(
    gm: Department, lab: Department
) -> None:
    ticket = _ticket(gm)
    other = DepartmentFactory(code="XR", name="X-Ray")
    db.session.commit()
    patient = db.session.get(Patient, ticket.patient_id)
    assert patient is not None
    check_in(actor=None, patient_id=patient.id, department_id=lab.id)
    db.session.commit()
    assert_bumps(
        lambda: update_patient(patient, actor=None, last_name="Renamed"),
        [gm.id, lab.id],
        [other.id, DEPARTMENT_LIST],
    )


def test_renaming_a_patient_without_an_active_ticket_bumps_nothing(
    gm: Department, lab: Department, room: ServicePoint
) -> None:
    ticket = _ticket_in("in_service", gm, room)
    apply_move(ticket.id, "complete", actor=None)
    db.session.commit()
    patient = db.session.get(Patient, ticket.patient_id)
    assert patient is not None
    assert_bumps(
        lambda: update_patient(patient, actor=None, first_name="Changed"),
        [],
        [gm.id, lab.id, DEPARTMENT_LIST],
    )


def test_booking_and_cancelling_an_appointment_bump_its_department(
    gm: Department, lab: Department
) -> None:
    patient = _patient()
    booked = []

    def book() -> None:
        booked.append(
            book_appointment(
                patient_id=patient.id,
                department_id=gm.id,
                starts_at=(utcnow() + timedelta(days=1)).replace(second=0, microsecond=0),
                duration_minutes=20,
                actor=None,
            )
        )

    assert_bumps(book, [gm.id], [lab.id, DEPARTMENT_LIST])
    assert_bumps(
        lambda: cancel_appointment(booked[0], actor=None, reason="Feeling better"),
        [gm.id],
        [lab.id, DEPARTMENT_LIST],
    )


# ------------------------------------------------------------------ transactions


def test_a_rolled_back_transaction_bumps_nothing(gm: Department, lab: Department) -> None:
    before = _versions(gm.id, lab.id, DEPARTMENT_LIST)
    check_in(actor=None, patient_id=_patient().id, department_id=gm.id)
    update_department(lab, actor=None, name="Pathology")
    db.session.rollback()
    assert _versions(gm.id, lab.id, DEPARTMENT_LIST) == before
    # And the touches went with it: the next commit of something else does not bump them.
    PatientFactory()
    db.session.commit()
    assert _versions(gm.id, lab.id, DEPARTMENT_LIST) == before


def test_a_savepoint_rolled_back_takes_its_touches_with_it(gm: Department, lab: Department) -> None:
    before = _versions(gm.id, lab.id)
    check_in(actor=None, patient_id=_patient().id, department_id=gm.id)
    savepoint = db.session.begin_nested()
    check_in(actor=None, patient_id=PatientFactory().id, department_id=lab.id)
    savepoint.rollback()
    db.session.commit()
    after = _versions(gm.id, lab.id)
    assert after[gm.id] > before[gm.id]
    assert after[lab.id] == before[lab.id]


def _version_writes() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "queue_versions" in statement and not statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_many_changes_in_one_transaction_bump_once(
    gm: Department, lab: Department, room: ServicePoint
) -> None:
    before = _versions(gm.id, lab.id)
    moment = utcnow() + timedelta(minutes=1)
    writes = _version_writes()
    seen = next(writes)
    with time_machine.travel(moment, tick=False):
        for _ in range(3):
            check_in(actor=None, patient_id=PatientFactory().id, department_id=gm.id)
        check_in(actor=None, patient_id=PatientFactory().id, department_id=lab.id)
        call_next(service_point_id=room.id, actor=None)
        db.session.commit()
    writes.close()
    after = _versions(gm.id, lab.id)
    # One statement bumps both departments, once each: the time of the change, not +5.
    assert len(seen) == 1
    floor = int(moment.timestamp() * 1_000_000)
    assert after == {gm.id: floor, lab.id: floor}
    assert after[gm.id] > before[gm.id]


def test_versions_only_grow(gm: Department) -> None:
    moment = utcnow() + timedelta(minutes=1)
    seen = []
    with time_machine.travel(moment, tick=False):
        for _ in range(2):  # twice within the same microsecond
            update_department(gm, actor=None, name=f"General Medicine {len(seen)}")
            db.session.commit()
            seen.append(_versions(gm.id)[gm.id])
    # The clock set back (a corrected server clock, a restored backup): still growing.
    with time_machine.travel(moment - timedelta(hours=2), tick=False):
        update_department(gm, actor=None, name="General Medicine again")
        db.session.commit()
        seen.append(_versions(gm.id)[gm.id])
    assert seen == [seen[0], seen[0] + 1, seen[0] + 2]


# ------------------------------------------------------------------ stamps


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "",
        "x",
        "20261201.1",
        "20261201.1-",
        "20261201.1-5",
        "20261201.1-5.",
        "2026120.1-5.7",
        "20261201.-1-5.7",
        "20261201.1--5.7",
        "20261201.1-5.-7",
        "-20261201.1-5.7",
        "20261201.1-5.7 ",
        "W/20261201.1-5.7",
        '"20261201.1-5.7"',
        "20261201.1" + "-5.7" * 600,
        "20261201." + "9" * 5000 + "-5.7",
        "x" * 100_000,
        "\x00" * 64,
        "20261201.1-5.7;DROP TABLE queue_versions",
    ],
)
def test_parse_stamp_refuses_junk_without_raising(junk: str | None) -> None:
    assert parse_stamp(junk) is None


@pytest.mark.parametrize("lookalike", ["20261201.1-5.7\n", "20261201.1-\u0665.7"])
def test_a_lookalike_stamp_is_read_as_the_stamp_it_looks_like(lookalike: str) -> None:
    # A trailing newline ($ allows one) and non-ASCII digits (\d is Unicode) are accepted, but
    # only ever as the ASCII stamp they stand for: no way to name another version.
    stamp = parse_stamp(lookalike)
    assert stamp is not None and str(stamp) == "20261201.1-5.7"


def test_a_stamp_survives_its_own_round_trip(gm: Department, lab: Department) -> None:
    _ticket(gm)
    stamp = stamp_for([gm.id, lab.id])
    assert parse_stamp(str(stamp)) == stamp
    assert is_current(stamp)


def test_a_stamp_is_not_current_once_its_department_changed(
    gm: Department, lab: Department
) -> None:
    stamp = stamp_for([gm.id])
    update_department(lab, actor=None, name="Pathology")  # another department: still current
    db.session.commit()
    assert not is_current(stamp)  # the list of departments changed (every board lists it)
    stamp = stamp_for([gm.id])
    _ticket(lab)
    assert is_current(stamp)
    _ticket(gm)
    assert not is_current(stamp)


def test_a_stamp_is_not_current_on_another_service_day(gm: Department) -> None:
    moment = utcnow()
    with time_machine.travel(moment, tick=False):
        stamp = stamp_for([gm.id])
        assert is_current(stamp)
    with time_machine.travel(moment + timedelta(days=1), tick=False):
        assert not is_current(stamp)
    with time_machine.travel(moment - timedelta(days=1), tick=False):
        assert not is_current(stamp)
