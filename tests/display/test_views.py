"""The waiting-room display: public, name-free, cheap to poll (ETag / 304), and its live part
rendered once, by the server: the page and the poll carry the same fragment."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import sign_in
from tests.factories import DepartmentFactory, ServicePointFactory, UserFactory
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
    # One line per ticket: its latest call, the recall, with the words to say again.
    (recall,) = state["calls"]
    assert set(recall) == {"id", "say"}
    spelled = " ".join(ticket.number.replace("-", ""))
    assert recall["say"] == f"Ticket {spelled}, please go to Room 1"
    # The same call, drawn: marked as a recall, with its time.
    html = state["html"]
    assert numbers_in(html) == [ticket.number]
    assert f'data-event-id="{recall["id"]}"' in html and "Called again" in html
    assert re.search(
        r'class="recent-time">\d\d:\d\d</time>\s*<span class="recent-recall">again<', html
    )
    assert "<script" not in html and "style=" not in html


def test_it_says_reception_for_a_call_without_a_room() -> None:
    from webapp.queue.state import Call

    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert Call(1, "LAB-007", None, at, False, 0, "called").announcement == (
        "Ticket L A B 0 0 7, please go to Reception"
    )
    assert Call(2, "GM-014", "Room 3", at, True, 1, "called").announcement == (
        "Ticket G M 0 1 4, please go to Room 3"
    )


def test_it_keeps_only_the_last_five_tickets(
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


# ------------------------------------------------------------ one line per ticket


def recalls_in(html: str) -> list[str]:
    """Each line's recall mark ('' for a first call)."""
    lines = re.findall(r'<li class="recent-call.*?</li>', html, flags=re.DOTALL)
    marks = [re.search(r'class="recent-recall">([^<]+)<', line) for line in lines]
    return [mark.group(1) if mark else "" for mark in marks]


def now_number(html: str) -> str:
    found = re.search(r'id="now-number" class="now-number[^"]*">([^<]+)<', html)
    assert found is not None
    return found.group(1)


def recall(ticket: Ticket, actor: User) -> None:
    queue.override_ticket(ticket.id, action="recall", actor=actor)
    db.session.commit()


