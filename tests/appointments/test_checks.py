"""Judging a booking or a move without saving it, and every broken rule told at once.

Frozen on Monday 9 June 2025, 08:00 in London; the clinic opens 08:00–17:00 on weekdays.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from tests.factories import AppointmentFactory, DepartmentFactory, PatientFactory, UserFactory
from webapp.appointments.models import Appointment
from webapp.appointments.services import (
    book_appointment,
    check_booking,
    check_reschedule,
    reschedule_appointment,
)
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.domain_errors import Conflict, ValidationFailed
from webapp.extensions import db
from webapp.patients.models import Patient

LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2025, 6, 10)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "Europe/London"}


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    with time_machine.travel(datetime(2025, 6, 9, 8, 0, tzinfo=LONDON), tick=False):
        yield


def at(hhmm: str, day: date = TUESDAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), LONDON)


@pytest.fixture
def clinic(app: Flask) -> Department:
    department = DepartmentFactory(
        opening_hours={day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    )
    db.session.commit()
    return department


@pytest.fixture
def doctor(app: Flask) -> User:
    user = UserFactory(role="clinician", full_name="Dr Ada Byron")
    db.session.commit()
    return user


@pytest.fixture
def patient(app: Flask) -> Patient:
    person = PatientFactory()
    db.session.commit()
    return person


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment)) or 0


def test_booking_tells_every_broken_rule_at_once(
    clinic: Department, doctor: User, patient: Patient
) -> None:
    doctor.active = False
    with pytest.raises(ValidationFailed) as failure:
        book_appointment(
            patient_id=patient.id,
            department_id=clinic.id,
            clinician_id=doctor.id,
            starts_at=at("07:00", date(2025, 6, 2)),
            duration_minutes=1,
            reason="x" * 201,
            actor=None,
        )
    assert set(failure.value.errors) == {"reason", "clinician_id", "starts_at", "duration_minutes"}
    assert count() == 0


def test_check_booking_judges_only_what_is_known_and_saves_nothing(
    clinic: Department, patient: Patient
) -> None:
    check_booking()  # nothing known, nothing to say
    check_booking(department_id=clinic.id, starts_at=at("09:00"), duration_minutes=20)
    with pytest.raises(ValidationFailed) as failure:
        check_booking(department_id=clinic.id, starts_at=at("16:50"), duration_minutes=20)
    assert "is outside that" in failure.value.errors["starts_at"]
    with pytest.raises(ValidationFailed) as failure:
        check_booking(patient_id=999_999, duration_minutes=481, reason="ok")
    assert set(failure.value.errors) == {"patient_id", "duration_minutes"}
    assert count() == 0


def test_an_overlap_alone_stays_a_conflict_and_joins_other_problems(
    clinic: Department, patient: Patient
) -> None:
    AppointmentFactory(patient=patient, department=clinic, starts_at=at("09:00"))
    db.session.commit()
    known = {"patient_id": patient.id, "department_id": clinic.id, "duration_minutes": 20}
    with pytest.raises(Conflict):
        check_booking(**known, starts_at=at("09:10"))
    with pytest.raises(ValidationFailed) as failure:
        check_booking(**known, starts_at=at("09:10"), reason="x" * 201)
    assert "already has an appointment" in failure.value.errors["starts_at"]
    assert "reason" in failure.value.errors


def test_check_reschedule_judges_the_known_parts_of_a_move(
    clinic: Department, patient: Patient, doctor: User
) -> None:
    appointment = AppointmentFactory(patient=patient, department=clinic, starts_at=at("09:00"))
    db.session.commit()
    check_reschedule(appointment, starts_at=at("10:00"), duration_minutes=30)
    with pytest.raises(ValidationFailed) as failure:
        check_reschedule(appointment, duration_minutes=0, clinician_id=patient.id + 10_000)
    assert set(failure.value.errors) == {"duration_minutes", "clinician_id"}
    with pytest.raises(ValidationFailed) as failure:
        reschedule_appointment(appointment, actor=None, starts_at=at("18:00"), duration_minutes=600)
    assert set(failure.value.errors) == {"duration_minutes"}  # hours need a valid length
    appointment.status = "cancelled"
    with pytest.raises(Conflict):
        check_reschedule(appointment, duration_minutes=20)
