"""The reception board: access, check-in, overrides, the polled partial."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.admin.helpers import flashes, page_text
from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
)
from webapp.appointments.models import Appointment
from webapp.clock import day_bounds, local_time, today
from webapp.database import utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue.models import QueueEvent, Ticket
from webapp.queue.moves import apply_move, call_next, check_in


@pytest.fixture
def gm(app: Flask) -> Department:
    department = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    return department


@pytest.fixture
def lab(app: Flask) -> Iterator[Department]:
    department = DepartmentFactory(code="LAB", name="Laboratory")
    db.session.commit()
    yield department
    unlink_transfer_chains()


def unlink_transfer_chains() -> None:
    """SQLite's drop_all deletes tickets row by row; a transfer chain's RESTRICT key trips it."""
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


@pytest.fixture
def room(gm: Department) -> ServicePoint:
    point = ServicePointFactory(department=gm, name="Room 1")
    db.session.commit()
    return point


@pytest.fixture
def ada_patient(app: Flask) -> Patient:
    patient = PatientFactory(first_name="Ada", last_name="Lovelace", mrn="MRN00000777")
    db.session.commit()
    return patient


def _ticket(patient: Patient, department: Department, priority: str = "routine") -> Ticket:
    ticket = check_in(
        actor=None, patient_id=patient.id, department_id=department.id, priority=priority
    )
    db.session.commit()
    return ticket


def _events(ticket_id: int, action: str) -> list[QueueEvent]:
    return list(
        db.session.scalars(
            select(QueueEvent).where(QueueEvent.ticket_id == ticket_id, QueueEvent.action == action)
        )
    )


def _reload(ticket: Ticket) -> Ticket:
    db.session.expire_all()
    fresh = db.session.get(Ticket, ticket.id)
    assert fresh is not None
    return fresh


def _version(body: str) -> str:
    match = re.search(r'data-version="([^"]+)"', body)
    assert match is not None
    return match.group(1)


# ------------------------------------------------------------------ access

PAGES = ["/queue", "/queue/board-partial", "/queue/patient-search?q=a"]
POSTS = [
    "/queue/check-in",
    "/queue/check-in-appointment",
    "/queue/tickets/1/move",
]
CHECK_IN_POSTS = ["/queue/check-in", "/queue/check-in-appointment"]


@pytest.mark.parametrize("path", [*PAGES, *POSTS])
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.post(path) if path in POSTS else client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", [*CHECK_IN_POSTS, "/queue/patient-search?q=a"])
def test_clinicians_cannot_check_in(as_clinician: FlaskClient, gm: Department, path: str) -> None:
    # Which queue moves a clinician may make from the board is the rule book's answer,
    # walked for every role and door in tests/queue/test_rule_book_doors.py.
    response = as_clinician.post(path) if path in POSTS else as_clinician.get(path)
    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician", "as_admin"])
def test_staff_see_the_board(
    request: pytest.FixtureRequest, persona: str, gm: Department, ada_patient: Patient
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)
    _ticket(ada_patient, gm)
    body = page_text(client.get("/queue"))
    assert "General Medicine" in body
    assert "GM-001" in body and "Ada Lovelace" in body
    assert "walk-in" in body
    assert "Actions for GM-001" in body
    # A fixed id: htmx gives the focus back to the same row menu after a refresh.
    assert re.search(r'<summary id="actions-\d+" aria-label="Actions for GM-001">', body)
    if persona == "as_clinician":
        # The row menu offers only what the rule book lets a clinician do to a waiting ticket.
        assert "Check in a walk-in" not in body
        assert "Transfer" in body and "Cancel ticket" in body
        assert ">Skip<" not in body and "Move to front" not in body and ">Assign<" not in body
    else:
        assert "Check in a walk-in" in body
        assert ">Skip<" in body and "Move to front" in body and "Set priority" in body
    assert client.get("/queue/board-partial").status_code == 200


def test_one_department_or_all(
    as_receptionist: FlaskClient, gm: Department, lab: Department, ada_patient: Patient
) -> None:
    _ticket(ada_patient, lab)
    everything = page_text(as_receptionist.get("/queue"))
    assert "General Medicine" in everything and "LAB-001" in everything
    only_gm = page_text(as_receptionist.get(f"/queue?department_id={gm.id}"))
    assert 'id="dept-' + str(gm.id) in only_gm
    assert "LAB-001" not in only_gm
    assert as_receptionist.get("/queue?department_id=9999").status_code == 404


def test_waiting_rows_show_order_priority_appointment_and_target_state(
    as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    other = PatientFactory(first_name="Alan", last_name="Turing")
    third = PatientFactory(first_name="Grace", last_name="Hopper")
    db.session.commit()
    routine = _ticket(ada_patient, gm)
    urgent = _ticket(other, gm, priority="urgent")
    late = _ticket(third, gm, priority="priority")
    routine.checked_in_at = routine.checked_in_at - timedelta(minutes=50)  # 80 % of 60: at risk
    late.checked_in_at = late.checked_in_at - timedelta(minutes=31)  # past 30: breached
    db.session.commit()
    body = page_text(as_receptionist.get("/queue"))
    assert body.index(urgent.number) < body.index(routine.number)  # serving order
    assert "Urgent" in body and "Routine" in body

    def row(ticket: Ticket) -> str:
        found = re.search(
            rf'<tr class="waiting-row[^"]*" data-ticket="{ticket.number}".*?</tr>', body, re.DOTALL
        )
        assert found is not None
        return found.group(0)

    assert "target-row-at_risk" in row(routine) and "At risk" in row(routine)
    assert "50 min" in row(routine) and "target 1 h" in row(routine)
    assert "target-row-breached" in row(late) and "Breached" in row(late)
    assert "target-row-ok" in row(urgent) and "On time" in row(urgent)
    # The browser turns rows on time from these moments (static/js/targets.js).
    breached_at = (late.checked_in_at + timedelta(minutes=30)).isoformat(timespec="seconds")
    assert f'data-breached-at="{breached_at}"' in row(late)


def test_called_and_in_service_sections_show_the_room_and_recalls(
    as_receptionist: FlaskClient, gm: Department, room: ServicePoint, ada_patient: Patient
) -> None:
    ticket = _ticket(ada_patient, gm)
    call_next(service_point_id=room.id, actor=None)
    ticket = _reload(ticket)
    ticket.recall_count = 2
    db.session.commit()
    body = page_text(as_receptionist.get("/queue"))
    assert "Room 1" in body and "recalled 2×" in body


# ---------------------------------------------------------------- check-in


def test_patient_search_finds_the_patient(
    as_receptionist: FlaskClient, ada_patient: Patient
) -> None:
    body = page_text(
        as_receptionist.get("/queue/patient-search?q=Lovel", headers={"HX-Request": "true"})
    )
    assert "Lovelace, Ada" in body and f'value="{ada_patient.id}"' in body
    assert "<html" not in body
    nothing = page_text(as_receptionist.get("/queue/patient-search?q=zzzz"))
    assert "No patient matches" in nothing


def test_check_in_a_walk_in_from_the_board(
    as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    response = as_receptionist.post(
        f"/queue/check-in?department_id={gm.id}",
        data={"patient_id": ada_patient.id, "department_id": gm.id, "priority": "urgent"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/queue?department_id={gm.id}"
    ticket = db.session.scalar(select(Ticket).where(Ticket.patient_id == ada_patient.id))
    assert ticket is not None and ticket.priority == "urgent" and ticket.status == "waiting"
    body = page_text(as_receptionist.get(response.headers["Location"]))
    assert "Checked in: ticket GM-001" in " ".join(flashes(body))
    assert "Lovelace" not in " ".join(flashes(body))  # the cookie-borne flash names no patient
    assert f'href="/tickets/{ticket.id}/print"' in body


def test_check_in_twice_flashes_and_keeps_one_ticket(
    as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    _ticket(ada_patient, gm)
    response = as_receptionist.post(
        "/queue/check-in",
        data={"patient_id": ada_patient.id, "department_id": gm.id, "priority": "routine"},
        follow_redirects=True,
    )
    assert any("already has ticket GM-001" in message for message in flashes(page_text(response)))
    assert len(list(db.session.scalars(select(Ticket)))) == 1


def test_check_in_without_a_patient_asks_for_one(
    as_receptionist: FlaskClient, gm: Department
) -> None:
    response = as_receptionist.post(
        "/queue/check-in", data={"department_id": gm.id}, follow_redirects=True
    )
    assert any("Find the patient" in message for message in flashes(page_text(response)))
    assert db.session.scalar(select(Ticket)) is None


def test_check_in_an_appointment_in_one_click(
    as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    # Booked for early today (whatever the hour the test runs at), still to arrive.
    early_today = day_bounds(today())[0] + timedelta(minutes=1)
    appointment = AppointmentFactory(
        patient=ada_patient, department=gm, reason="Cough", starts_at=early_today
    )
    db.session.commit()
    board = page_text(as_receptionist.get("/queue"))
    assert "Still to arrive today (1)" in board and "Cough" in board
    response = as_receptionist.post(
        "/queue/check-in-appointment",
        data={"appointment_id": appointment.id},
        follow_redirects=True,
    )
    assert any("ticket GM-001" in message for message in flashes(page_text(response)))
    ticket = db.session.scalar(select(Ticket))
    assert ticket is not None and ticket.appointment_id == appointment.id
    assert db.session.get(Appointment, appointment.id).status == "checked_in"  # type: ignore[union-attr]
    again = as_receptionist.post(
        "/queue/check-in-appointment",
        data={"appointment_id": appointment.id},
        follow_redirects=True,
    )
    assert any("only a booked appointment" in message for message in flashes(page_text(again)))


# --------------------------------------------------------------- overrides


@pytest.fixture
def two_waiting(gm: Department, ada_patient: Patient) -> tuple[Ticket, Ticket]:
    other = PatientFactory(first_name="Alan", last_name="Turing")
    db.session.commit()
    return _ticket(ada_patient, gm), _ticket(other, gm)


def _override(client: FlaskClient, ticket: Ticket, **data: object) -> list[str]:
    response = client.post(
        f"/queue/tickets/{ticket.id}/move",
        data={"reason": "Test", **data},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return flashes(page_text(response))


def test_skip(as_receptionist: FlaskClient, two_waiting: tuple[Ticket, Ticket]) -> None:
    first, second = two_waiting
    messages = _override(as_receptionist, first, move="skip", reason="Stepped out")
    assert any("skipped" in message for message in messages)
    assert _reload(first).skip_count == 1
    assert _reload(first).queue_key > _reload(second).queue_key
    assert _events(first.id, "skip")[0].reason == "Stepped out"


def test_move_to_front(as_receptionist: FlaskClient, two_waiting: tuple[Ticket, Ticket]) -> None:
    first, second = two_waiting
    _override(as_receptionist, second, move="move_to_front", reason="Elderly")
    assert _reload(second).queue_key < _reload(first).queue_key
    assert _events(second.id, "move_to_front")[0].reason == "Elderly"


def test_set_priority(as_receptionist: FlaskClient, two_waiting: tuple[Ticket, Ticket]) -> None:
    first, _ = two_waiting
    messages = _override(as_receptionist, first, move="set_priority", priority="emergency")
    assert any("now emergency" in message for message in messages)
    assert _reload(first).priority == "emergency"
    assert len(_events(first.id, "set_priority")) == 1


def test_assign_to_a_room(
    as_receptionist: FlaskClient, two_waiting: tuple[Ticket, Ticket], room: ServicePoint
) -> None:
    first, _ = two_waiting
    messages = _override(as_receptionist, first, move="assign", service_point_id=room.id)
    assert any("assigned to Room 1" in message for message in messages)
    assert _reload(first).service_point_id == room.id
    assert len(_events(first.id, "assign")) == 1


def test_transfer(
    as_receptionist: FlaskClient, two_waiting: tuple[Ticket, Ticket], lab: Department
) -> None:
    first, _ = two_waiting
    messages = _override(as_receptionist, first, move="transfer", department_id=lab.id)
    assert any("transferred to Laboratory as LAB-001" in message for message in messages)
    assert _reload(first).status == "transferred"
    assert len(_events(first.id, "transfer")) == 1


def test_cancel(as_receptionist: FlaskClient, two_waiting: tuple[Ticket, Ticket]) -> None:
    first, _ = two_waiting
    response = as_receptionist.post(
        f"/queue/tickets/{first.id}/move",
        data={"move": "cancel", "reason": "Went home"},
        follow_redirects=True,
    )
    assert any("is cancelled" in message for message in flashes(page_text(response)))
    assert _reload(first).status == "cancelled"
    assert _events(first.id, "cancel")[0].reason == "Went home"


def test_an_override_needs_a_reason(
    as_receptionist: FlaskClient, two_waiting: tuple[Ticket, Ticket]
) -> None:
    first, _ = two_waiting
    key = first.queue_key
    messages = _override(as_receptionist, first, move="move_to_front", reason="  ")
    assert any("Give a reason" in message for message in messages)
    assert _reload(first).queue_key == key
    assert _events(first.id, "move_to_front") == []


def test_an_illegal_override_flashes_and_changes_nothing(
    as_admin: FlaskClient, gm: Department, room: ServicePoint, ada_patient: Patient
) -> None:
    ticket = _ticket(ada_patient, gm)
    call_next(service_point_id=room.id, actor=None)
    db.session.commit()
    before = len(list(db.session.scalars(select(QueueEvent))))
    messages = _override(as_admin, ticket, move="move_to_front", reason="Try")
    assert any("it can be moved to the front only while it is waiting" in m for m in messages)
    cancel = as_admin.post(
        f"/queue/tickets/{ticket.id}/move",
        data={"move": "cancel", "reason": "Try"},
        follow_redirects=True,
    )
    assert any(
        "it can be cancelled only while it is waiting" in m for m in flashes(page_text(cancel))
    )
    assert _reload(ticket).status == "called"
    assert len(list(db.session.scalars(select(QueueEvent)))) == before


def test_overrides_keep_the_department_filter(
    as_receptionist: FlaskClient, two_waiting: tuple[Ticket, Ticket], gm: Department
) -> None:
    first, _ = two_waiting
    response = as_receptionist.post(
        f"/queue/tickets/{first.id}/move?department_id={gm.id}",
        data={"move": "skip", "reason": "x"},
    )
    assert response.headers["Location"] == f"/queue?department_id={gm.id}"


# ------------------------------------------------------------ the polled partial


def test_the_partial_answers_204_until_something_changes(
    as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    ticket = _ticket(ada_patient, gm)
    url = "/queue/board-partial"
    first = as_receptionist.get(
        url, query_string={"department_id": gm.id}, headers={"HX-Request": "true"}
    )
    assert first.status_code == 200
    body = page_text(first)
    assert ticket.number in body and "<html" not in body and "Check in a walk-in" not in body
    version = _version(body)
    assert f'"version": "{version}"' in body  # the poll sends it back (hx-vals)

    idle = as_receptionist.get(url, query_string={"department_id": gm.id, "version": version})
    assert idle.status_code == 204 and idle.get_data() == b""

    as_receptionist.post(
        f"/queue/tickets/{ticket.id}/move",
        data={"move": "set_priority", "priority": "urgent", "reason": "Pain"},
    )
    changed = as_receptionist.get(url, query_string={"department_id": gm.id, "version": version})
    assert changed.status_code == 200
    new_version = _version(page_text(changed))
    assert new_version != version
    again = as_receptionist.get(url, query_string={"department_id": gm.id, "version": new_version})
    assert again.status_code == 204


def test_the_board_version_covers_every_department_shown(
    as_receptionist: FlaskClient, gm: Department, lab: Department, ada_patient: Patient
) -> None:
    version = _version(page_text(as_receptionist.get("/queue")))
    assert (
        as_receptionist.get("/queue/board-partial", query_string={"version": version}).status_code
        == 204
    )
    _ticket(ada_patient, lab)
    assert (
        as_receptionist.get("/queue/board-partial", query_string={"version": version}).status_code
        == 200
    )


def test_the_board_loads_its_script_and_keeps_check_in_outside_the_polled_rows(
    as_receptionist: FlaskClient, gm: Department
) -> None:
    body = page_text(as_receptionist.get("/queue"))
    assert "/static/js/queue.js" in body and "/static/js/waited.js" in body
    assert "<script>" not in body
    rows_start = body.index('id="board-rows"')
    # The compact check-in bar above the queue, still-to-arrive appointments below it.
    assert body.index('id="checkin-form"') < rows_start < body.index('id="todays-appointments"')
    assert 'hx-trigger="every 4s"' in body


@pytest.fixture
def midday(time_machine: Any) -> None:
    """Today's appointments an hour either side of now are still today (not near midnight)."""
    time_machine.move_to(datetime(2025, 3, 10, 12, 0, tzinfo=UTC), tick=False)