def test_it_shows_one_line_per_ticket_with_its_latest_call_and_recalls_marked(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    other_room = ServicePointFactory(department=department, name="Room 2")
    db.session.commit()
    first, second = (check_in_patient(department, receptionist) for _ in range(2))
    call(room)
    call(other_room)
    recall(first, receptionist)
    recall(first, receptionist)

    state = client.get("/display/GM/state.json").get_json()
    html = state["html"]

    # The recalled ticket once, on top (its latest call is the newest), marked with its count.
    assert numbers_in(html) == [first.number, second.number]
    assert rooms_in(html) == ["Room 1", "Room 2"]
    assert recalls_in(html) == ["again ×2", ""]
    assert now_number(html) == first.number
    assert "Called again ×2" in html
    # The poll says the latest call of each ticket, the newest first.
    assert [call["id"] for call in state["calls"]] == sorted(
        (call["id"] for call in state["calls"]), reverse=True
    )
    assert len(state["calls"]) == 2

    recall(second, receptionist)
    html = client.get("/display/GM/state.json").get_json()["html"]
    assert numbers_in(html) == [second.number, first.number]
    assert recalls_in(html) == ["again", "again ×2"]


def test_the_last_five_are_five_tickets_however_often_they_were_recalled(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    numbers = []
    for _ in range(6):
        ticket = check_in_patient(department, receptionist)
        call(room)
        recall(ticket, receptionist)
        queue.transition_ticket(ticket.id, status="no_show", actor=None)
        db.session.commit()
        numbers.append(ticket.number)

    html = client.get("/display/GM/state.json").get_json()["html"]

    assert numbers_in(html) == numbers[::-1][:5]


@pytest.mark.parametrize(
    "moves",
    [
        ("start", "complete"),
        ("no_show",),
        ("return_to_queue",),
        ("skip",),
    ],
)
def test_a_finished_or_returned_ticket_leaves_now_calling_but_stays_in_the_last_calls(
    client: FlaskClient,
    department: Department,
    room: ServicePoint,
    receptionist: User,
    admin: User,
    moves: tuple[str, ...],
) -> None:
    ticket = check_in_patient(department, receptionist)
    call(room)
    for move in moves:
        queue.apply_move(ticket.id, move, actor=admin, reason="Stepped out")
        db.session.commit()

    html = client.get("/display/GM/state.json").get_json()["html"]

    assert now_number(html) == "—"
    assert 'id="now-card" class="now-card is-empty"' in html
    assert "Please wait to be called" in html
    assert numbers_in(html) == [ticket.number]


def test_a_transferred_ticket_leaves_now_calling(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    elsewhere = DepartmentFactory(code="LAB", name="Laboratory")
    db.session.commit()
    ticket = check_in_patient(department, receptionist)
    call(room)
    queue.override_ticket(
        ticket.id, action="transfer", actor=receptionist, department_id=elsewhere.id
    )
    db.session.commit()

    html = client.get("/display/GM/state.json").get_json()["html"]

    assert now_number(html) == "—"
    assert numbers_in(html) == [ticket.number]


def test_a_patient_in_service_is_still_now_calling(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    ticket = check_in_patient(department, receptionist)
    call(room)
    queue.transition_ticket(ticket.id, status="in_service", actor=None)
    db.session.commit()

    page = client.get("/display/GM").get_data(as_text=True)

    assert now_number(page) == ticket.number
    assert re.search(r'id="now-room" class="now-room[^"]*">Room 1<', page)


def test_a_new_call_after_a_finished_visit_is_now_calling(
    client: FlaskClient, department: Department, room: ServicePoint, receptionist: User
) -> None:
    first, second = (check_in_patient(department, receptionist) for _ in range(2))
    call(room)
    queue.transition_ticket(first.id, status="no_show", actor=None)
    db.session.commit()
    call(room)

    html = client.get("/display/GM/state.json").get_json()["html"]

    assert now_number(html) == second.number
    assert numbers_in(html) == [second.number, first.number]


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("Room 3", ""),
        ("Minor procedures 2", " is-long"),  # 18 characters
        ("Cardiology consulting room 12B", " is-very-long"),  # 30
        ("Paediatric assessment and observation unit", " is-longest"),  # 43
    ],
)
def test_long_room_names_get_a_smaller_size(
    client: FlaskClient, department: Department, receptionist: User, name: str, size: str
) -> None:
    check_in_patient(department, receptionist)
    call(ServicePointFactory(department=department, name=name))

    html = client.get("/display/GM/state.json").get_json()["html"]

    assert f'class="now-room{size}">{name}<' in html
    assert f'class="recent-room{size}">{name}<' in html
    assert 'class="now-number">GM-001<' in html and 'class="recent-number">GM-001<' in html


# ------------------------------------------------------------ the staff list of screens


def test_the_screens_page_asks_an_anonymous_visitor_to_sign_in(
    client: FlaskClient, department: Department
) -> None:
    response = client.get("/displays")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["receptionist", "clinician", "admin"])
def test_every_staff_role_sees_every_active_departments_screen(
    client: FlaskClient, department: Department, role: str
) -> None:
    DepartmentFactory(code="LAB", name="Laboratory")
    DepartmentFactory(code="OLD", name="Closed Ward", active=False)
    user = UserFactory(username=f"{role}-screens", role=role)
    db.session.commit()
    sign_in(client, user)

    response = client.get("/displays")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'href="/display/GM"' in page and 'href="/display/LAB"' in page
    assert "/display/OLD" not in page and "Closed Ward" not in page
    assert "http://localhost/display/GM" in page  # the address to type on the TV's computer
    # The sound test: the chime and a test call, from static scripts (the CSP allows no other).
    assert 'id="sound-test"' in page
    assert 'data-say="This is a sound test. Ticket G M 0 1 4, please go to Room 3."' in page
    assert 'src="/static/js/sound.js"' in page and 'src="/static/js/displays.js"' in page
    assert "<script>" not in page
    # The navigation leads here.
    assert re.search(r'<a[^>]+href="/displays"[^>]*>\s*Screens', page)


def test_one_line_per_ticket_on_postgresql(pg_app: Flask) -> None:
    """The grouped subquery that picks each ticket's latest call runs on PostgreSQL too, with
    the same answer: the recalled ticket once, on top, with its count; the finished one stays
    in the list but not under "now calling"."""
    department = DepartmentFactory(code="GM", name="General Medicine")
    room, other_room = (
        ServicePointFactory(department=department, name=f"Room {n}") for n in (1, 2)
    )
    db.session.commit()
    first, second, third = (check_in_patient(department) for _ in range(3))
    call(room)
    call(other_room)
    for _ in range(3):
        queue.override_ticket(first.id, action="recall", actor=None)
        db.session.commit()
    queue.transition_ticket(first.id, status="no_show", actor=None)
    db.session.commit()

    html = pg_app.test_client().get("/display/GM/state.json").get_json()["html"]

    assert numbers_in(html) == [first.number, second.number]
    assert recalls_in(html) == ["again ×3", ""]
    assert now_number(html) == "—"
    assert 'class="waiting-count">1<' in html and third.number not in html
