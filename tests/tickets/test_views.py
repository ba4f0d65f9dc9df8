"""The patient's ticket page (public, by token, no PHI) and the printed ticket."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.conftest import sign_in
from tests.factories import DepartmentFactory
from tests.public_screens import (
    BORN,
    FIRST,
    LAST,
    PHONE,
    assert_no_phi,
    check_in_patient,
)
from webapp.auth.models import User
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.queue import moves as queue
from webapp.queue.models import Ticket


def url_of(ticket: Ticket) -> str:
    return f"/t/{ticket.status_token}"


def text_of(client: FlaskClient, path: str) -> str:
    """The page's text, tags dropped and white space collapsed."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return " ".join(re.sub(r"<[^>]+>", "", response.get_data(as_text=True)).split())


def test_it_shows_the_ticket_without_sign_in(client: FlaskClient, department: Department) -> None:
    ticket = check_in_patient(department)

    response = client.get(url_of(ticket))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert ticket.number in page
    assert "General Medicine" in page
    assert "Waiting" in page
    assert 'src="/static/js/ticket.js"' in page
    assert "<script>" not in page and "style=" not in page


def test_its_endpoint_is_tickets_status(app: Flask, department: Department) -> None:
    from flask import url_for

    ticket = check_in_patient(department)
    with app.test_request_context():
        assert url_for("tickets.status", token=ticket.status_token) == url_of(ticket)


@pytest.mark.parametrize("token", ["not-a-real-token-at-all-123456", "short", "bad token!"])
def test_it_refuses_an_unknown_token(
    client: FlaskClient, department: Department, token: str
) -> None:
    check_in_patient(department)

    assert client.get(f"/t/{token}").status_code == 404
    assert client.get(f"/t/{token}/status").status_code == 404


def test_it_says_how_many_are_ahead_and_how_long(
    client: FlaskClient, department: Department, room: ServicePoint
) -> None:
    first, second, third = (check_in_patient(department) for _ in range(3))

    assert "You are next" in text_of(client, url_of(first))
    assert "1 person ahead of you, about 15 minutes" in text_of(client, url_of(second))
    assert "2 people ahead of you, about 30 minutes" in text_of(client, url_of(third))


def test_it_tells_a_called_patient_where_to_go(
    client: FlaskClient, department: Department, room: ServicePoint
) -> None:
    ticket = check_in_patient(department)
    queue.call_next(service_point_id=room.id, actor=None)
    db.session.commit()

    page = text_of(client, url_of(ticket))

    assert "Please go to Room 1" in page
    assert "ahead of you" not in page


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["in_service"], "You are being seen in Room 1"),
        (["in_service", "completed"], "Your visit is complete"),
        (["no_show"], "Please ask at the reception desk"),
    ],
)
def test_it_explains_the_later_states(
    client: FlaskClient,
    department: Department,
    room: ServicePoint,
    steps: list[str],
    message: str,
) -> None:
    ticket = check_in_patient(department)
    queue.call_next(service_point_id=room.id, actor=None)
    for status in steps:
        queue.transition_ticket(ticket.id, status=status, actor=None)
    db.session.commit()

    page = text_of(client, url_of(ticket))

    assert message in page
    assert "Please go to" not in page


def test_it_explains_a_cancelled_ticket(client: FlaskClient, department: Department) -> None:
    ticket = check_in_patient(department)
    queue.transition_ticket(ticket.id, status="cancelled", actor=None)
    db.session.commit()

    page = text_of(client, url_of(ticket))

    assert "Cancelled" in page and "This ticket was cancelled" in page


@pytest.fixture
def unchain_transfers(app: object) -> Iterator[None]:
    """SQLite's drop_all deletes tickets row by row; a transfer chain's RESTRICT key trips it."""
    yield
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


