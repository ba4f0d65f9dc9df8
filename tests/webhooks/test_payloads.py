"""A delivery's ``data`` is the ticket or appointment exactly as the JSON API answers it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import (
    DEFAULT_PASSWORD,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    walk_in,
)
from webapp.appointments.services import book_appointment
from webapp.database import utcnow
from webapp.extensions import db
from webapp.queue import moves
from webapp.webhooks.payloads import appointment_data, ticket_data

API = "/api/v1"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PUBLIC_BASE_URL": "https://queue.example.org"}


def bearer(client: FlaskClient, user: Any) -> dict[str, str]:
    answer = client.post(
        f"{API}/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def test_ticket_data_equals_the_api_s_ticket(
    client: FlaskClient, receptionist: Any, clinician: Any
) -> None:
    department = DepartmentFactory(code="GM")
    room = ServicePointFactory(department=department)
    db.session.commit()
    headers = bearer(client, receptionist)
    waiting = [walk_in(department, priority="urgent"), walk_in(department)]
    called = moves.call_next(service_point_id=room.id, actor=clinician)
    db.session.commit()
    assert called is not None

    for ticket in (*waiting, called):
        db.session.expire_all()
        answer = client.get(f"{API}/queue/{ticket.id}", headers=headers)
        assert answer.status_code == 200
        assert ticket_data(ticket) == answer.get_json()
    assert ticket_data(waiting[1])["position"] == 1


def test_appointment_data_equals_the_api_s_appointment(
    client: FlaskClient, receptionist: Any
) -> None:
    department = DepartmentFactory(code="GM", opening_hours=None)
    patient = PatientFactory()
    db.session.commit()
    appointment = book_appointment(
        patient_id=patient.id,
        department_id=department.id,
        starts_at=utcnow().replace(microsecond=0) + timedelta(days=2),
        duration_minutes=20,
        actor=None,
        reason="Follow-up",
    )
    db.session.commit()
    db.session.expire_all()

    answer = client.get(
        f"{API}/appointments/{appointment.id}", headers=bearer(client, receptionist)
    )

    assert answer.status_code == 200
    assert appointment_data(appointment) == answer.get_json()
