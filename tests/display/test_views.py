"""The waiting-room display: public, name-free, cheap to poll (ETag / 304)."""

from __future__ import annotations

import re

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

    state = client.get("/display/GM/state.json").get_json()

    assert [entry["number"] for entry in state["calls"]] == [second.number, first.number]
    assert [entry["room"] for entry in state["calls"]] == ["Room 2", "Room 1"]
    assert state["waiting"] == 1
    page = client.get("/display/GM").get_data(as_text=True)
    assert second.number in page and "Room 2" in page


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
    assert set(state) == {"version", "department", "calls", "waiting", "now"}
    assert state["department"] == {"code": "GM", "name": "General Medicine"}
    assert state["waiting"] == 0
    assert len(state["calls"]) == 2
    recall, first_call = state["calls"]
    assert set(recall) == {"id", "number", "room", "at", "time", "recall"}
    assert recall["recall"] is True and first_call["recall"] is False
    assert recall["id"] > first_call["id"]
    assert recall["number"] == ticket.number and recall["room"] == "Room 1"
    assert re.fullmatch(r"\d\d:\d\d", recall["time"])
    assert response.headers["ETag"] == f'"{state["version"]}"'


def test_it_keeps_only_the_last_five_calls(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    for _ in range(7):
        ticket = check_in_patient(department, receptionist)
        call(room)
        queue.transition_ticket(ticket.id, status="no_show", actor=receptionist)
        db.session.commit()

    calls = client.get("/display/GM/state.json").get_json()["calls"]

    assert len(calls) == 5
    assert [entry["number"] for entry in calls] == [f"GM-{n:03d}" for n in range(7, 2, -1)]


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
    assert changed.get_json()["calls"][0]["room"] == "Room 1"


def test_a_new_check_in_changes_the_version(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    etag = client.get("/display/GM/state.json").headers["ETag"]
    check_in_patient(department, receptionist)

    response = client.get("/display/GM/state.json", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.get_json()["waiting"] == 1


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