@pytest.mark.usefixtures("unchain_transfers")
def test_it_follows_a_transfer_to_the_newest_ticket(
    client: FlaskClient, department: Department, room: ServicePoint
) -> None:
    radiology = DepartmentFactory(code="RAD", name="Radiology")
    db.session.commit()
    ticket = check_in_patient(department)
    queue.call_next(service_point_id=room.id, actor=None)
    follow_up = queue.override_ticket(
        ticket.id, action="transfer", department_id=radiology.id, actor=None
    )
    db.session.commit()

    page = text_of(client, url_of(ticket))

    assert follow_up.number.startswith("RAD-")
    assert follow_up.number in page
    assert "You have been transferred to Radiology" in page
    assert ticket.number not in page
    assert "Please go to" not in page


def test_its_poll_answers_304_until_the_ticket_changes(
    client: FlaskClient, department: Department, room: ServicePoint
) -> None:
    ticket = check_in_patient(department)
    poll = f"{url_of(ticket)}/status"
    first = client.get(poll)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert ticket.number in first.get_data(as_text=True)
    etag = first.headers["ETag"]

    unchanged = client.get(poll, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""

    queue.call_next(service_point_id=room.id, actor=None)
    db.session.commit()
    changed = client.get(poll, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "Please go to Room 1" in changed.get_data(as_text=True)


def test_the_poll_changes_when_someone_ahead_is_called(
    client: FlaskClient, department: Department, room: ServicePoint
) -> None:
    check_in_patient(department)
    ticket = check_in_patient(department)
    poll = f"{url_of(ticket)}/status"
    etag = client.get(poll).headers["ETag"]

    queue.call_next(service_point_id=room.id, actor=None)
    db.session.commit()
    changed = client.get(poll, headers={"If-None-Match": etag})

    assert changed.status_code == 200
    assert "You are next" in changed.get_data(as_text=True)


def test_it_never_shows_a_name_birth_date_or_phone(
    client: FlaskClient, department: Department, room: ServicePoint
) -> None:
    ticket = check_in_patient(
        department, first_name=FIRST, last_name=LAST, date_of_birth=BORN, phone=PHONE
    )
    waiting_page = client.get(url_of(ticket)).get_data(as_text=True)
    queue.call_next(service_point_id=room.id, actor=None)
    db.session.commit()
    called_page = client.get(url_of(ticket)).get_data(as_text=True)
    poll = client.get(f"{url_of(ticket)}/status").get_data(as_text=True)

    assert "Please go to Room 1" in called_page
    for text in (waiting_page, called_page, poll):
        assert ticket.number in text
        assert_no_phi(text)


# ------------------------------------------------------------------ the printed ticket


def test_printing_needs_a_sign_in(client: FlaskClient, department: Department) -> None:
    ticket = check_in_patient(department)

    response = client.get(f"/tickets/{ticket.id}/print")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_clinicians_do_not_print_tickets(as_clinician: FlaskClient, department: Department) -> None:
    ticket = check_in_patient(department)

    assert as_clinician.get(f"/tickets/{ticket.id}/print").status_code == 403


def test_it_prints_a_ticket_with_a_qr_code_of_the_ticket_page(
    as_receptionist: FlaskClient, department: Department
) -> None:
    check_in_patient(department)
    ticket = check_in_patient(
        department, first_name=FIRST, last_name=LAST, date_of_birth=BORN, phone=PHONE
    )

    response = as_receptionist.get(f"/tickets/{ticket.id}/print")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<svg" in page and "ticket-qr" in page
    assert f"http://localhost/t/{ticket.status_token}" in page
    assert ticket.number in page
    assert "General Medicine" in page
    assert "Hospital Queue" in page  # HOSPITAL_NAME
    assert "1 person ahead" in " ".join(page.split())
    assert "data-print" in page and 'src="/static/js/ticket.js"' in page
    assert "style=" not in page and "<script>" not in page
    assert_no_phi(page)


def test_admins_print_tickets_too(client: FlaskClient, admin: User, department: Department) -> None:
    ticket = check_in_patient(department)
    sign_in(client, admin)

    assert client.get(f"/tickets/{ticket.id}/print").status_code == 200


def test_printing_an_unknown_ticket_is_404(as_receptionist: FlaskClient, app: object) -> None:
    assert as_receptionist.get("/tickets/999/print").status_code == 404
