"""Fixtures for the kiosk: a department open at all hours, a patient whose every detail is
distinctive (so a test can look for it in every response), today's booking, two kiosks.

The clock is frozen at 08:00 UTC on Monday 2 March 2026 (the hospital runs on UTC here)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask

from tests.factories import DepartmentFactory, PatientFactory
from webapp.appointments.models import Appointment
from webapp.appointments.services import book_appointment
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.kiosk.services import register_kiosk
from webapp.patients.models import Patient

NOW = datetime.fromisoformat("2026-03-02T08:00:00+00:00")
BORN = date(1961, 4, 3)
FIRST, LAST = "Zebulon", "Quartermaine"
PHONE = "+12015550187"
MRN = "Q7734521"


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(app: Flask) -> Department:
    department = DepartmentFactory(code="GM", name="General Medicine", opening_hours=None)
    db.session.commit()
    return department


@pytest.fixture
def patient(app: Flask) -> Patient:
    person = PatientFactory(
        first_name=FIRST,
        last_name=LAST,
        date_of_birth=BORN,
        phone=PHONE,
        mrn=MRN,
        sms_opt_in=False,
    )
    db.session.commit()
    return person


def book(patient: Patient, department: Department, *, hours: float = 1) -> Appointment:
    appointment = book_appointment(
        patient_id=patient.id,
        department_id=department.id,
        starts_at=NOW + timedelta(hours=hours),
        duration_minutes=20,
        actor=None,
    )
    db.session.commit()
    return appointment


@pytest.fixture
def booking(patient: Patient, clinic: Department) -> Appointment:
    """A booking today at 09:00."""
    return book(patient, clinic)


@dataclass
class KioskAt:
    id: int
    name: str
    token: str

    @property
    def url(self) -> str:
        return f"/kiosk/{self.token}"


def new_kiosk(name: str) -> KioskAt:
    registration = register_kiosk(name, actor=None)
    db.session.commit()
    return KioskAt(registration.kiosk.id, registration.kiosk.name, registration.token)


@pytest.fixture
def kiosk(app: Flask) -> KioskAt:
    return new_kiosk("Main entrance")


@pytest.fixture
def other_kiosk(app: Flask) -> KioskAt:
    return new_kiosk("Outpatients door")


def attempt(client: Any, kiosk: KioskAt, reference: str, year: str) -> Any:
    """The whole kiosk journey's two posts (reference, then year); the check-in's answer."""
    step = client.post(f"{kiosk.url}/year", data={"reference": reference})
    assert step.status_code == 200, step.get_data(as_text=True)[:300]
    return client.post(f"{kiosk.url}/check-in", data={"reference": reference, "year": year})
