"""The clinician workstation: choosing a room, every button changing the ticket, and the live
part that follows the queue by itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from tests.admin.helpers import flashes, page_text
from tests.conftest import sign_in
from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
)
from webapp.auth.models import User
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue.models import QueueEvent, Ticket
from webapp.queue.moves import apply_move, call_next, check_in
from webapp.queue.views.workstation import workstation_live
from webapp.session_guard import POLLED_ATTRIBUTE


@pytest.fixture
def gm(app: Flask) -> Iterator[Department]:
    department = DepartmentFactory(code="GM", name="General Medicine")
    DepartmentFactory(code="LAB", name="Laboratory")
    db.session.commit()
    yield department
    db.session.rollback()  # SQLite's drop_all trips over transfer chains (RESTRICT key)
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


@pytest.fixture
def lab(gm: Department) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == "LAB"))
    assert department is not None
    return department


@pytest.fixture
def room1(gm: Department) -> ServicePoint:
    point = ServicePointFactory(department=gm, name="Room 1")
    db.session.commit()
    return point


@pytest.fixture
def room2(gm: Department) -> ServicePoint:
    point = ServicePointFactory(department=gm, name="Room 2")
    db.session.commit()
    return point


@pytest.fixture
def ada(app: Flask) -> Patient:
    patient = PatientFactory(first_name="Ada", last_name="Lovelace")
    db.session.commit()
    return patient


def _ticket(patient: Patient, department: Department) -> Ticket:
    ticket = check_in(actor=None, patient_id=patient.id, department_id=department.id)
    db.session.commit()
    return ticket


def _reload(ticket: Ticket) -> Ticket:
    db.session.expire_all()
    fresh = db.session.get(Ticket, ticket.id)
    assert fresh is not None
    return fresh


def _at(client: FlaskClient, point: ServicePoint) -> None:
    response = client.post("/workstation/service-point", data={"service_point_id": point.id})
    assert response.status_code == 302


def _press(client: FlaskClient, action: str, ticket: Ticket | None = None, **data: object) -> str:
    form = {"ticket_id": ticket.id} if ticket else {}
    response = client.post(f"/workstation/{action}", data={**form, **data}, follow_redirects=True)
    assert response.status_code == 200
    return " ".join(flashes(page_text(response)))


def _events(ticket: Ticket) -> list[str]:
    return list(
        db.session.scalars(
            select(QueueEvent.action)
            .where(QueueEvent.ticket_id == ticket.id)
            .order_by(QueueEvent.id)
        )
    )


ACTIONS = ["call-next", "recall", "start", "complete", "no-show", "return", "transfer"]


@pytest.mark.parametrize("path", ["/workstation", "/workstation/live"])
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("action", [*ACTIONS, "service-point"])
def test_anonymous_posts_are_sent_to_sign_in(client: FlaskClient, action: str) -> None:
    response = client.post(f"/workstation/{action}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("action", [*ACTIONS, "service-point"])
def test_receptionists_cannot_use_the_workstation(
    as_receptionist: FlaskClient, action: str
) -> None:
    assert as_receptionist.get("/workstation").status_code == 403
    assert as_receptionist.get("/workstation/live").status_code == 403
    assert as_receptionist.post(f"/workstation/{action}").status_code == 403


@pytest.mark.parametrize("persona", ["as_clinician", "as_admin"])
def test_clinicians_and_admins_choose_a_room_that_is_remembered(
    request: pytest.FixtureRequest, persona: str, room1: ServicePoint
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)
    first = page_text(client.get("/workstation"))
    assert "Choose the room or counter you are working at" in first
    _at(client, room1)
    body = page_text(client.get("/workstation"))
    assert "Room 1, General Medicine" in body
    assert "/static/js/workstation.js" in body and "<script>" not in body


def test_choosing_a_room_signs_the_clinician_in_there_and_out_of_the_other(
    as_clinician: FlaskClient, clinician: User, room1: ServicePoint, room2: ServicePoint
) -> None:
    _at(as_clinician, room1)
    db.session.expire_all()
    assert (room1.clinician_id, room2.clinician_id) == (clinician.id, None)
    _at(as_clinician, room2)
    db.session.expire_all()
    assert (room1.clinician_id, room2.clinician_id) == (None, clinician.id)


def test_choosing_an_inactive_room_is_refused(
    as_clinician: FlaskClient, clinician: User, room1: ServicePoint
) -> None:
    room1.active = False
    db.session.commit()
    response = as_clinician.post(
        "/workstation/service-point", data={"service_point_id": room1.id}, follow_redirects=True
    )
    assert any("Choose an active room or counter." in m for m in flashes(page_text(response)))
    db.session.expire_all()
    assert room1.clinician_id is None


def test_buttons_show_shortcuts_and_illegal_ones_are_disabled_with_a_reason(
    as_clinician: FlaskClient, room1: ServicePoint, ada: Patient
) -> None:
    _ticket(ada, room1.department)
    _at(as_clinician, room1)
    body = page_text(as_clinician.get("/workstation"))
    for label, key in [
        ("Call next", "C"),
        ("Recall", "R"),
        ("Start", "S"),
        ("Complete", "D"),
        ("No-show", "N"),
        ("Return to queue", "Q"),
        ("Transfer…", "T"),
    ]:
        assert f"{label} <kbd>{key}</kbd>" in body
    assert 'data-shortcut="C" aria-keyshortcuts="C">Call next' in body  # enabled
    assert (
        'data-shortcut="S" aria-keyshortcuts="S" disabled title="Nobody is being served here'
        in body
    )
    assert "Next in line" in body and "GM-001" in body and "Ada Lovelace" in body


def test_call_next_recall_start_complete(
    as_clinician: FlaskClient, room1: ServicePoint, ada: Patient
) -> None:
    appointment = AppointmentFactory(patient=ada, department=room1.department, reason="Knee pain")
    db.session.commit()
    ticket = check_in(actor=None, appointment_id=appointment.id)
    db.session.commit()
    _at(as_clinician, room1)

    assert "Called GM-001 to Room 1" in _press(as_clinician, "call-next")
    ticket = _reload(ticket)
    assert ticket.status == "called" and ticket.service_point_id == room1.id
    body = page_text(as_clinician.get("/workstation"))
    assert 'class="ws-ticket">GM-001' in body and "Knee pain" in body and "Ada Lovelace" in body
    assert 'data-shortcut="C" aria-keyshortcuts="C" disabled title="Finish GM-001 first' in body

    assert "recall 1" in _press(as_clinician, "recall", ticket)
    assert _reload(ticket).recall_count == 1

    assert "in service" in _press(as_clinician, "start", ticket)
    assert _reload(ticket).status == "in_service"
    body = page_text(as_clinician.get("/workstation"))
    assert (
        'data-shortcut="R" aria-keyshortcuts="R" disabled '
        'title="Ticket GM-001 is in service; it can be recalled only while it is called.'
    ) in body

    assert "completed" in _press(as_clinician, "complete", ticket)
    assert _reload(ticket).status == "completed"
    assert _events(ticket) == ["check_in", "call", "recall", "start", "complete"]


def test_no_show(as_clinician: FlaskClient, room1: ServicePoint, ada: Patient) -> None:
    ticket = _ticket(ada, room1.department)
    _at(as_clinician, room1)
    _press(as_clinician, "call-next")
    assert "no-show" in _press(as_clinician, "no-show", ticket)
    assert _reload(ticket).status == "no_show"


def test_return_to_queue(as_clinician: FlaskClient, room1: ServicePoint, ada: Patient) -> None:
    ticket = _ticket(ada, room1.department)
    _at(as_clinician, room1)
    _press(as_clinician, "call-next")
    assert "back in the queue" in _press(as_clinician, "return", ticket)
    ticket = _reload(ticket)
    assert ticket.status == "waiting" and ticket.service_point_id is None


def test_transfer(
    as_clinician: FlaskClient, room1: ServicePoint, lab: Department, ada: Patient
) -> None:
    ticket = _ticket(ada, room1.department)
    _at(as_clinician, room1)
    _press(as_clinician, "call-next")
    _press(as_clinician, "start", ticket)
    message = _press(as_clinician, "transfer", ticket, department_id=lab.id, reason="Bloods")
    assert "transferred to Laboratory as LAB-001" in message
    assert _reload(ticket).status == "transferred"
    follow_up = db.session.scalar(select(Ticket).where(Ticket.department_id == lab.id))
    assert follow_up is not None and follow_up.status == "waiting"


def test_nobody_waiting(as_clinician: FlaskClient, room1: ServicePoint) -> None:
    _at(as_clinician, room1)
    assert "Nobody waiting" in _press(as_clinician, "call-next")


def test_call_next_is_refused_while_the_room_is_busy(
    as_clinician: FlaskClient, room1: ServicePoint, ada: Patient
) -> None:
    first = _ticket(ada, room1.department)
    second = _ticket(PatientFactory(), room1.department)
    _at(as_clinician, room1)
    _press(as_clinician, "call-next")
    message = _press(as_clinician, "call-next")
    assert "Room 1 is still serving GM-001" in message
    assert _reload(first).status == "called" and _reload(second).status == "waiting"


def test_an_illegal_move_flashes_and_changes_nothing(
    as_clinician: FlaskClient, room1: ServicePoint, ada: Patient
) -> None:
    ticket = _ticket(ada, room1.department)
    _at(as_clinician, room1)
    _press(as_clinician, "call-next")
    message = _press(as_clinician, "complete", ticket)
    assert "it can be completed only while it is in service" in message
    assert _reload(ticket).status == "called"
    assert _events(ticket) == ["check_in", "call"]


def test_a_stale_screen_does_not_act_on_another_patient(
    as_clinician: FlaskClient, room1: ServicePoint, room2: ServicePoint, ada: Patient
) -> None:
    ticket = _ticket(ada, room1.department)
    call_next(service_point_id=room2.id, actor=None)
    db.session.commit()
    _at(as_clinician, room1)
    assert "changed" in _press(as_clinician, "start", ticket)
    assert _reload(ticket).status == "called"


def test_actions_need_a_room_first(as_clinician: FlaskClient, room1: ServicePoint) -> None:
    assert "Choose your room" in _press(as_clinician, "call-next")


# ------------------------------------------------------------------ the live part


def _version(body: str) -> str:
    match = re.search(r'id="ws-live"[^>]*data-version="([^"]+)"', body, re.S)
    assert match is not None, "the live part carries its version"
    return match.group(1)


def _live(client: FlaskClient, version: str | None = None) -> TestResponse:
    query = {"version": version} if version is not None else {}
    return client.get("/workstation/live", query_string=query, headers={"HX-Request": "true"})


@pytest.mark.parametrize("persona", ["as_clinician", "as_admin"])
def test_the_page_and_the_poll_serve_the_same_live_part(
    request: pytest.FixtureRequest, persona: str, room1: ServicePoint, ada: Patient
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)
    _ticket(ada, room1.department)
    _at(client, room1)
    page = page_text(client.get("/workstation"))
    live = _live(client)
    assert live.status_code == 200
    fragment = page_text(live)
    assert "<html" not in fragment and "Service point" not in fragment  # the room chooser stays
    for body in (page, fragment):
        assert 'hx-get="/workstation/live"' in body and 'hx-trigger="every 3s"' in body
        assert f'"version": "{_version(body)}"' in body  # the poll sends it back (hx-vals)
        assert "GM-001" in body and "Ada Lovelace" in body
        # Fixed ids: htmx gives the focus back to the same control after a swap.
        for action in ACTIONS:
            assert f'id="ws-button-{action}"' in body
    assert _version(page) == _version(fragment)


def test_the_poll_answers_204_until_the_queue_changes(
    as_clinician: FlaskClient, room1: ServicePoint, ada: Patient
) -> None:
    _at(as_clinician, room1)
    version = _version(page_text(as_clinician.get("/workstation")))
    idle = _live(as_clinician, version)
    assert idle.status_code == 204 and idle.get_data() == b""

    newcomer = _ticket(ada, room1.department)  # checked in at the desk
    changed = _live(as_clinician, version)
    assert changed.status_code == 200
    body = page_text(changed)
    assert f'data-ticket="{newcomer.number}"' in body and "1 waiting for Room 1" in body
    new_version = _version(body)
    assert new_version != version
    assert _live(as_clinician, new_version).status_code == 204


def test_the_poll_does_not_count_as_activity(as_clinician: FlaskClient) -> None:
    view = workstation_live
    marked = False
    while view is not None and not marked:
        marked = getattr(view, POLLED_ATTRIBUTE, False)
        view = getattr(view, "__wrapped__", None)
    assert marked


def test_the_card_empties_when_the_patient_is_moved_elsewhere(
    as_clinician: FlaskClient, receptionist: User, room1: ServicePoint, ada: Patient
) -> None:
    ticket = _ticket(ada, room1.department)
    _at(as_clinician, room1)
    _press(as_clinician, "call-next")
    version = _version(page_text(as_clinician.get("/workstation")))
    assert _live(as_clinician, version).status_code == 204

    # Reception sends the called patient back into the queue from the board's row menu (a
    # called ticket cannot be cancelled: the rule book cancels only waiting tickets).
    apply_move(ticket.id, "skip", actor=receptionist, reason="Went to the pharmacy")
    db.session.commit()

    body = page_text(_live(as_clinician, version))
    assert "ws-ticket" not in body and "Nobody at Room 1" in body
    assert 'id="ws-button-call-next" class="" data-shortcut="C"' in body  # free again: enabled


def test_a_recall_made_elsewhere_changes_the_version(
    as_clinician: FlaskClient, receptionist: User, room1: ServicePoint, ada: Patient
) -> None:
    ticket = _ticket(ada, room1.department)
    _at(as_clinician, room1)
    _press(as_clinician, "call-next")
    version = _version(page_text(as_clinician.get("/workstation")))
    apply_move(ticket.id, "recall", actor=receptionist)
    db.session.commit()
    changed = _live(as_clinician, version)
    assert changed.status_code == 200 and "recalled 1×" in page_text(changed)


def test_without_a_room_the_live_part_asks_for_one_and_does_not_poll(
    as_clinician: FlaskClient, room1: ServicePoint
) -> None:
    body = page_text(_live(as_clinician))
    assert "Choose the room or counter" in body and "hx-trigger" not in body


def test_the_workstation_counts_waited_minutes_from_the_check_in_time(
    as_clinician: FlaskClient, room1: ServicePoint, ada: Patient
) -> None:
    ticket = _ticket(ada, room1.department)
    _at(as_clinician, room1)
    body = page_text(as_clinician.get("/workstation"))
    assert f'data-since="{ticket.checked_in_at.isoformat(timespec="seconds")}"' in body
    assert "data-now=" in body and "/static/js/waited.js" in body


@pytest.mark.postgres
def test_the_live_part_follows_the_queue_on_postgres(pg_app: Flask) -> None:
    clinician = UserFactory(username="pg-chidi", role="clinician")
    desk = UserFactory(username="pg-rosa", role="receptionist")
    department = DepartmentFactory(code="GM", name="General Medicine")
    room = ServicePointFactory(department=department, name="Room 1")
    db.session.commit()
    browser = pg_app.test_client()
    sign_in(browser, clinician)
    _at(browser, room)
    version = _version(page_text(browser.get("/workstation")))
    assert _live(browser, version).status_code == 204

    ticket = _ticket(PatientFactory(), department)
    arrived = _live(browser, version)
    assert arrived.status_code == 200 and f'data-ticket="{ticket.number}"' in page_text(arrived)

    _press(browser, "call-next")
    version = _version(page_text(browser.get("/workstation")))
    apply_move(ticket.id, "skip", actor=desk, reason="Stepped out")
    db.session.commit()
    emptied = page_text(_live(browser, version))
    assert "Nobody at Room 1" in emptied and "ws-ticket" not in emptied
    db.session.remove()
