"""The waiting-room display: public, name-free, cheap to poll (ETag / 304), and its live part
rendered once, by the server: the page and the poll carry the same fragment."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask.testing import FlaskClient

from tests.factories import DepartmentFactory, ServicePointFactory
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


def numbers_in(html: str) -> list[str]:
    return re.findall(r'class="recent-number">([^<]+)<', html)


def rooms_in(html: str) -> list[str]:
    return re.findall(r'class="recent-room">([^<]+)<', html)


def call(room: ServicePoint, actor: User | None = None) -> Ticket | None:
    ticket = queue.call_next(service_point_id=room.id, actor=actor)
    db.session.commit()
    return ticket


def test_it_shows_the_display_without_sign_in(client: FlaskClient, room: ServicePoint) -> None:
    response = client.get("/display/GM")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "General Medicine" in page
    assert "Click or press any key to start" in page
    assert "Connection lost" in page  # the banner is there, hidden until polls fail
    assert 'src="/static/js/display.js"' in page
    assert 'id="display-state"' in page and "No one has been called yet today." in page
    assert "<script>" not in page and "style=" not in page  # the CSP allows neither


def test_it_accepts_the_code_in_any_case(client: FlaskClient, room: ServicePoint) -> None:
    assert client.get("/display/gm").status_code == 200


def test_it_refuses_an_unknown_department(client: FlaskClient, room: ServicePoint) -> None:
    assert client.get("/display/ZZZ").status_code == 404
    assert client.get("/display/ZZZ/state.json").status_code == 404


def test_it_refuses_an_inactive_department(client: FlaskClient, app: object) -> None:
    DepartmentFactory(code="OLD", active=False)
    db.session.commit()

    assert client.get("/display/OLD").status_code == 404
    assert client.get("/display/OLD/state.json").status_code == 404


def test_it_shows_the_calls_newest_first_with_rooms(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    other_room = ServicePointFactory(department=department, name="Room 2")
    db.session.commit()
    first, second, _waiting = (check_in_patient(department, receptionist) for _ in range(3))
    call(room)
    call(other_room)

    html = client.get("/display/GM/state.json").get_json()["html"]

    assert numbers_in(html) == [second.number, first.number]
    assert rooms_in(html) == ["Room 2", "Room 1"]
    assert re.search(r'id="now-number" class="now-number">' + second.number, html)
    text = " ".join(re.sub(r"<[^>]+>", "", html).split())
    assert "1 person waiting" in text


def test_the_page_and_its_poll_carry_one_rendering(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    """The live part is rendered once, by one partial: the page includes exactly what the poll
    serves, so no script has to draw it a second way."""
    check_in_patient(department, receptionist)
    check_in_patient(department, receptionist)
    call(room)

    page = client.get("/display/GM").get_data(as_text=True)
    state = client.get("/display/GM/state.json").get_json()

    assert state["html"].strip() in page
    assert f'data-version="{state["version"]}"' in page


def test_the_state_has_the_documented_shape(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    ticket = check_in_patient(department, receptionist)
    call(room)
    queue.override_ticket(ticket.id, action="recall", actor=receptionist)
    db.session.commit()

    response = client.get("/display/GM/state.json")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    state = response.get_json()
    assert set(state) == {"version", "html", "calls", "now"}
    assert response.headers["ETag"] == f'"{state["version"]}"'
    assert datetime.fromisoformat(state["now"]).tzinfo == UTC
    # What to say for each call, newest first; the recall is said again.
    recall, first_call = state["calls"]
    assert set(recall) == {"id", "say"}
    assert recall["id"] > first_call["id"]
    spelled = " ".join(ticket.number.replace("-", ""))
    assert recall["say"] == first_call["say"] == f"Ticket {spelled}, please go to Room 1"
    # The same calls, drawn: the newest is the recall, marked as such, with its time.
    html = state["html"]
    assert numbers_in(html) == [ticket.number, ticket.number]
    assert f'data-event-id="{recall["id"]}"' in html and "Called again" in html
    assert re.search(r'class="recent-time">\d\d:\d\d · again<', html)
    assert "<script" not in html and "style=" not in html


def test_it_says_reception_for_a_call_without_a_room() -> None:
    from webapp.queue.state import Call

    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert Call(1, "LAB-007", None, at, False).announcement == (
        "Ticket L A B 0 0 7, please go to Reception"
    )
    assert Call(2, "GM-014", "Room 3", at, True).announcement == (
        "Ticket G M 0 1 4, please go to Room 3"
    )


def test_it_keeps_only_the_last_five_calls(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    for _ in range(7):
        ticket = check_in_patient(department, receptionist)
        call(room)
        queue.transition_ticket(ticket.id, status="no_show", actor=None)
        db.session.commit()

    state = client.get("/display/GM/state.json").get_json()

    expected = [f"GM-{n:03d}" for n in range(7, 2, -1)]
    assert numbers_in(state["html"]) == expected
    assert len(state["calls"]) == 5


def test_it_answers_304_until_something_changes(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    check_in_patient(department, receptionist)
    first = client.get("/display/GM/state.json")
    etag = first.headers["ETag"]

    unchanged = client.get("/display/GM/state.json", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == etag

    call(room)
    changed = client.get("/display/GM/state.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert rooms_in(changed.get_json()["html"]) == ["Room 1"]


def test_a_new_check_in_changes_the_version(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    etag = client.get("/display/GM/state.json").headers["ETag"]
    check_in_patient(department, receptionist)

    response = client.get("/display/GM/state.json", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert 'class="waiting-count">1<' in response.get_json()["html"]


def test_it_never_shows_a_name_birth_date_or_phone(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    ticket = check_in_patient(
        department, receptionist, first_name=FIRST, last_name=LAST, date_of_birth=BORN, phone=PHONE
    )
    check_in_patient(department, receptionist, first_name=FIRST, last_name=LAST, date_of_birth=BORN)
    call(room)

    page = client.get("/display/GM").get_data(as_text=True)
    state = client.get("/display/GM/state.json").get_data(as_text=True)

    assert ticket.number in page and ticket.number in state
    assert_no_phi(page)
    assert_no_phi(state)