def _appointments_details(body: str) -> str:
    match = re.search(r'<details class="todays-appointments"[^>]*>', body)
    assert match is not None
    return match.group(0)


def test_still_to_arrive_is_open_while_short_and_closed_when_long(
    midday: None, as_receptionist: FlaskClient, gm: Department
) -> None:
    AppointmentFactory(department=gm)
    db.session.commit()
    assert " open" in _appointments_details(page_text(as_receptionist.get("/queue")))
    AppointmentFactory.create_batch(5, department=gm)
    db.session.commit()
    body = page_text(as_receptionist.get("/queue"))
    assert "Still to arrive today (6)" in body
    assert " open" not in _appointments_details(body)


def test_waited_minutes_carry_the_check_in_time_for_the_counting_script(
    as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    ticket = _ticket(ada_patient, gm)
    body = page_text(as_receptionist.get("/queue/board-partial"))
    since = ticket.checked_in_at.isoformat(timespec="seconds")
    assert f'data-since="{since}">0 min</span>' in body
    assert re.search(r'id="board-rows"[^>]*data-now="\d{4}-\d\d-\d\dT[^"]+"', body, re.S)


def test_a_late_arrival_is_flagged_in_words(
    midday: None, as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    on_time = AppointmentFactory(department=gm, starts_at=utcnow() + timedelta(minutes=5))
    late = AppointmentFactory(
        patient=ada_patient, department=gm, starts_at=utcnow() - timedelta(hours=1)
    )
    db.session.commit()
    on_time_ticket = check_in(actor=None, appointment_id=on_time.id)
    late_ticket = check_in(actor=None, appointment_id=late.id)
    db.session.commit()
    body = page_text(as_receptionist.get("/queue"))

    def row(number: str) -> str:
        match = re.search(rf'data-ticket="{number}"[^>]*>.*?</tr>', body, re.S)
        assert match is not None
        return match.group(0)

    assert 'class="badge late-badge">Late</span>' in row(late_ticket.number)
    assert "late-badge" not in row(on_time_ticket.number)


def test_checking_in_an_appointment_says_which_appointment(
    midday: None, as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    appointment = AppointmentFactory(patient=ada_patient, department=gm)
    db.session.commit()
    response = as_receptionist.post(
        "/queue/check-in-appointment",
        data={"appointment_id": appointment.id},
        follow_redirects=True,
    )
    at = local_time(appointment.starts_at)
    messages = " ".join(flashes(page_text(response)))
    assert f"Checked in: ticket GM-001 in General Medicine, for the {at} appointment." in messages
    assert "Lovelace" not in messages


def test_a_walk_in_that_matches_a_booking_today_says_which_appointment(
    midday: None, as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    appointment = AppointmentFactory(
        patient=ada_patient, department=gm, starts_at=utcnow() + timedelta(minutes=20)
    )
    db.session.commit()
    response = as_receptionist.post(
        "/queue/check-in",
        data={"patient_id": ada_patient.id, "department_id": gm.id, "priority": "routine"},
        follow_redirects=True,
    )
    at = local_time(appointment.starts_at)
    messages = " ".join(flashes(page_text(response)))
    assert f"Checked in: ticket GM-001 in General Medicine, for the {at} appointment." in messages
    assert "Lovelace" not in messages


def test_a_walk_in_without_a_booking_names_no_appointment(
    as_receptionist: FlaskClient, gm: Department, ada_patient: Patient
) -> None:
    response = as_receptionist.post(
        "/queue/check-in",
        data={"patient_id": ada_patient.id, "department_id": gm.id, "priority": "routine"},
        follow_redirects=True,
    )
    messages = " ".join(flashes(page_text(response)))
    assert "Checked in: ticket GM-001 in General Medicine." in messages
    assert "appointment" not in messages


# ------------------------------------------------------------------ a ticket's history


def test_anonymous_visitors_cannot_read_a_history(client: FlaskClient) -> None:
    response = client.get("/queue/tickets/1/history")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician", "as_admin"])
def test_staff_read_a_tickets_history_from_its_row_menu(
    request: pytest.FixtureRequest, persona: str, two_waiting: tuple[Ticket, Ticket]
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)
    first, _ = two_waiting
    board = page_text(client.get("/queue"))
    assert f'hx-get="/queue/tickets/{first.id}/history"' in board
    sign_in_as_desk = request.getfixturevalue("receptionist")
    apply_move(first.id, "skip", actor=sign_in_as_desk, reason="Went for a coffee")
    db.session.commit()

    response = client.get(f"/queue/tickets/{first.id}/history", headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = page_text(response)
    assert "<html" not in body
    assert body.index("Checked in") < body.index("Skipped")
    assert "Went for a coffee" in body and sign_in_as_desk.username in body
    assert "Lovelace" not in body and "Turing" not in body  # moves, not the patient's record


def test_the_history_of_an_unknown_ticket_is_404(as_receptionist: FlaskClient) -> None:
    assert as_receptionist.get("/queue/tickets/999/history").status_code == 404
