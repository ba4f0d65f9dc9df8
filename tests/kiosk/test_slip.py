"""The appointment slip (/appointments/<id>/slip), the reference on the appointment page, in
the API and in the booking SMS."""

from __future__ import annotations

import re

import pytest
import segno
from sqlalchemy import select

from tests.api.conftest import API, auth_header, token_pair
from tests.factories import AppointmentFactory
from tests.kiosk.conftest import BORN, FIRST, LAST, MRN, PHONE
from webapp.extensions import db
from webapp.notifications.models import Notification


def body_of(response) -> str:
    return response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(client, booking):
    response = client.get(f"/appointments/{booking.id}/slip")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician", "as_admin"])
def test_every_staff_role_prints_the_slip_without_patient_data(request, persona, booking):
    client = request.getfixturevalue(persona)

    response = client.get(f"/appointments/{booking.id}/slip")
    html = body_of(response)

    assert response.status_code == 200
    assert f'<p class="slip-reference">{booking.reference}</p>' in html
    assert '<svg role="img"' in html and f"booking reference {booking.reference}" in html
    assert "General Medicine" in html
    assert "Mon 02 Mar 2026, 09:00" in html  # hospital time
    assert "At the entrance kiosk, type this reference or scan the code." in html
    for needle in (FIRST, LAST, MRN, PHONE, BORN.isoformat(), str(BORN.year)):
        assert needle not in html, needle


def test_the_qr_code_holds_the_reference_alone(as_receptionist, booking):
    html = body_of(as_receptionist.get(f"/appointments/{booking.id}/slip"))

    shown = re.search(r'<path[^>]* d="([^"]+)"', html)
    drawn = re.search(r' d="([^"]+)"', segno.make(booking.reference, error="m").svg_inline())
    assert shown and drawn and shown.group(1) == drawn.group(1)


def test_an_appointment_without_a_reference_says_to_ask_at_the_desk(as_receptionist, clinic):
    appointment = AppointmentFactory(department=clinic)  # made before references existed
    db.session.commit()

    html = body_of(as_receptionist.get(f"/appointments/{appointment.id}/slip"))

    assert "no booking reference" in html and "<svg" not in html


def test_an_unknown_appointment_is_404(as_receptionist):
    assert as_receptionist.get("/appointments/999/slip").status_code == 404


def test_the_appointment_page_shows_the_reference_and_links_the_slip(as_clinician, booking):
    html = body_of(as_clinician.get(f"/appointments/{booking.id}"))

    assert f'<strong class="booking-reference">{booking.reference}</strong>' in html
    assert f'href="/appointments/{booking.id}/slip"' in html


def test_the_api_appointment_carries_the_reference(client, receptionist, booking):
    token = token_pair(client, receptionist)["access_token"]

    response = client.get(f"{API}/appointments/{booking.id}", headers=auth_header(token))

    assert response.status_code == 200
    assert response.get_json()["reference"] == booking.reference


@pytest.fixture
def app_config():
    return {"LOGIN_LIMIT_PER_USERNAME": "100 per minute"}


def test_the_booking_sms_gives_the_reference(patient, clinic):
    from tests.kiosk.conftest import book

    patient.sms_opt_in = True
    db.session.commit()

    appointment = book(patient, clinic, hours=2)

    [sms] = db.session.scalars(
        select(Notification).where(Notification.template_key == "appointment_booked")
    )
    assert f"Check-in reference: {appointment.reference}." in sms.body
    assert FIRST not in sms.body


def test_the_moved_appointment_sms_repeats_the_same_reference(patient, clinic):
    from datetime import timedelta

    from tests.kiosk.conftest import book
    from webapp.appointments.services import reschedule_appointment

    patient.sms_opt_in = True
    db.session.commit()
    appointment = book(patient, clinic, hours=2)
    reference = appointment.reference

    reschedule_appointment(
        appointment, actor=None, starts_at=appointment.starts_at + timedelta(hours=1)
    )
    db.session.commit()

    [sms] = db.session.scalars(
        select(Notification).where(Notification.template_key == "appointment_rescheduled")
    )
    assert appointment.reference == reference
    assert f"Check-in reference: {reference}." in sms.body
