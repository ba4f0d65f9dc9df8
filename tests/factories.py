"""factory_boy factories for the domain models (flushed, never committed, by the session)."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from webapp.appointments.models import Appointment
from webapp.auth.models import User
from webapp.database import utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.patients.models import Patient
from webapp.queue.models import Ticket
from webapp.queue.moves import check_in

DEFAULT_PASSWORD = "correct horse battery"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name")
    role = "receptionist"
    active = True
    password_hash = factory.LazyFunction(lambda: _hash(DEFAULT_PASSWORD))


def _hash(password: str) -> str:
    from webapp.auth.services import hash_password

    return hash_password(password)


def department_code(n: int) -> str:
    """A unique 4-letter department code for the n-th factory department: "D" + 3 letters
    in base 26, so a long test session never outgrows the 4-character column."""
    letters = []
    for _ in range(3):
        n, remainder = divmod(n, 26)
        letters.append(chr(65 + remainder))
    return "D" + "".join(reversed(letters))


class DepartmentFactory(BaseFactory):
    class Meta:
        model = Department

    code = factory.Sequence(department_code)
    name = factory.Sequence(lambda n: f"Department {n}")
    default_service_minutes = 15
    accepts_walk_ins = True
    active = True


class ServicePointFactory(BaseFactory):
    class Meta:
        model = ServicePoint

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"Room {n}")
    active = True


class PatientFactory(BaseFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"T{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = date(1980, 5, 17)
    sms_opt_in = False


class AppointmentFactory(BaseFactory):
    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    department = factory.SubFactory(DepartmentFactory)
    starts_at = factory.LazyFunction(lambda: utcnow() + timedelta(hours=1))
    duration_minutes = 20
    ends_at = factory.LazyAttribute(lambda a: a.starts_at + timedelta(minutes=a.duration_minutes))
    status = "booked"


class NotificationFactory(BaseFactory):
    """An outbox row written straight to the table: nothing is queued or sent for it.

    Pass ``status="failed"`` (with ``attempts`` and ``last_error``) for a failure to resend.
    """

    class Meta:
        model = Notification

    patient = factory.SubFactory(PatientFactory)
    channel = "sms"
    template_key = "check_in"
    body = factory.Sequence(lambda n: f"Checked in: ticket T-{n:03d}. Reply STOP to opt out.")
    status = "pending"
    attempts = 0
    created_at = factory.LazyFunction(utcnow)
    sent_at = factory.LazyAttribute(lambda n: n.created_at if n.status == "sent" else None)


def walk_in(
    department: Department,
    patient: Patient | str | None = None,
    priority: str = "routine",
    *,
    actor: User | None = None,
) -> Ticket:
    """A waiting walk-in ticket, straight through the queue service, committed.

    ``patient``: a Patient, or a first name for a new one (None: a new anonymous one).
    """
    if not isinstance(patient, Patient):
        patient = PatientFactory(first_name=patient) if patient else PatientFactory()
    ticket = check_in(
        actor=actor, patient_id=patient.id, department_id=department.id, priority=priority
    )
    db.session.commit()
    return ticket
