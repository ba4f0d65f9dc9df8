"""The kiosk's pages (webapp/kiosk/views/device.py): the token, the journey, "not found" for
every mismatch, the rate limit per kiosk, no patient data in any answer, CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import PatientFactory, UserFactory
from tests.kiosk.conftest import (
    BORN,
    FIRST,
    LAST,
    MRN,
    NOW,
    KioskAt,
    attempt,
    book,
    new_kiosk,
)
from webapp.appointments.models import Appointment
from webapp.appointments.services import cancel_appointment
from webapp.audit.models import AuditLog
from webapp.database import utcnow
from webapp.extensions import db
from webapp.kiosk.models import Kiosk
from webapp.kiosk.services import revoke_kiosk
from webapp.queue import moves
from webapp.queue.models import QueueEvent, Ticket

NOT_FOUND = "Not found — please ask at the desk"
KIOSK_PATHS = [("get", ""), ("post", "/year"), ("post", "/check-in"), ("get", "/done")]


def body_of(response: Any) -> str:
    return response.get_data(as_text=True)


# ------------------------------------------------------------------ the token


@pytest.mark.parametrize(("method", "path"), KIOSK_PATHS)
@pytest.mark.parametrize(
    "token",
    ["not-a-token", "A" * 32, "x" * 43, "%00" * 11, "../admin/kiosks"],
)
def test_an_unknown_or_malformed_token_is_the_ordinary_404_everywhere(
    client, kiosk, method, path, token
):
    response = getattr(client, method)(
        f"/kiosk/{token}{path}", data={"reference": "K7P4QX", "year": "1961"}
    )

    assert response.status_code == 404
    assert "Page not found" in body_of(response)
    assert "kiosk" not in body_of(response).lower()


@pytest.mark.parametrize(("method", "path"), KIOSK_PATHS)
def test_a_revoked_kiosk_answers_404_on_every_page(client, kiosk, booking, method, path):
    revoke_kiosk(db.session.get(Kiosk, kiosk.id), actor=None)
    db.session.commit()

    response = getattr(client, method)(
        f"{kiosk.url}{path}", data={"reference": booking.reference, "year": "1961"}
    )

    assert response.status_code == 404
    assert "Page not found" in body_of(response)
    assert db.session.get(Appointment, booking.id).status == "booked"


def test_the_address_with_a_trailing_slash_is_no_page(client, kiosk):
    assert client.get(f"{kiosk.url}/").status_code == 404


# ------------------------------------------------------------------ the journey


def test_the_start_screen_asks_for_the_reference_with_a_keypad(client, kiosk):
    response = client.get(kiosk.url)
    html = body_of(response)

    assert response.status_code == 200
    assert "Booking reference" in html and "autofocus" in html
    keys = re.findall(r'data-key="(.)"', html)
    assert "".join(keys) == "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    assert "data-key-delete" in html and "data-key-clear" in html
    assert 'data-reset-seconds="30"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in html and " style=" not in html  # no inline script or style


def test_the_reference_step_carries_the_reference_to_the_year_step(client, kiosk, booking):
    typed = f"{booking.reference[:3].lower()}-{booking.reference[3:].lower()}"

    response = client.post(f"{kiosk.url}/year", data={"reference": typed})
    html = body_of(response)

    assert response.status_code == 200
    assert "What year were you born?" in html
    assert f'name="reference" type="hidden" value="{typed}"' in html
    assert re.findall(r'data-key="(.)"', html) == list("1234567890")


def test_a_reference_of_the_wrong_length_is_asked_again_keeping_what_was_typed(client, kiosk):
    response = client.post(f"{kiosk.url}/year", data={"reference": "K7P4"})

    assert response.status_code == 422
    assert "Please type all 6 characters" in body_of(response)
    assert 'value="K7P4"' in body_of(response)


def test_a_year_that_is_not_4_digits_is_asked_again(client, kiosk, booking):
    response = client.post(
        f"{kiosk.url}/check-in", data={"reference": booking.reference, "year": "61"}
    )

    assert response.status_code == 422
    assert "4 digits of the year you were born" in body_of(response)
    assert db.session.get(Appointment, booking.id).status == "booked"


def test_a_match_checks_in_and_shows_number_department_and_estimate(client, kiosk, booking):
    response = attempt(client, kiosk, booking.reference.lower(), str(BORN.year))

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{kiosk.url}/done")
    ticket = db.session.scalars(select(Ticket)).one()
    assert (ticket.appointment_id, ticket.status, ticket.number) == (
        booking.id,
        "waiting",
        "GM-001",
    )
    assert db.session.get(Appointment, booking.id).status == "checked_in"

    done = client.get(f"{kiosk.url}/done")
    html = body_of(done)
    assert done.status_code == 200
    assert "You are checked in" in html
    assert '<p class="kiosk-number">GM-001</p>' in html
    assert "General Medicine" in html
    assert "You are next" in html  # nobody waits ahead
    assert "data-autoprint" in html and "printed-ticket" in html and "<svg" in html
    assert f"/t/{ticket.status_token}" in html  # the printed ticket's QR and link
    assert db.session.get(Kiosk, kiosk.id).last_used_at == utcnow()


def test_the_estimate_counts_those_ahead(client, kiosk, booking, clinic):
    for _ in range(2):
        moves.check_in(
            actor=None, patient_id=PatientFactory().id, department_id=clinic.id, priority="routine"
        )
    db.session.commit()

    attempt(client, kiosk, booking.reference, str(BORN.year))
    html = body_of(client.get(f"{kiosk.url}/done"))

    assert re.search(r"About \d+ min · 2 people ahead", html), html


def test_the_kiosk_makes_the_ticket_the_desk_would_make(client, kiosk, clinic, patient):
    """Two bookings of the same kind: one checked in at the desk, one at the kiosk."""
    receptionist = UserFactory(role="receptionist")
    at_desk = book(PatientFactory(date_of_birth=BORN), clinic, hours=1)
    at_kiosk = book(patient, clinic, hours=1.5)
    desk_ticket = moves.check_in(actor=receptionist, appointment_id=at_desk.id)
    db.session.commit()

    assert attempt(client, kiosk, at_kiosk.reference, str(BORN.year)).status_code == 303

    kiosk_ticket = db.session.scalars(select(Ticket).where(Ticket.id != desk_ticket.id)).one()
    same = ("department_id", "priority", "status", "service_day", "service_point_id")
    assert [getattr(kiosk_ticket, name) for name in same] == [
        getattr(desk_ticket, name) for name in same
    ]
    assert (desk_ticket.number, kiosk_ticket.number) == ("GM-001", "GM-002")
    # Both early: each queues by its appointment's time, as the desk's service rules.
    assert kiosk_ticket.effective_at == at_kiosk.starts_at
    assert kiosk_ticket.estimated_wait_at_check_in is not None
    event = db.session.scalars(
        select(QueueEvent).where(QueueEvent.ticket_id == kiosk_ticket.id)
    ).one()
    assert (event.action, event.to_status, event.user_id) == ("check_in", "waiting", None)
    assert event.reason == "Self check-in at kiosk Main entrance"
    [audit] = db.session.scalars(select(AuditLog).where(AuditLog.action == "kiosk.check_in"))
    assert audit.user_id is None and audit.entity_id == at_kiosk.id
    assert "kiosk Main entrance" in audit.summary and "GM-002" in audit.summary
    assert FIRST not in audit.summary and LAST not in audit.summary


def test_done_without_a_check_in_goes_back_to_the_start(client, kiosk):
    response = client.get(f"{kiosk.url}/done")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(kiosk.url)


def test_the_start_screen_forgets_the_last_patients_ticket(client, kiosk, booking):
    attempt(client, kiosk, booking.reference, str(BORN.year))
    assert client.get(f"{kiosk.url}/done").status_code == 200

    client.get(kiosk.url)

    assert client.get(f"{kiosk.url}/done").status_code == 302


def test_yesterdays_ticket_is_not_shown_again(client, kiosk, booking, frozen_clock):
    attempt(client, kiosk, booking.reference, str(BORN.year))
    frozen_clock.shift(86_400)

    assert client.get(f"{kiosk.url}/done").status_code == 302


# ------------------------------------------------------------------ one answer for every miss


def test_every_kind_of_mismatch_gets_the_same_answer(client, kiosk, clinic, patient):
    today = book(patient, clinic, hours=1)
    tomorrow = book(patient, clinic, hours=26)
    cancelled = book(patient, clinic, hours=3)
    cancel_appointment(cancelled, actor=None, reason="Patient is travelling")
    checked_in = book(PatientFactory(date_of_birth=BORN), clinic, hours=2)
    moves.check_in(actor=None, appointment_id=checked_in.id)
    db.session.commit()
    right_year = str(BORN.year)
    unknown = next(
        candidate
        for candidate in ("ZZZ222", "YYY333", "XXX444")
        if candidate not in {today.reference, tomorrow.reference}
    )
    misses = {
        "wrong year": (today.reference, str(BORN.year + 1)),
        "unknown reference": (unknown, right_year),
        "not today": (tomorrow.reference, right_year),
        "cancelled": (cancelled.reference, right_year),
        "already checked in": (checked_in.reference, right_year),
        "look-alike O for Q": (today.reference.replace(today.reference[0], "O"), right_year),
        "look-alike 0": ("0" + today.reference[1:], right_year),
    }

    answers = {kind: attempt(client, kiosk, *typed) for kind, typed in misses.items()}

    statuses = {kind: response.status_code for kind, response in answers.items()}
    assert set(statuses.values()) == {200}, statuses
    bodies = {body_of(response) for response in answers.values()}
    assert len(bodies) == 1, "the answers differ between kinds of mismatch"
    assert NOT_FOUND in bodies.pop()
    assert db.session.get(Appointment, today.id).status == "booked"
    assert db.session.scalars(select(Ticket)).all() == [
        db.session.scalars(select(Ticket).where(Ticket.appointment_id == checked_in.id)).one()
    ]
    failed = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "kiosk.check_in_failed")
    ).all()
    assert len(failed) == len(misses)
    assert all(row.entity_id == kiosk.id and "Main entrance" in row.summary for row in failed)
    assert all(right_year not in str(row.details) for row in failed)


def test_a_patient_who_already_holds_a_ticket_there_is_not_found_and_nothing_changes(
    client, kiosk, booking, clinic, patient
):
    """The desk's service refuses a second active ticket (409 at the desk): the kiosk says
    "not found", and the refused check-in leaves no ticket number used up."""
    walk_in = moves.check_in(actor=None, patient_id=patient.id, department_id=clinic.id)
    db.session.commit()
    # That walk-in already took today's booking (DOMAIN.md): book another for later today.
    later = book(patient, clinic, hours=4)

    response = attempt(client, kiosk, later.reference, str(BORN.year))

    assert response.status_code == 200 and NOT_FOUND in body_of(response)
    assert db.session.get(Appointment, later.id).status == "booked"
    assert [ticket.id for ticket in db.session.scalars(select(Ticket))] == [walk_in.id]


def test_a_wrong_reference_typed_with_look_alikes_is_not_found_not_corrected(
    client, kiosk, booking
):
    typed = booking.reference[:5] + "0"

    response = attempt(client, kiosk, typed, str(BORN.year))

    assert response.status_code == 200 and NOT_FOUND in body_of(response)


# ------------------------------------------------------------------ CSRF on a kiosk left overnight


@pytest.fixture
def csrf_client(kiosk: KioskAt, app: Flask) -> Any:
    app.config["WTF_CSRF_ENABLED"] = True
    return app.test_client()


@pytest.mark.parametrize("path", ["/year", "/check-in"])
def test_an_expired_form_goes_back_to_a_fresh_start_screen(csrf_client, kiosk, booking, path):
    response = csrf_client.post(
        f"{kiosk.url}{path}",
        data={"reference": booking.reference, "year": str(BORN.year), "csrf_token": "stale"},
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{kiosk.url}?again=1")
    start = csrf_client.get(response.headers["Location"])
    assert start.status_code == 200
    assert "Please try again" in body_of(start)
    assert 'name="csrf_token"' in body_of(start)
    assert db.session.get(Appointment, booking.id).status == "booked"


def test_with_a_fresh_form_the_journey_goes_through_with_csrf_on(csrf_client, kiosk, booking):
    start = body_of(csrf_client.get(kiosk.url))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', start).group(1)
    year_page = body_of(
        csrf_client.post(
            f"{kiosk.url}/year", data={"reference": booking.reference, "csrf_token": token}
        )
    )
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', year_page).group(1)

    response = csrf_client.post(
        f"{kiosk.url}/check-in",
        data={"reference": booking.reference, "year": str(BORN.year), "csrf_token": token},
    )

    assert response.status_code == 303


def test_a_stale_form_at_an_unknown_kiosk_is_still_404(csrf_client, kiosk):
    response = csrf_client.post(f"/kiosk/{'B' * 32}/check-in", data={"csrf_token": "stale"})

    assert response.status_code == 404


def test_a_kiosk_is_registered_with_now_as_its_time(kiosk):
    assert db.session.get(Kiosk, kiosk.id).created_at == NOW


def test_a_second_registration_of_the_same_name_is_a_separate_kiosk(app):
    first, second = new_kiosk("Lobby"), new_kiosk("Lobby")

    assert first.id != second.id and first.token != second.token


@pytest.mark.postgres
def test_on_postgresql_a_kiosk_check_in_and_a_refused_one_commit_cleanly(pg_app):
    """The refused check-in's savepoint is undone on PostgreSQL too, and the audit row stays."""
    from tests.factories import DepartmentFactory

    clinic = DepartmentFactory(code="GM", name="General Medicine", opening_hours=None)
    patient = PatientFactory(first_name=FIRST, last_name=LAST, date_of_birth=BORN, mrn=MRN)
    db.session.commit()
    booking = book(patient, clinic)
    kiosk = new_kiosk("Main entrance")
    client = pg_app.test_client()

    assert NOT_FOUND in body_of(attempt(client, kiosk, booking.reference, "1900"))
    assert attempt(client, kiosk, booking.reference, str(BORN.year)).status_code == 303
    # Booked again later today while the ticket is still active: refused by the desk's rule.
    later = book(patient, clinic, hours=4)
    assert NOT_FOUND in body_of(attempt(client, kiosk, later.reference, str(BORN.year)))

    db.session.expire_all()
    assert [ticket.number for ticket in db.session.scalars(select(Ticket))] == ["GM-001"]
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.action.like("kiosk.check_in%"))
    ).all()
    assert sorted(actions) == ["kiosk.check_in", "kiosk.check_in_failed", "kiosk.check_in_failed"]
