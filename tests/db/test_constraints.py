"""The database itself refuses invalid rows, whatever the services check first.

Rows go in straight through the ORM models. Each test runs on in-memory SQLite
built by ``create_all`` (the unit-test database), on a SQLite file built by the
migration (the embedded default) and on PostgreSQL built by the migration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from tests.db.helpers import SERVICE_DAY, new_ticket
from tests.factories import (
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
)
from webapp.appointments.models import Appointment
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.patients.models import Patient
from webapp.queue.models import QueueEvent, Ticket, TicketSequence


@pytest.fixture
def db_app(any_db_app: Flask) -> Flask:
    return any_db_app


def assert_refused(*rows: Any) -> IntegrityError:
    """Adding ``rows`` fails at flush with IntegrityError; the session is rolled back."""
    db.session.add_all(rows)
    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    db.session.rollback()
    return caught.value


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def make_user(username: str, role: str = "receptionist") -> User:
    return User(username=username, full_name="Someone", role=role, password_hash="x" * 60)


# ------------------------------------------------------------------ uniqueness


def test_it_refuses_a_username_differing_only_in_case(db_app: Flask) -> None:
    db.session.add(make_user("akhan"))
    db.session.commit()

    assert_refused(make_user("AKhan"))

    assert db.session.scalars(select(User.username)).all() == ["akhan"]


def test_it_accepts_distinct_usernames(db_app: Flask) -> None:
    db.session.add_all([make_user("akhan"), make_user("akhan2")])
    db.session.commit()

    assert count(User) == 2


def test_it_refuses_a_duplicate_department_code(db_app: Flask) -> None:
    DepartmentFactory(code="GM")
    db.session.commit()

    assert_refused(Department(code="GM", name="General medicine again"))

    assert count(Department) == 1


def test_it_refuses_a_duplicate_patient_mrn(db_app: Flask) -> None:
    PatientFactory(mrn="M0001")
    db.session.commit()

    assert_refused(
        Patient(mrn="M0001", first_name="Other", last_name="Person", date_of_birth=date(1990, 1, 1))
    )

    assert count(Patient) == 1


def test_it_refuses_a_duplicate_service_point_name_within_a_department(db_app: Flask) -> None:
    point = ServicePointFactory(name="Room 1")
    other_department = DepartmentFactory()
    db.session.commit()

    ServicePointFactory(department=other_department, name="Room 1")  # another department: fine
    db.session.commit()
    assert_refused(ServicePoint(department_id=point.department_id, name="Room 1"))


def test_it_refuses_a_duplicate_daily_metric_for_a_department_and_day(db_app: Flask) -> None:
    from webapp.reports.models import DailyMetric

    department = DepartmentFactory()
    db.session.add(DailyMetric(department_id=department.id, service_day=SERVICE_DAY))
    db.session.commit()

    assert_refused(DailyMetric(department_id=department.id, service_day=SERVICE_DAY))


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"number": "GM-999"}, id="same-sequence"),
        pytest.param({"sequence": 99}, id="same-number"),
    ],
)
def test_it_refuses_a_duplicate_ticket_number_for_a_department_and_day(
    db_app: Flask, changes: dict[str, Any]
) -> None:
    department, first, second = DepartmentFactory(), PatientFactory(), PatientFactory()
    db.session.add(new_ticket(department_id=department.id, patient_id=first.id, sequence=1))
    db.session.commit()

    duplicate = new_ticket(department_id=department.id, patient_id=second.id, sequence=1)
    for name, value in changes.items():
        setattr(duplicate, name, value)
    assert_refused(duplicate)

    assert count(Ticket) == 1


def test_it_accepts_the_same_ticket_number_on_another_day_or_department(db_app: Flask) -> None:
    department, other_department = DepartmentFactory(), DepartmentFactory()
    patients = [PatientFactory() for _ in range(3)]
    db.session.add_all(
        [
            new_ticket(department_id=department.id, patient_id=patients[0].id, sequence=1),
            new_ticket(
                department_id=department.id,
                patient_id=patients[1].id,
                sequence=1,
                service_day=SERVICE_DAY + timedelta(days=1),
            ),
            new_ticket(department_id=other_department.id, patient_id=patients[2].id, sequence=1),
        ]
    )
    db.session.commit()

    assert db.session.scalars(select(Ticket.number)).all() == ["GM-001"] * 3


@pytest.mark.parametrize("active_status", ["waiting", "called", "in_service"])
def test_it_refuses_a_second_active_ticket_for_a_patient_in_a_department(
    db_app: Flask, active_status: str
) -> None:
    department, patient = DepartmentFactory(), PatientFactory()
    db.session.add(
        new_ticket(
            department_id=department.id, patient_id=patient.id, sequence=1, status=active_status
        )
    )
    db.session.commit()

    error = assert_refused(
        new_ticket(department_id=department.id, patient_id=patient.id, sequence=2)
    )

    assert count(Ticket) == 1
    assert "uq_tickets_one_active_per_patient_department" in str(error.orig) or (
        "tickets.patient_id, tickets.department_id" in str(error.orig)
    )


@pytest.mark.parametrize("final_status", ["completed", "cancelled", "no_show", "transferred"])
def test_it_accepts_a_new_waiting_ticket_after_a_finished_one(
    db_app: Flask, final_status: str
) -> None:
    department, patient = DepartmentFactory(), PatientFactory()
    db.session.add(
        new_ticket(
            department_id=department.id, patient_id=patient.id, sequence=1, status=final_status
        )
    )
    db.session.commit()

    db.session.add(new_ticket(department_id=department.id, patient_id=patient.id, sequence=2))
    db.session.commit()

    assert sorted(db.session.scalars(select(Ticket.status))) == sorted([final_status, "waiting"])


def test_it_accepts_active_tickets_for_one_patient_in_two_departments(db_app: Flask) -> None:
    patient = PatientFactory()
    departments = [DepartmentFactory(), DepartmentFactory()]
    db.session.add_all(
        [new_ticket(department_id=d.id, patient_id=patient.id, sequence=1) for d in departments]
    )
    db.session.commit()

    assert count(Ticket) == 2


def test_it_refuses_reactivating_a_finished_ticket_beside_an_active_one(db_app: Flask) -> None:
    department, patient = DepartmentFactory(), PatientFactory()
    finished = new_ticket(
        department_id=department.id, patient_id=patient.id, sequence=1, status="completed"
    )
    db.session.add_all(
        [finished, new_ticket(department_id=department.id, patient_id=patient.id, sequence=2)]
    )
    db.session.commit()

    with pytest.raises(IntegrityError):
        db.session.execute(update(Ticket).where(Ticket.id == finished.id).values(status="called"))
    db.session.rollback()


@pytest.mark.parametrize(
    "statuses",
    [("called", "called"), ("called", "in_service"), ("in_service", "in_service")],
)
def test_it_refuses_two_serving_tickets_at_one_service_point(
    db_app: Flask, statuses: tuple[str, str]
) -> None:
    point = ServicePointFactory()
    first, second = PatientFactory(), PatientFactory()
    db.session.add(
        new_ticket(
            department_id=point.department_id,
            patient_id=first.id,
            sequence=1,
            status=statuses[0],
            service_point_id=point.id,
        )
    )
    db.session.commit()

    assert_refused(
        new_ticket(
            department_id=point.department_id,
            patient_id=second.id,
            sequence=2,
            status=statuses[1],
            service_point_id=point.id,
        )
    )

    assert count(Ticket) == 1


def test_it_accepts_waiting_and_finished_tickets_beside_the_one_serving(db_app: Flask) -> None:
    point = ServicePointFactory()
    statuses = ["called", "waiting", "waiting", "completed", "no_show"]
    db.session.add_all(
        [
            new_ticket(
                department_id=point.department_id,
                patient_id=PatientFactory().id,
                sequence=sequence,
                status=status,
                service_point_id=point.id,
            )
            for sequence, status in enumerate(statuses, start=1)
        ]
    )
    db.session.commit()

    assert count(Ticket) == len(statuses)


def test_it_refuses_a_second_counter_for_a_department_and_day(db_app: Flask) -> None:
    department = DepartmentFactory()
    db.session.add(TicketSequence(department_id=department.id, service_day=SERVICE_DAY))
    db.session.commit()

    assert_refused(TicketSequence(department_id=department.id, service_day=SERVICE_DAY))


# ------------------------------------------------------------ check constraints


def _ticket(**changes: Any) -> Callable[[], Any]:
    def build() -> Ticket:
        ticket = new_ticket(
            department_id=DepartmentFactory().id, patient_id=PatientFactory().id, sequence=1
        )
        for name, value in changes.items():
            setattr(ticket, name, value)
        return ticket

    return build


def _appointment(**changes: Any) -> Callable[[], Any]:
    def build() -> Appointment:
        values: dict[str, Any] = {
            "starts_at": START,
            "duration_minutes": 20,
            "ends_at": START + timedelta(minutes=20),
            **changes,
        }
        return Appointment(patient=PatientFactory(), department=DepartmentFactory(), **values)

    return build


START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

# name -> (build an invalid row, the CHECK constraint that must refuse it)
INVALID_ROWS: dict[str, tuple[Callable[[], Any], str]] = {
    "user-role": (lambda: make_user("u1", role="superuser"), "ck_users_role"),
    "user-role-case": (lambda: make_user("u1", role="Admin"), "ck_users_role"),
    "department-service-minutes-zero": (
        lambda: Department(code="ZZ", name="Zero", default_service_minutes=0),
        "ck_departments_default_service_minutes_positive",
    ),
    "department-service-minutes-negative": (
        lambda: Department(code="ZZ", name="Neg", default_service_minutes=-5),
        "ck_departments_default_service_minutes_positive",
    ),
    "patient-sex": (
        lambda: Patient(
            mrn="M1", first_name="A", last_name="B", date_of_birth=date(1990, 1, 1), sex="x"
        ),
        "ck_patients_sex",
    ),
    "ticket-status": (_ticket(status="lost"), "ck_tickets_status"),
    "ticket-priority": (_ticket(priority="vip"), "ck_tickets_priority"),
    "ticket-sequence-zero": (_ticket(sequence=0), "ck_tickets_sequence_positive"),
    "appointment-ends-at-start": (
        _appointment(ends_at=START),
        "ck_appointments_ends_after_start",
    ),
    "appointment-ends-before-start": (
        _appointment(ends_at=START - timedelta(minutes=1)),
        "ck_appointments_ends_after_start",
    ),
    # 10:00 at UTC+2 is 08:00 UTC, before the 09:00 UTC start, though its wall clock is later.
    "appointment-ends-before-start-other-offset": (
        _appointment(ends_at=datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=2)))),
        "ck_appointments_ends_after_start",
    ),
    "appointment-duration-zero": (
        _appointment(duration_minutes=0),
        "ck_appointments_duration_positive",
    ),
    "appointment-status": (_appointment(status="pending"), "ck_appointments_status"),
    "notification-channel": (
        lambda: Notification(
            patient_id=PatientFactory().id, channel="fax", template_key="k", body="b"
        ),
        "ck_notifications_channel",
    ),
    "notification-status": (
        lambda: Notification(
            patient_id=PatientFactory().id,
            channel="sms",
            template_key="k",
            body="b",
            status="queued",
        ),
        "ck_notifications_status",
    ),
}


@pytest.mark.parametrize(("build", "constraint"), INVALID_ROWS.values(), ids=INVALID_ROWS.keys())
def test_it_refuses_a_value_its_check_constraints_forbid(
    db_app: Flask, build: Callable[[], Any], constraint: str
) -> None:
    row = build()
    model = type(row)
    before = count(model)

    error = assert_refused(row)

    message = str(error.orig).lower()
    assert "check constraint" in message
    assert constraint in message
    assert count(model) == before


def test_it_refuses_a_queue_event_with_an_unknown_action(db_app: Flask) -> None:
    ticket = _ticket()()
    db.session.add(ticket)
    db.session.flush()

    error = assert_refused(
        QueueEvent(
            ticket_id=ticket.id,
            department_id=ticket.department_id,
            action="teleport",
            to_status="x",
        )
    )

    assert "ck_queue_events_action" in str(error.orig)


def test_it_accepts_an_appointment_ending_later_in_another_offset(db_app: Flask) -> None:
    # Starts 10:30 at UTC+2 (08:30 UTC), ends 09:00 UTC: "09:00" reads earlier than "10:30",
    # but the instants are what the constraint compares (both are stored in UTC).
    starts_at = datetime(2026, 11, 24, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    db.session.add(_appointment(starts_at=starts_at, ends_at=START, duration_minutes=30)())
    db.session.commit()

    assert db.session.scalar(select(Appointment.ends_at)) == START


# ----------------------------------------------------------------- foreign keys


def test_it_refuses_a_ticket_for_a_nonexistent_patient(db_app: Flask) -> None:
    department = DepartmentFactory()
    db.session.commit()

    error = assert_refused(new_ticket(department_id=department.id, patient_id=999_999, sequence=1))

    assert "foreign key" in str(error.orig).lower()
    assert count(Ticket) == 0


def test_it_refuses_a_ticket_for_a_nonexistent_department(db_app: Flask) -> None:
    patient = PatientFactory()
    db.session.commit()

    error = assert_refused(new_ticket(department_id=424_242, patient_id=patient.id, sequence=1))

    assert "foreign key" in str(error.orig).lower()


def test_it_refuses_deleting_a_patient_who_has_tickets(db_app: Flask) -> None:
    department, patient = DepartmentFactory(), PatientFactory()
    db.session.add(new_ticket(department_id=department.id, patient_id=patient.id, sequence=1))
    db.session.commit()

    with pytest.raises(IntegrityError):
        db.session.execute(delete(Patient).where(Patient.id == patient.id))
    db.session.rollback()

    assert count(Patient) == 1


def test_it_nulls_the_audit_user_when_the_user_is_deleted(db_app: Flask) -> None:
    user = UserFactory()
    db.session.add(AuditLog(user_id=user.id, action="user.login"))
    db.session.commit()

    db.session.execute(delete(User).where(User.id == user.id))
    db.session.commit()

    assert db.session.scalars(select(AuditLog.user_id)).all() == [None]


def test_it_deletes_a_departments_ticket_counters_with_it(db_app: Flask) -> None:
    department = DepartmentFactory()
    db.session.add(TicketSequence(department_id=department.id, service_day=SERVICE_DAY))
    db.session.commit()

    db.session.execute(delete(Department).where(Department.id == department.id))
    db.session.commit()

    assert count(TicketSequence) == 0
