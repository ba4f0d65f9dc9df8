"""The queue endpoints (webapp/api/queue.py): check-in, current, a ticket, call-next,
status changes and overrides.

The rules are the queue domain's (webapp/queue/)'s (tested in tests/queue); these tests check
that each reaches an API caller with the right status, shape and role.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select, update

from tests.api.conftest import API, detail_fields, error_of
from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    walk_in,
)
from webapp.extensions import db
from webapp.queue import moves as queue
from webapp.queue.models import QueueEvent, Ticket

QUEUE = f"{API}/queue"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICKET_FIELDS = {
    "id",
    "number",
    "status",
    "priority",
    "patient_id",
    "department_id",
    "appointment_id",
    "service_point_id",
    "clinician_id",
    "position",
    "estimated_wait_minutes",
    "target_minutes",
    "target_state",
    "late",
    "checked_in_at",
    "called_at",
    "started_at",
    "ended_at",
    "transferred_from",
    "status_url",
}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(app):
    """General medicine (two rooms, 10 minutes a patient), Radiology, three patients."""
    general = DepartmentFactory(code="GM", name="General", default_service_minutes=10)
    radiology = DepartmentFactory(code="RAD", name="Radiology")
    made = {
        "gm": general,
        "rad": radiology,
        "room1": ServicePointFactory(department=general, name="Room 1"),
        "room2": ServicePointFactory(department=general, name="Room 2"),
        "xray": ServicePointFactory(department=radiology, name="X-ray"),
        "pat": PatientFactory(mrn="MRN-0001", first_name="Patricia", last_name="Quenby"),
        "sam": PatientFactory(mrn="MRN-0002", first_name="Samuel", last_name="Orwinkle"),
        "kim": PatientFactory(mrn="MRN-0003", first_name="Kimberly", last_name="Fenwright"),
    }
    db.session.commit()
    yield made
    # SQLite's DROP TABLE deletes row by row and would trip transferred_from_id's RESTRICT key.
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


NAMES = ("Patricia", "Quenby", "Samuel", "Orwinkle", "Kimberly", "Fenwright")


def no_phi(response) -> None:
    text = response.get_data(as_text=True)
    for name in NAMES:
        assert name not in text


def set_status(ticket: Ticket, *statuses: str, point=None) -> Ticket:
    for status in statuses:
        queue.transition_ticket(
            ticket.id,
            status=status,
            actor=None,
            service_point_id=point.id if point is not None else None,
        )
    db.session.commit()
    return ticket


def events_of(ticket_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(QueueEvent).where(QueueEvent.ticket_id == ticket_id)
    )


# ------------------------------------------------------------------ roles

ENDPOINTS = [
    ("POST", "/check-in", {"patient_id": 1, "department_id": 1}),
    ("GET", "/current?department_id=1", None),
    ("GET", "/1", None),
    ("POST", "/call-next", {"service_point_id": 1}),
    ("PATCH", "/1/status", {"status": "in_service"}),
    ("POST", "/override", {"ticket_id": 1, "action": "skip"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_a_token(client, world, method, path, body):
    response = client.open(f"{QUEUE}{path}", method=method, json=body)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("method", "path", "body", "who"),
    [
        ("POST", "/check-in", {"patient_id": 1, "department_id": 1}, "colin"),
        ("POST", "/call-next", {"service_point_id": 1}, "rita"),
        ("PATCH", "/1/status", {"status": "in_service"}, "rita"),
        ("PATCH", "/1/status", {"status": "called"}, "rita"),
        ("PATCH", "/1/status", {"status": "completed"}, "rita"),
        ("PATCH", "/1/status", {"status": "no_show"}, "rita"),
        ("PATCH", "/1/status", {"status": "waiting"}, "rita"),
        ("POST", "/override", {"ticket_id": 1, "action": "skip"}, "colin"),
        ("POST", "/override", {"ticket_id": 1, "action": "assign"}, "colin"),
        ("POST", "/override", {"ticket_id": 1, "action": "move_to_front"}, "colin"),
        ("POST", "/override", {"ticket_id": 1, "action": "set_priority"}, "colin"),
    ],
)
def test_a_wrong_role_gets_403_and_nothing_changes(client, world, request, method, path, body, who):
    ticket = walk_in(world["gm"], world["pat"])
    before = events_of(ticket.id)

    response = client.open(
        f"{QUEUE}{path}", method=method, json=body, headers=request.getfixturevalue(who)
    )

    assert response.status_code == 403, response.get_json()
    assert error_of(response)["code"] == "forbidden"
    assert events_of(ticket.id) == before
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_wrong_role_gets_403_before_validation(client, world, colin, rita):
    assert client.post(f"{QUEUE}/check-in", json={}, headers=colin).status_code == 403
    assert client.post(f"{QUEUE}/call-next", json={}, headers=rita).status_code == 403


def test_a_receptionist_may_cancel(client, world, rita):
    ticket = walk_in(world["gm"], world["pat"])

    response = client.patch(
        f"{QUEUE}/{ticket.id}/status",
        json={"status": "cancelled", "reason": "went home"},
        headers=rita,
    )

    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["ended_at"] == NOW.isoformat()


def test_a_clinician_may_recall_and_transfer(client, world, colin):
    ticket = set_status(walk_in(world["gm"], world["pat"]), "called", point=world["room1"])

    recalled = client.post(
        f"{QUEUE}/override", json={"ticket_id": ticket.id, "action": "recall"}, headers=colin
    )
    moved = client.post(
        f"{QUEUE}/override",
        json={"ticket_id": ticket.id, "action": "transfer", "department_id": world["rad"].id},
        headers=colin,
    )

    assert recalled.status_code == 200, recalled.get_json()
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["department_id"] == world["rad"].id


@pytest.mark.parametrize("who", ["rita", "colin", "ada"])
def test_every_role_reads_the_queue_and_a_ticket(client, world, request, who):
    ticket = walk_in(world["gm"], world["pat"])
    headers = request.getfixturevalue(who)

    current = client.get(f"{QUEUE}/current?department_id={world['gm'].id}", headers=headers)
    one = client.get(f"{QUEUE}/{ticket.id}", headers=headers)

    assert current.status_code == 200
    assert one.status_code == 200
    assert one.get_json()["id"] == ticket.id


# --------------------------------------------------------------- check-in


@pytest.mark.parametrize("who", ["rita", "ada"])
def test_it_checks_in_a_walk_in(client, world, request, who):
    response = client.post(
        f"{QUEUE}/check-in",
        json={"patient_id": world["pat"].id, "department_id": world["gm"].id, "priority": "urgent"},
        headers=request.getfixturevalue(who),
    )

    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert set(ticket) == TICKET_FIELDS | {"matched_booking"}
    assert ticket["matched_booking"] is False
    assert ticket["number"] == "GM-001"
    assert ticket["status"] == "waiting"
    assert ticket["priority"] == "urgent"
    assert ticket["patient_id"] == world["pat"].id
    assert ticket["department_id"] == world["gm"].id
    assert ticket["appointment_id"] is None
    assert ticket["position"] == 1
    assert ticket["estimated_wait_minutes"] == 0
    assert ticket["checked_in_at"] == "2026-03-02T09:00:00+00:00"
    assert ticket["called_at"] is None
    assert ticket["transferred_from"] is None
    stored = db.session.get(Ticket, ticket["id"])
    assert ticket["status_url"] == f"http://localhost/t/{stored.status_token}"
    no_phi(response)


def test_a_walk_in_is_routine_unless_told(client, world, rita):
    response = client.post(
        f"{QUEUE}/check-in",
        json={"patient_id": world["pat"].id, "department_id": world["gm"].id},
        headers=rita,
    )

    assert response.get_json()["priority"] == "routine"


def test_it_checks_in_a_booked_appointment(client, world, rita):
    appointment = AppointmentFactory(
        patient=world["sam"], department=world["gm"], starts_at=NOW + timedelta(minutes=10)
    )
    db.session.commit()

    response = client.post(
        f"{QUEUE}/check-in", json={"appointment_id": appointment.id}, headers=rita
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["appointment_id"] == appointment.id
    assert body["patient_id"] == world["sam"].id
    assert body["department_id"] == world["gm"].id
    assert body["matched_booking"] is False  # it was named, not matched
    db.session.refresh(appointment)
    assert appointment.status == "checked_in"
    no_phi(response)


def test_a_walk_in_with_a_booking_today_checks_the_booking_in(client, world, rita):
    booking = AppointmentFactory(
        patient=world["sam"], department=world["gm"], starts_at=NOW + timedelta(hours=2)
    )
    AppointmentFactory(  # a later one the same day stays booked
        patient=world["sam"], department=world["gm"], starts_at=NOW + timedelta(hours=4)
    )
    earlier = walk_in(world["gm"], world["pat"])
    db.session.commit()

    response = client.post(
        f"{QUEUE}/check-in",
        json={"patient_id": world["sam"].id, "department_id": world["gm"].id},
        headers=rita,
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["matched_booking"] is True
    assert body["appointment_id"] == booking.id
    assert body["late"] is False
    db.session.refresh(booking)
    assert booking.status == "checked_in"
    # Queued by the appointment's time (11:00), so behind the 09:00 walk-in.
    current = client.get(f"{QUEUE}/current?department_id={world['gm'].id}", headers=rita)
    assert [t["id"] for t in current.get_json()["waiting"]] == [earlier.id, body["id"]]
    # The ticket itself carries the appointment: a later read says the same.
    ticket = client.get(f"{QUEUE}/{body['id']}", headers=rita).get_json()
    assert ticket["appointment_id"] == booking.id
    assert "matched_booking" not in ticket
    no_phi(response)


def test_the_check_in_answer_is_documented_with_matched_booking(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/queue/check-in"]["post"]
    assert "matched_booking" in operation["description"]
    schema = operation["responses"]["201"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    assert "matched_booking" in spec["components"]["schemas"][name]["properties"]


def test_a_ticket_says_whether_its_patient_checked_in_late(client, world, rita):
    # The grace period is 15 minutes: 09:00 for an 08:40 appointment is late, for 08:50 not.
    late = AppointmentFactory(
        patient=world["sam"], department=world["gm"], starts_at=NOW - timedelta(minutes=20)
    )
    in_grace = AppointmentFactory(
        patient=world["kim"], department=world["gm"], starts_at=NOW - timedelta(minutes=10)
    )
    db.session.commit()
    answers = [
        client.post(f"{QUEUE}/check-in", json=body, headers=rita).get_json()
        for body in (
            {"appointment_id": late.id},
            {"appointment_id": in_grace.id},
            {"patient_id": world["pat"].id, "department_id": world["gm"].id},
        )
    ]
    assert [answer["late"] for answer in answers] == [True, False, False]

    body = client.get(f"{QUEUE}/current?department_id={world['gm'].id}", headers=rita).get_json()
    assert {t["id"]: t["late"] for t in body["waiting"]} == {
        answers[0]["id"]: True,
        answers[1]["id"]: False,
        answers[2]["id"]: False,
    }
    assert client.get(f"{QUEUE}/{answers[0]['id']}", headers=rita).get_json()["late"] is True


def test_it_refuses_a_second_active_ticket_with_409(client, world, rita):
    walk_in(world["gm"], world["pat"])

    response = client.post(
        f"{QUEUE}/check-in",
        json={"patient_id": world["pat"].id, "department_id": world["gm"].id},
        headers=rita,
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert detail_fields(response) == ["patient_id"]
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


@pytest.mark.parametrize("status", ["cancelled", "checked_in", "completed"])
def test_it_refuses_an_appointment_that_is_not_booked_with_409(client, world, rita, status):
    appointment = AppointmentFactory(patient=world["sam"], department=world["gm"], status=status)
    db.session.commit()

    response = client.post(
        f"{QUEUE}/check-in", json={"appointment_id": appointment.id}, headers=rita
    )

    assert response.status_code == 409
    assert detail_fields(response) == ["appointment_id"]
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_it_refuses_a_walk_in_where_only_appointments_are_seen_with_409(client, world, rita):
    world["rad"].accepts_walk_ins = False
    db.session.commit()

    response = client.post(
        f"{QUEUE}/check-in",
        json={"patient_id": world["pat"].id, "department_id": world["rad"].id},
        headers=rita,
    )

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"patient_id", "department_id"}),
        ({"priority": "urgent"}, {"patient_id", "department_id"}),
        ({"patient_id": "PAT"}, {"department_id"}),
        ({"department_id": "GM"}, {"patient_id"}),
        ({"appointment_id": "APPT", "patient_id": "PAT"}, {"patient_id"}),
        ({"patient_id": 999, "department_id": "GM"}, {"patient_id"}),
        ({"patient_id": "PAT", "department_id": 999}, {"department_id"}),
        ({"patient_id": 2**70, "department_id": "GM"}, {"patient_id"}),
        ({"appointment_id": 999}, {"appointment_id"}),
        ({"patient_id": "PAT", "department_id": "GM", "priority": "vip"}, {"priority"}),
    ],
)
def test_it_answers_422_for_a_bad_check_in(client, world, rita, body, fields):
    appointment = AppointmentFactory(patient=world["sam"], department=world["gm"])
    db.session.commit()
    ids = {"PAT": world["pat"].id, "GM": world["gm"].id, "APPT": appointment.id}
    sent = {key: ids.get(value, value) for key, value in body.items()}

    response = client.post(f"{QUEUE}/check-in", json=sent, headers=rita)

    assert response.status_code == 422, response.get_json()
    assert set(detail_fields(response)) == fields
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


# ---------------------------------------------------------------- current


def test_it_lists_the_queue_in_serving_order_with_positions_and_estimates(
    client, world, colin, frozen_time
):
    first = walk_in(world["gm"], world["pat"])
    frozen_time.shift(60)
    second = walk_in(world["gm"], world["sam"])
    frozen_time.shift(60)
    urgent = walk_in(world["gm"], world["kim"], priority="urgent")
    called = walk_in(world["rad"], world["pat"])
    set_status(called, "called", point=world["xray"])
    elsewhere = client.get(f"{QUEUE}/current?department_id={world['rad'].id}", headers=colin)

    response = client.get(f"{QUEUE}/current?department_id={world['gm'].id}", headers=colin)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {"department_id", "waiting", "called", "in_service", "generated_at"}
    assert body["department_id"] == world["gm"].id
    assert [t["id"] for t in body["waiting"]] == [urgent.id, first.id, second.id]
    assert [t["position"] for t in body["waiting"]] == [1, 2, 3]
    # 10 minutes a patient, one room serving (none signed in): 0, 10, 20
    assert [t["estimated_wait_minutes"] for t in body["waiting"]] == [0, 10, 20]
    # No visit done yet: the typical visit is the default (also under its former name).
    assert body["typical_visit_minutes"] == body["mean_service_minutes"] == 10
    assert body["called"] == body["in_service"] == []
    assert body["generated_at"] == "2026-03-02T09:02:00+00:00"
    assert all(set(t) == TICKET_FIELDS for t in body["waiting"])
    no_phi(response)
    assert [t["id"] for t in elsewhere.get_json()["called"]] == [called.id]
    assert elsewhere.get_json()["called"][0]["position"] is None
    assert elsewhere.get_json()["called"][0]["estimated_wait_minutes"] is None


def test_a_single_ticket_has_the_same_position_and_estimate(client, world, rita):
    walk_in(world["gm"], world["pat"])
    second = walk_in(world["gm"], world["sam"])

    response = client.get(f"{QUEUE}/{second.id}", headers=rita)

    assert response.get_json()["position"] == 2
    assert response.get_json()["estimated_wait_minutes"] == 10
    no_phi(response)


def test_it_lists_called_and_in_service_tickets(client, world, ada):
    called = set_status(walk_in(world["gm"], world["pat"]), "called", point=world["room1"])
    serving = set_status(
        walk_in(world["gm"], world["sam"]), "called", "in_service", point=world["room2"]
    )

    body = client.get(f"{QUEUE}/current?department_id={world['gm'].id}", headers=ada).get_json()

    assert body["waiting"] == []
    assert [t["id"] for t in body["called"]] == [called.id]
    assert [t["id"] for t in body["in_service"]] == [serving.id]
    assert body["in_service"][0]["service_point_id"] == world["room2"].id
    assert body["in_service"][0]["started_at"] == NOW.isoformat()


@pytest.mark.parametrize("query", ["", "?department_id=", "?department_id=GM"])
def test_the_department_is_required(client, world, rita, query):
    response = client.get(f"{QUEUE}/current{query}", headers=rita)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


@pytest.mark.parametrize("department_id", [999, 0, -1, 2**70])
def test_an_unknown_department_is_404(client, world, rita, department_id):
    response = client.get(f"{QUEUE}/current?department_id={department_id}", headers=rita)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("ticket_id", ["999", str(2**70)])
def test_an_unknown_ticket_is_404(client, world, rita, ticket_id):
    response = client.get(f"{QUEUE}/{ticket_id}", headers=rita)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# -------------------------------------------------------------- call-next


@pytest.mark.parametrize("who", ["colin", "ada"])
def test_call_next_calls_the_first_in_serving_order(client, world, request, who, clinician):
    walk_in(world["gm"], world["pat"])
    urgent = walk_in(world["gm"], world["sam"], priority="urgent")

    response = client.post(
        f"{QUEUE}/call-next",
        json={"service_point_id": world["room1"].id},
        headers=request.getfixturevalue(who),
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == urgent.id
    assert body["status"] == "called"
    assert body["service_point_id"] == world["room1"].id
    assert body["called_at"] == NOW.isoformat()
    assert body["position"] is None
    if who == "colin":
        assert body["clinician_id"] == clinician.id
    no_phi(response)


def test_call_next_answers_204_when_nobody_waits(client, world, colin):
    response = client.post(
        f"{QUEUE}/call-next", json={"service_point_id": world["room1"].id}, headers=colin
    )

    assert response.status_code == 204
    assert response.get_data() == b""


def test_call_next_skips_tickets_assigned_to_another_room(client, world, colin, ada):
    first = walk_in(world["gm"], world["pat"])
    second = walk_in(world["gm"], world["sam"])
    for ticket in (first, second):
        client.post(
            f"{QUEUE}/override",
            json={
                "ticket_id": ticket.id,
                "action": "assign",
                "service_point_id": world["room2"].id,
                "reason": "room 2's specialist",
            },
            headers=ada,
        )

    none = client.post(
        f"{QUEUE}/call-next", json={"service_point_id": world["room1"].id}, headers=colin
    )
    mine = client.post(
        f"{QUEUE}/call-next", json={"service_point_id": world["room2"].id}, headers=ada
    )

    assert none.status_code == 204
    assert mine.status_code == 200
    assert mine.get_json()["id"] == first.id


def test_call_next_takes_a_ticket_assigned_to_this_room(client, world, colin, ada):
    walk_in(world["gm"], world["pat"])
    assigned = walk_in(world["gm"], world["sam"])
    client.post(
        f"{QUEUE}/override",
        json={"ticket_id": assigned.id, "action": "assign", "service_point_id": world["room1"].id},
        headers=ada,
    )
    client.post(
        f"{QUEUE}/call-next", json={"service_point_id": world["room2"].id}, headers=ada
    )  # takes pat

    response = client.post(
        f"{QUEUE}/call-next", json={"service_point_id": world["room1"].id}, headers=colin
    )

    assert response.get_json()["id"] == assigned.id


@pytest.mark.parametrize("statuses", [("called",), ("called", "in_service")])
def test_call_next_answers_409_while_the_room_is_busy(client, world, colin, statuses):
    set_status(walk_in(world["gm"], world["pat"]), *statuses, point=world["room1"])
    waiting = walk_in(world["gm"], world["sam"])

    response = client.post(
        f"{QUEUE}/call-next", json={"service_point_id": world["room1"].id}, headers=colin
    )

    assert response.status_code == 409
    assert detail_fields(response) == ["service_point_id"]
    db.session.refresh(waiting)
    assert waiting.status == "waiting"


@pytest.mark.parametrize("point_id", [999, 0, 2**70, "x"])
def test_call_next_answers_422_for_an_unknown_room(client, world, colin, point_id):
    walk_in(world["gm"], world["pat"])

    response = client.post(f"{QUEUE}/call-next", json={"service_point_id": point_id}, headers=colin)

    assert response.status_code == 422
    assert any("service_point_id" in field for field in detail_fields(response))


# --------------------------------------------------------- status changes

LEGAL = [
    ((), "called", "called"),
    (("called",), "in_service", "in_service"),
    (("called", "in_service"), "completed", "completed"),
    (("called",), "no_show", "no_show"),
    (("called", "in_service"), "no_show", "no_show"),
    ((), "cancelled", "cancelled"),
    (("called",), "waiting", "waiting"),
]


@pytest.mark.parametrize(("before", "status", "after"), LEGAL)
def test_it_makes_each_legal_move(client, world, ada, before, status, after):
    ticket = set_status(walk_in(world["gm"], world["pat"]), *before, point=world["room1"])

    response = client.patch(
        f"{QUEUE}/{ticket.id}/status",
        json={"status": status, "service_point_id": world["room1"].id, "reason": "test"},
        headers=ada,
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == after
    if after == "waiting":
        assert (body["service_point_id"], body["called_at"], body["position"]) == (None, None, 1)
    if after in ("completed", "no_show", "cancelled"):
        assert body["ended_at"] == NOW.isoformat()
    no_phi(response)


ILLEGAL = [
    ((), "in_service"),
    ((), "completed"),
    ((), "no_show"),
    ((), "waiting"),
    (("called",), "called"),
    (("called",), "completed"),
    (("called",), "cancelled"),
    (("called", "in_service"), "called"),
    (("called", "in_service"), "waiting"),
    (("called", "in_service"), "cancelled"),
    (("called", "in_service", "completed"), "in_service"),
    (("cancelled",), "called"),
]


@pytest.mark.parametrize(("before", "status"), ILLEGAL)
def test_it_refuses_an_illegal_move_with_409_and_changes_nothing(
    client, world, colin, before, status
):
    ticket = set_status(walk_in(world["gm"], world["pat"]), *before, point=world["room1"])
    was = (ticket.status, ticket.updated_at, events_of(ticket.id))

    response = client.patch(
        f"{QUEUE}/{ticket.id}/status",
        json={"status": status, "service_point_id": world["room2"].id},
        headers=colin,
    )

    assert response.status_code == 409, response.get_json()
    assert error_of(response)["code"] == "conflict"
    db.session.refresh(ticket)
    assert (ticket.status, ticket.updated_at, events_of(ticket.id)) == was


def test_calling_uses_the_assigned_room_when_none_is_sent(client, world, colin, ada):
    ticket = walk_in(world["gm"], world["pat"])
    client.post(
        f"{QUEUE}/override",
        json={
            "ticket_id": ticket.id,
            "action": "assign",
            "service_point_id": world["room2"].id,
            "reason": "hoist in room 2",
        },
        headers=ada,
    )

    response = client.patch(f"{QUEUE}/{ticket.id}/status", json={"status": "called"}, headers=colin)

    assert response.status_code == 200
    assert response.get_json()["service_point_id"] == world["room2"].id


def test_calling_needs_a_room(client, world, colin):
    ticket = walk_in(world["gm"], world["pat"])

    response = client.patch(f"{QUEUE}/{ticket.id}/status", json={"status": "called"}, headers=colin)

    assert response.status_code == 422
    assert detail_fields(response) == ["service_point_id"]


def test_calling_into_a_busy_room_is_409(client, world, colin):
    set_status(walk_in(world["gm"], world["pat"]), "called", point=world["room1"])
    ticket = walk_in(world["gm"], world["sam"])

    response = client.patch(
        f"{QUEUE}/{ticket.id}/status",
        json={"status": "called", "service_point_id": world["room1"].id},
        headers=colin,
    )

    assert response.status_code == 409


@pytest.mark.parametrize(
    "body", [{}, {"status": "transferred"}, {"status": "done"}, {"status": None}]
)
def test_a_bad_status_is_422(client, world, colin, body):
    ticket = walk_in(world["gm"], world["pat"])

    response = client.patch(f"{QUEUE}/{ticket.id}/status", json=body, headers=colin)

    assert response.status_code == 422


def test_a_status_change_of_an_unknown_ticket_is_404(client, world, colin, rita):
    for headers, status in ((colin, "completed"), (rita, "cancelled")):
        response = client.patch(f"{QUEUE}/999/status", json={"status": status}, headers=headers)
        assert response.status_code == 404


# -------------------------------------------------------------- overrides


def override(client, headers, ticket, action, **fields):
    """An override with a reason, as the rule book asks of assign, skip, move to front and
    set priority (tests of the reason itself pass ``reason=None``)."""
    body = {"ticket_id": ticket.id, "action": action, "reason": "a reason", **fields}
    return client.post(
        f"{QUEUE}/override",
        json={key: value for key, value in body.items() if value is not None},
        headers=headers,
    )


def waiting_ids(client, headers, world) -> list[int]:
    body = client.get(f"{QUEUE}/current?department_id={world['gm'].id}", headers=headers).get_json()
    return [ticket["id"] for ticket in body["waiting"]]


def test_assign_sets_the_room(client, world, rita):
    ticket = walk_in(world["gm"], world["pat"])

    response = override(client, rita, ticket, "assign", service_point_id=world["room2"].id)

    assert response.status_code == 200
    assert response.get_json()["service_point_id"] == world["room2"].id
    assert response.get_json()["status"] == "waiting"
    no_phi(response)


def test_assign_to_another_departments_room_is_422(client, world, rita):
    ticket = walk_in(world["gm"], world["pat"])

    response = override(client, rita, ticket, "assign", service_point_id=world["xray"].id)

    assert response.status_code == 422
    assert detail_fields(response) == ["service_point_id"]


def test_move_to_front_and_skip_change_the_order(client, world, rita, frozen_time):
    first = walk_in(world["gm"], world["pat"])
    frozen_time.shift(60)
    second = walk_in(world["gm"], world["sam"])
    frozen_time.shift(60)
    third = walk_in(world["gm"], world["kim"])

    front = override(client, rita, third, "move_to_front", reason="frail")
    assert front.status_code == 200
    assert front.get_json()["position"] == 1
    assert waiting_ids(client, rita, world) == [third.id, first.id, second.id]

    skipped = override(client, rita, third, "skip")
    assert skipped.status_code == 200
    assert skipped.get_json()["position"] == 3  # behind the next (up to 3) of its group
    assert waiting_ids(client, rita, world) == [first.id, second.id, third.id]


def test_set_priority_reorders_the_queue(client, world, ada):
    first = walk_in(world["gm"], world["pat"])
    second = walk_in(world["gm"], world["sam"])

    response = override(client, ada, second, "set_priority", priority="emergency")

    assert response.status_code == 200
    assert response.get_json()["priority"] == "emergency"
    assert response.get_json()["position"] == 1
    assert waiting_ids(client, ada, world) == [second.id, first.id]


def test_set_priority_needs_a_priority(client, world, ada):
    ticket = walk_in(world["gm"], world["pat"])

    response = override(client, ada, ticket, "set_priority")

    assert response.status_code == 422
    assert detail_fields(response) == ["priority"]


def test_recall_calls_again(client, world, colin, frozen_time):
    ticket = set_status(walk_in(world["gm"], world["pat"]), "called", point=world["room1"])
    frozen_time.shift(120)

    response = override(client, colin, ticket, "recall")

    assert response.status_code == 200
    assert response.get_json()["status"] == "called"
    assert response.get_json()["called_at"] == "2026-03-02T09:02:00+00:00"


def test_transfer_answers_the_new_ticket(client, world, rita):
    ticket = walk_in(world["gm"], world["pat"])
    old_url = client.get(f"{QUEUE}/{ticket.id}", headers=rita).get_json()["status_url"]

    response = override(client, rita, ticket, "transfer", department_id=world["rad"].id)

    assert response.status_code == 200, response.get_json()
    new = response.get_json()
    assert new["id"] != ticket.id
    assert new["transferred_from"] == ticket.id
    assert new["department_id"] == world["rad"].id
    assert new["number"] == "RAD-001"
    assert new["status"] == "waiting"
    assert new["position"] == 1
    assert new["status_url"] == old_url
    old = client.get(f"{QUEUE}/{ticket.id}", headers=rita).get_json()
    assert old["status"] == "transferred"
    assert old["status_url"] == old_url
    no_phi(response)


def test_transfer_needs_another_department(client, world, rita):
    ticket = walk_in(world["gm"], world["pat"])

    for fields in ({}, {"department_id": world["gm"].id}, {"department_id": 999}):
        response = override(client, rita, ticket, "transfer", **fields)
        assert response.status_code == 422
        assert detail_fields(response) == ["department_id"]


@pytest.mark.parametrize(
    ("before", "action", "fields"),
    [
        (("called",), "assign", {"service_point_id": "room2"}),
        (("called",), "move_to_front", {}),
        (("called",), "set_priority", {"priority": "urgent"}),
        ((), "recall", {}),
        (("called", "in_service"), "skip", {}),
        (("called", "in_service", "completed"), "transfer", {"department_id": "rad"}),
        (("cancelled",), "recall", {}),
    ],
)
def test_an_illegal_override_is_409_and_changes_nothing(client, world, ada, before, action, fields):
    ticket = set_status(walk_in(world["gm"], world["pat"]), *before, point=world["room1"])
    was = (ticket.status, ticket.queue_key, ticket.priority, events_of(ticket.id))
    sent = {key: world[value].id if value in world else value for key, value in fields.items()}

    response = override(client, ada, ticket, action, **sent)

    assert response.status_code == 409, response.get_json()
    db.session.refresh(ticket)
    assert (ticket.status, ticket.queue_key, ticket.priority, events_of(ticket.id)) == was
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


@pytest.mark.parametrize("ticket_id", [999, 0, 2**70])
def test_an_unknown_ticket_id_in_the_body_is_422(client, world, rita, ticket_id):
    response = client.post(
        f"{QUEUE}/override", json={"ticket_id": ticket_id, "action": "skip"}, headers=rita
    )

    assert response.status_code == 422
    assert detail_fields(response) == ["ticket_id"]


@pytest.mark.parametrize(
    "body", [{"action": "skip"}, {"ticket_id": 1}, {"ticket_id": 1, "action": "delete"}]
)
def test_a_bad_override_is_422(client, world, rita, body):
    walk_in(world["gm"], world["pat"])

    response = client.post(f"{QUEUE}/override", json=body, headers=rita)

    assert response.status_code == 422


def test_a_clinician_is_refused_before_the_ticket_is_looked_up(client, world, colin):
    response = client.post(
        f"{QUEUE}/override", json={"ticket_id": 999, "action": "skip"}, headers=colin
    )

    assert response.status_code == 403


def test_status_url_is_the_absolute_address_of_the_ticket_page(app, world):
    from webapp.queue.fields import status_url

    ticket = walk_in(world["gm"], world["pat"])
    with app.test_request_context("/api/v1/queue/1", base_url="http://localhost:5000"):
        assert status_url(ticket) == f"http://localhost:5000/t/{ticket.status_token}"
    app.config["PUBLIC_BASE_URL"] = "https://queue.hospital.example/opd"
    with app.test_request_context("/api/v1/queue/1", base_url="http://localhost:5000"):
        url = status_url(ticket)

    assert url == f"https://queue.hospital.example/opd/t/{ticket.status_token}"


def test_a_forged_host_never_reaches_a_status_url(client, world, rita):
    response = client.post(
        f"{QUEUE}/check-in",
        json={"patient_id": world["pat"].id, "department_id": world["gm"].id},
        headers={**rita, "Host": "evil.example"},
    )

    assert response.status_code == 400
    assert "evil.example" not in response.get_data(as_text=True)


def test_every_queue_answer_leaves_out_names(client, world, ada):
    ticket = walk_in(world["gm"], world["pat"])
    walk_in(world["rad"], world["sam"])
    responses: list[Any] = [
        client.get(f"{QUEUE}/current?department_id={world['gm'].id}", headers=ada),
        client.get(f"{QUEUE}/current?department_id={world['rad'].id}", headers=ada),
        client.get(f"{QUEUE}/{ticket.id}", headers=ada),
        client.post(
            f"{QUEUE}/call-next", json={"service_point_id": world["room1"].id}, headers=ada
        ),
        override(client, ada, ticket, "recall"),
        client.patch(f"{QUEUE}/{ticket.id}/status", json={"status": "in_service"}, headers=ada),
        client.patch(f"{QUEUE}/{ticket.id}/status", json={"status": "waiting"}, headers=ada),
    ]
    for response in responses:
        no_phi(response)
