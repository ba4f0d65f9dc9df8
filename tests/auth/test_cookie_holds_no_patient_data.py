"""The session cookie never carries patient data, whatever the front desk does.

Flask's cookie is signed, not encrypted: anyone holding it can read it. So the
flash messages it carries between a form and the next page name the MRN, never
the patient. Code under test: the flash calls in webapp/patients/views.py and
webapp/appointments/views.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import DepartmentFactory
from webapp.appointments.models import Appointment
from webapp.extensions import db
from webapp.patients.models import Patient

# Monday 14 January 2030, 10:05 in London; the department is open on weekdays.
NOW = datetime(2030, 1, 14, 10, 5, tzinfo=UTC)
FIRST, LAST = "Philippa", "Quennell-Ashworth"
NEW_FIRST = "Philomena"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "Europe/London"}


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _cookie_contents(app: Flask, client: FlaskClient) -> str:
    """The session cookie as anyone holding it can read it: decoded, signature checked."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    return repr(serializer.loads(cookie.value))


def _assert_no_patient_name(app: Flask, client: FlaskClient) -> str:
    contents = _cookie_contents(app, client)
    for name in (FIRST, LAST, NEW_FIRST):
        assert name.lower() not in contents.lower()
    return contents


def test_it_keeps_patient_names_out_of_the_session_cookie(
    app: Flask, as_receptionist: FlaskClient
) -> None:
    department = DepartmentFactory(
        code="GM",
        name="General Medicine",
        opening_hours={day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    db.session.commit()

    registered = as_receptionist.post(
        "/patients/new",
        data={
            "first_name": FIRST,
            "last_name": LAST,
            "date_of_birth": "1986-12-09",
            "phone": "(201) 555-0123",
            "mrn": "PHI-0001",
        },
    )
    assert registered.status_code == 302, registered.get_data(as_text=True)[:2000]
    assert "PHI-0001" in _assert_no_patient_name(app, as_receptionist)  # the flash names the MRN
    patient = db.session.scalars(select(Patient)).one()

    edited = as_receptionist.post(
        f"/patients/{patient.id}/edit",
        data={
            "first_name": NEW_FIRST,
            "last_name": LAST,
            "date_of_birth": "1986-12-09",
            "phone": "(201) 555-0123",
            "mrn": "PHI-0001",
        },
    )
    assert edited.status_code == 302, edited.get_data(as_text=True)[:2000]
    _assert_no_patient_name(app, as_receptionist)

    booked = as_receptionist.post(
        "/appointments/new",
        data={
            "patient_id": patient.id,
            "department_id": department.id,
            "clinician_id": "",
            "start_date": "2030-01-21",
            "start_time": "10:00",
            "duration_minutes": 20,
            "reason": "Review",
        },
    )
    assert booked.status_code == 302, booked.get_data(as_text=True)[:2000]
    _assert_no_patient_name(app, as_receptionist)
    appointment = db.session.scalars(select(Appointment)).one()

    moved = as_receptionist.post(
        f"/appointments/{appointment.id}/reschedule",
        data={
            "start_date": "2030-01-22",
            "start_time": "11:00",
            "duration_minutes": 20,
            "clinician_id": "",
        },
    )
    assert moved.status_code == 302, moved.get_data(as_text=True)[:2000]
    _assert_no_patient_name(app, as_receptionist)

    cancelled = as_receptionist.post(
        f"/appointments/{appointment.id}/cancel", data={"reason": "Feeling better"}
    )
    assert cancelled.status_code == 302, cancelled.get_data(as_text=True)[:2000]
    contents = _assert_no_patient_name(app, as_receptionist)
    assert "PHI-0001" in contents
