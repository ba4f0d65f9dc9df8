"""The patient's page lists the messages sent to that patient (and to nobody else)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import sign_in
from tests.factories import DepartmentFactory, NotificationFactory, PatientFactory, walk_in
from webapp.auth.models import User
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.patients.views import MESSAGE_LIMIT

T0 = datetime(2025, 1, 10, 14, 0, tzinfo=UTC)  # 09:00 in New York


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "America/New_York"}


@pytest.fixture
def grace(app: Any) -> Patient:
    patient = PatientFactory(first_name="Grace", sms_opt_in=True, phone="+12015550123")
    db.session.commit()
    return patient


def page_of(client: FlaskClient, patient: Patient) -> str:
    response = client.get(f"/patients/{patient.id}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def messages_section(page: str) -> str:
    start = page.index('<section aria-labelledby="messages-title">')
    return page[start : page.index("</section>", start)]


@pytest.mark.parametrize("role", ["receptionist", "clinician", "admin"])
def test_it_lists_the_patients_messages_with_when_kind_channel_status_and_text(
    client: FlaskClient, grace: Patient, role: str, request: pytest.FixtureRequest
) -> None:
    NotificationFactory(
        patient=grace,
        template_key="called",
        status="sent",
        created_at=T0,
        body="Ticket GM-004: please go to Room 3 now.",
    )
    NotificationFactory(
        patient=grace,
        channel="push",
        template_key="turn_near",
        status="failed",
        last_error="Not sent: the browser's push subscription was removed.",
        created_at=T0 - timedelta(minutes=5),
        body="Your turn is near: 2 people ahead of you.",
    )
    db.session.commit()
    sign_in(client, request.getfixturevalue(role))

    section = messages_section(page_of(client, grace))

    assert "2025-01-10 09:00" in section and "2025-01-10 08:55" in section  # hospital time
    assert "Called to a room" in section and "Your turn is near" in section
    assert ">SMS<" in section and ">Web Push<" in section
    assert ">Sent<" in section and ">Failed<" in section
    assert "Ticket GM-004: please go to Room 3 now." in section  # staff see the text
    assert "push subscription was removed" in section  # why it failed
    assert section.index("Room 3") < section.index("Your turn is near")  # newest first


def test_it_lists_no_other_patients_messages(
    client: FlaskClient, grace: Patient, receptionist: User
) -> None:
    other = PatientFactory()
    NotificationFactory(patient=grace, body="Checked in: ticket GM-001, General Medicine.")
    NotificationFactory(patient=other, body="Checked in: ticket GM-002, General Medicine.")
    db.session.commit()
    sign_in(client, receptionist)

    section = messages_section(page_of(client, grace))

    assert "GM-001" in section
    assert "GM-002" not in section


def test_it_lists_the_messages_a_check_in_wrote(
    client: FlaskClient, grace: Patient, receptionist: User, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = walk_in(DepartmentFactory(name="Radiology"), grace)
    sign_in(client, receptionist)

    section = messages_section(page_of(client, grace))

    assert "Check-in confirmation" in section
    assert f"Checked in: ticket {ticket.number}, Radiology." in section
    assert ">Sent<" in section  # the console provider sent it after the commit
    assert ticket.number in capsys.readouterr().out


def test_it_says_when_there_are_no_messages(
    client: FlaskClient, grace: Patient, receptionist: User
) -> None:
    sign_in(client, receptionist)

    assert "No messages yet." in messages_section(page_of(client, grace))


def test_it_shows_only_the_newest_messages_of_a_long_history(
    client: FlaskClient, grace: Patient, admin: User
) -> None:
    for n in range(MESSAGE_LIMIT + 2):
        NotificationFactory(
            patient=grace, created_at=T0 + timedelta(minutes=n), body=f"Message number {n:03d}."
        )
    db.session.commit()
    sign_in(client, admin)

    section = messages_section(page_of(client, grace))

    assert f"Message number {MESSAGE_LIMIT + 1:03d}." in section
    assert "Message number 001." not in section
    assert f"The newest {MESSAGE_LIMIT} are shown." in section


def test_an_anonymous_visitor_sees_no_messages(client: FlaskClient, grace: Patient) -> None:
    NotificationFactory(patient=grace, body="Checked in: ticket GM-001, General Medicine.")
    db.session.commit()

    response = client.get(f"/patients/{grace.id}")

    assert response.status_code == 302
    assert "GM-001" not in response.get_data(as_text=True)
