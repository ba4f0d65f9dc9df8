"""POST/GET /appointments, GET/PATCH/DELETE /appointments/{id} (webapp/api/appointments.py).

The booking rules are webapp/appointments/services.py's; these tests check that
each reaches an API caller with the right status, field and message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from tests.api.conftest import API, detail_fields, error_of
from tests.factories import AppointmentFactory, DepartmentFactory, PatientFactory, UserFactory
from webapp.appointments.models import Appointment
from webapp.audit.models import AuditLog
from webapp.extensions import db

APPOINTMENTS = f"{API}/appointments"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def at(hour: int, minute: int = 0, day: int = 3) -> datetime:
    """A time in March 2026, UTC (day 3 is tomorrow, a Tuesday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(app, clinician):
    """Two departments (one open at all hours, one weekdays 9–5), two patients, two clinicians."""
    made = {
        "anytime": DepartmentFactory(code="ANY", name="Anytime", opening_hours=None),
        "clinic": DepartmentFactory(code="GM", name="General", opening_hours=WEEKDAYS_9_TO_5),
        "pat": PatientFactory(mrn="MRN-0001"),
        "sam": PatientFactory(mrn="MRN-0002"),
        "colin": clinician,
        "cleo": UserFactory(username="cleo", role="clinician", full_name="Cleo Clinician"),
    }
    db.session.commit()
    return made


def booking(world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_id": world["pat"].id,
        "department_id": world["anytime"].id,
        "starts_at": at(10).isoformat(),
        "duration_minutes": 20,
    }
    body.update(fields)
    return body


def book(client, headers, world, **fields: Any):
    return client.post(APPOINTMENTS, json=booking(world, **fields), headers=headers)


def existing(world: dict[str, Any], **fields: Any) -> Appointment:
    """An appointment put straight into the database (10:00–10:20 tomorrow by default)."""
    values: dict[str, Any] = {
        "patient": world["pat"],
        "department": world["anytime"],
        "starts_at": at(10),
        "duration_minutes": 20,
    }
    values.update(fields)
    appointment = AppointmentFactory(**values)
    db.session.commit()
    return appointment


def details(response) -> dict[str, str]:
    return {detail["field"]: detail["message"] for detail in error_of(response)["details"]}


def audit_rows(action: str) -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def stored(appointment_id: int) -> Appointment:
    db.session.expire_all()
    appointment = db.session.get(Appointment, appointment_id)
    assert appointment is not None
    return appointment


# ------------------------------------------------------------------ access


def _calls(world: dict[str, Any], appointment_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("post", APPOINTMENTS, booking(world, starts_at=at(12).isoformat())),
        ("get", APPOINTMENTS, None),
        ("get", f"{APPOINTMENTS}/{appointment_id}", None),
        ("patch", f"{APPOINTMENTS}/{appointment_id}", {"duration_minutes": 30}),
        ("delete", f"{APPOINTMENTS}/{appointment_id}", None),
    ]


CALL_IDS = ["book", "list", "view", "update", "delete"]


@pytest.mark.parametrize("call", range(5), ids=CALL_IDS)
def test_it_wants_a_token_for_every_appointment_endpoint(client, world, call):
    method, path, body = _calls(world, existing(world).id)[call]

    response = getattr(client, method)(path, json=body)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("call", [0, 3, 4], ids=["book", "update", "delete"])
def test_it_refuses_changes_to_clinicians(client, colin, world, call):
    appointment = existing(world)
    method, path, body = _calls(world, appointment.id)[call]

    response = getattr(client, method)(path, json=body, headers=colin)

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert db.session.scalar(select(Appointment.id).where(Appointment.id != appointment.id)) is None
    assert (stored(appointment.id).status, stored(appointment.id).duration_minutes) == (
        "booked",
        20,
    )


def test_a_clinician_gets_403_not_422_for_an_invalid_body(client, colin):
    assert client.post(APPOINTMENTS, json={"starts_at": 5}, headers=colin).status_code == 403


@pytest.mark.parametrize("call", [1, 2], ids=["list", "view"])
def test_clinicians_may_list_and_view(client, colin, world, call):
    method, path, body = _calls(world, existing(world).id)[call]

    assert getattr(client, method)(path, json=body, headers=colin).status_code == 200


@pytest.mark.parametrize("persona", ["rita", "ada"])
@pytest.mark.parametrize(
    ("call", "status"), [(0, 201), (1, 200), (2, 200), (3, 200), (4, 204)], ids=CALL_IDS
)
def test_receptionists_and_admins_use_every_appointment_endpoint(
    client, request, world, persona, call, status
):
    method, path, body = _calls(world, existing(world).id)[call]

    response = getattr(client, method)(path, json=body, headers=request.getfixturevalue(persona))

    assert response.status_code == status, response.get_json()


# -------------------------------------------------------------------- book


def test_it_books_an_appointment(client, rita, receptionist, world):
    response = book(
        client,
        rita,
        world,
        clinician_id=world["colin"].id,
        reason="  Knee   pain ",
        duration_minutes=30,
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "patient_id": world["pat"].id,
        "department_id": world["anytime"].id,
        "clinician_id": world["colin"].id,
        "starts_at": "2026-03-03T10:00:00+00:00",
        "ends_at": "2026-03-03T10:30:00+00:00",
        "duration_minutes": 30,
        "reason": "Knee pain",
        "status": "booked",
        "cancel_reason": None,
        "reference": body["reference"],
        "created_at": "2026-03-02T08:00:00+00:00",
    }
    assert re.fullmatch(r"[ABCDEFGHJKLMNPQRSTUVWXYZ2-9]{6}", body["reference"])
    [row] = audit_rows("appointment.book")
    assert (row.user_id, row.entity_id) == (receptionist.id, body["id"])


def test_without_a_clinician_it_is_for_any_clinician(client, ada, world):
    response = book(client, ada, world, clinician_id=None)

    assert response.status_code == 201
    assert response.get_json()["clinician_id"] is None
    assert book(client, ada, world, patient_id=world["sam"].id).get_json()["clinician_id"] is None


@pytest.mark.parametrize(
    "starts_at",
    ["2026-03-03T12:00:00+02:00", "2026-03-03T05:00:00-05:00", "2026-03-03T10:00:00Z"],
)
def test_a_time_with_any_offset_is_the_same_instant_in_utc(client, rita, world, starts_at):
    response = book(client, rita, world, starts_at=starts_at)

    assert response.status_code == 201
    body = response.get_json()
    assert body["starts_at"] == "2026-03-03T10:00:00+00:00"
    assert datetime.fromisoformat(body["starts_at"]) == datetime.fromisoformat(starts_at)
    assert stored(body["id"]).starts_at == at(10)
    again = client.get(f"{APPOINTMENTS}/{body['id']}", headers=rita).get_json()
    assert again["starts_at"] == body["starts_at"]
    assert again["ends_at"] == "2026-03-03T10:20:00+00:00"


def test_a_time_without_an_offset_is_refused(client, rita, world):
    response = book(client, rita, world, starts_at="2026-03-03T10:00:00")

    assert response.status_code == 422
    assert details(response) == {"starts_at": "Give the time with its time zone offset."}


@pytest.mark.parametrize("starts_at", [NOW - timedelta(minutes=1), NOW - timedelta(days=400)])
def test_a_time_in_the_past_is_refused(client, rita, world, starts_at):
    response = book(client, rita, world, starts_at=starts_at.isoformat())

    assert response.status_code == 422
    assert details(response) == {
        "starts_at": "That time has already passed; choose a time from now on."
    }


def test_now_itself_can_be_booked(client, rita, world):
    assert book(client, rita, world, starts_at=NOW.isoformat()).status_code == 201


@pytest.mark.parametrize(
    ("starts_at", "minutes"),
    [(at(8, 59), 20), (at(16, 45), 20), (at(17), 20), (at(10, day=7), 20), (at(16), 480)],
    ids=["before opening", "past closing", "at closing", "saturday", "too long"],
)
def test_a_time_outside_the_opening_hours_is_refused(client, rita, world, starts_at, minutes):
    response = book(
        client,
        rita,
        world,
        department_id=world["clinic"].id,
        starts_at=starts_at.isoformat(),
        duration_minutes=minutes,
    )

    assert response.status_code == 422
    message = details(response)["starts_at"]
    if starts_at.weekday() == 5:
        assert message.startswith("General is closed on Saturday")
    else:
        assert message.startswith("General is open 09:00–17:00 on Tuesday;")
        assert message.endswith("Choose a time within the opening hours.")


@pytest.mark.parametrize(("starts_at", "minutes"), [(at(9), 20), (at(16, 40), 20), (at(9), 480)])
def test_a_time_within_the_opening_hours_is_booked(client, rita, world, starts_at, minutes):
    response = book(
        client,
        rita,
        world,
        department_id=world["clinic"].id,
        starts_at=starts_at.isoformat(),
        duration_minutes=minutes,
    )

    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("minutes", [0, 4, 481, -20])
def test_a_length_outside_5_to_480_minutes_is_refused(client, rita, world, minutes):
    response = book(client, rita, world, duration_minutes=minutes)

    assert response.status_code == 422
    assert details(response) == {"duration_minutes": "Choose a length from 5 to 480 minutes."}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("patient_id", 999, "No patient has this id."),
        ("patient_id", 10**20, "No patient has this id."),
        ("department_id", 999, "Choose an active department."),
        ("department_id", -1, "Choose an active department."),
        ("clinician_id", 999, "Choose an active clinician."),
    ],
)
def test_an_unknown_id_in_the_body_is_422_on_that_field(client, rita, world, field, value, message):
    response = book(client, rita, world, **{field: value})

    assert response.status_code == 422
    assert details(response) == {field: message}


def test_the_clinician_must_be_an_active_clinician(client, rita, world, receptionist):
    world["cleo"].active = False
    db.session.commit()

    for person in (receptionist, world["cleo"]):
        response = book(client, rita, world, clinician_id=person.id)

        assert response.status_code == 422
        assert details(response) == {"clinician_id": "Choose an active clinician."}


def test_an_inactive_department_cannot_take_bookings(client, rita, world):
    world["anytime"].active = False
    db.session.commit()

    response = book(client, rita, world)

    assert details(response) == {"department_id": "Choose an active department."}


@pytest.mark.parametrize("field", ["patient_id", "department_id", "starts_at", "duration_minutes"])
def test_required_fields(client, rita, world, field):
    body = booking(world)
    del body[field]

    response = client.post(APPOINTMENTS, json=body, headers=rita)

    assert response.status_code == 422
    assert detail_fields(response) == [field]


@pytest.mark.parametrize("starts_at", ["tomorrow", "2026-03-03", "2026-13-03T10:00:00+00:00"])
def test_an_unreadable_time_is_422(client, rita, world, starts_at):
    response = book(client, rita, world, starts_at=starts_at)

    assert response.status_code == 422
    assert detail_fields(response) == ["starts_at"]


def test_a_time_at_the_end_of_the_calendar_is_422_not_a_crash(client, rita, world):
    response = book(client, rita, world, starts_at="9999-12-31T23:59:00+00:00")

    assert response.status_code == 422
    assert detail_fields(response) == ["starts_at"]


def test_a_long_reason_is_refused(client, rita, world):
    response = book(client, rita, world, reason="x" * 201)

    assert details(response) == {"reason": "Use at most 200 characters."}


# --------------------------------------------------------------- conflicts


@pytest.mark.parametrize(
    ("starts_at", "minutes"),
    [(at(10, 20), 20), (at(9, 40), 20), (at(11), 60), (at(9), 60)],
    ids=["right after", "right before", "later", "ending as it starts"],
)
def test_touching_appointments_do_not_clash(client, rita, world, starts_at, minutes):
    existing(world, clinician=world["colin"])

    response = book(
        client,
        rita,
        world,
        clinician_id=world["colin"].id,
        starts_at=starts_at.isoformat(),
        duration_minutes=minutes,
    )

    assert response.status_code == 201, response.get_json()


OVERLAPS = [(at(10, 19), 20), (at(9, 41), 20), (at(10, 5), 5), (at(9), 120)]
OVERLAP_IDS = ["last minute", "first minute", "inside", "around"]


@pytest.mark.parametrize(("starts_at", "minutes"), OVERLAPS, ids=OVERLAP_IDS)
def test_the_clinician_cannot_be_double_booked(client, rita, world, starts_at, minutes):
    existing(world, clinician=world["colin"])

    response = book(
        client,
        rita,
        world,
        patient_id=world["sam"].id,
        clinician_id=world["colin"].id,
        starts_at=starts_at.isoformat(),
        duration_minutes=minutes,
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert details(response) == {
        "starts_at": "Clinician Persona already has an appointment 10:00–10:20. "
        "Choose another time or clinician."
    }


@pytest.mark.parametrize(("starts_at", "minutes"), OVERLAPS, ids=OVERLAP_IDS)
def test_the_patient_cannot_be_double_booked(client, rita, world, starts_at, minutes):
    existing(world, clinician=world["colin"])

    response = book(
        client,
        rita,
        world,
        department_id=world["clinic"].id,
        clinician_id=world["cleo"].id,
        starts_at=starts_at.isoformat(),
        duration_minutes=minutes,
    )

    assert response.status_code == 409
    assert details(response)["starts_at"].startswith(
        "The patient already has an appointment 10:00–10:20 (Anytime)."
    )


def test_other_patients_and_clinicians_can_share_the_time(client, rita, world):
    existing(world, clinician=world["colin"])

    response = book(client, rita, world, patient_id=world["sam"].id, clinician_id=world["cleo"].id)

    assert response.status_code == 201


@pytest.mark.parametrize("status", ["cancelled", "no_show", "completed"])
def test_a_slot_is_free_again_once_the_appointment_is_over(client, rita, world, status):
    existing(world, clinician=world["colin"], status=status)

    assert book(client, rita, world, clinician_id=world["colin"].id).status_code == 201


def test_a_checked_in_appointment_still_occupies_its_slot(client, rita, world):
    existing(world, status="checked_in")

    assert book(client, rita, world).status_code == 409


# -------------------------------------------------------------------- list


@pytest.fixture
def diary(world):
    """Five appointments, made out of order."""
    return {
        "late": existing(world, starts_at=at(15), clinician=world["cleo"]),
        "early": existing(world, starts_at=at(9), clinician=world["colin"]),
        "other_day": existing(world, starts_at=at(9, day=4), patient=world["sam"]),
        "clinic": existing(
            world,
            starts_at=at(11),
            department=world["clinic"],
            patient=world["sam"],
            clinician=world["colin"],
        ),
        "cancelled": existing(world, starts_at=at(12), status="cancelled"),
    }


def listing(client, headers, **params: Any) -> dict[str, Any]:
    response = client.get(APPOINTMENTS, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def ids(diary: dict[str, Appointment], *names: str) -> list[int]:
    return [diary[name].id for name in names]


def test_it_lists_every_appointment_by_start_time(client, colin, diary):
    body = listing(client, colin)

    assert set(body) == {"items", "total", "page", "per_page"}
    assert [item["id"] for item in body["items"]] == ids(
        diary, "early", "clinic", "cancelled", "late", "other_day"
    )
    assert (body["total"], body["page"], body["per_page"]) == (5, 1, 50)
    assert body["items"][0]["starts_at"] == "2026-03-03T09:00:00+00:00"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"date": "2026-03-03"}, ["early", "clinic", "cancelled", "late"]),
        ({"date": "2026-03-04"}, ["other_day"]),
        ({"date": "2026-03-05"}, []),
        ({"department_id": "clinic"}, ["clinic"]),
        ({"clinician_id": "colin"}, ["early", "clinic"]),
        ({"patient_id": "sam"}, ["clinic", "other_day"]),
        ({"status": "cancelled"}, ["cancelled"]),
        ({"status": "booked", "date": "2026-03-03", "clinician_id": "cleo"}, ["late"]),
    ],
)
def test_it_filters_by_day_department_clinician_patient_and_status(
    client, rita, world, diary, filters, expected
):
    params = {
        key: world[value].id if key.endswith("_id") else value for key, value in filters.items()
    }

    body = listing(client, rita, **params)

    assert [item["id"] for item in body["items"]] == ids(diary, *expected)
    assert body["total"] == len(expected)


def test_it_pages_the_list(client, rita, diary):
    body = listing(client, rita, page=2, per_page=2)

    assert [item["id"] for item in body["items"]] == ids(diary, "cancelled", "late")
    assert (body["total"], body["page"], body["per_page"]) == (5, 2, 2)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"date": "03/03/2026"}, "date"),
        ({"date": "9999-12-31"}, "date"),
        ({"department_id": "GM"}, "department_id"),
        ({"patient_id": 10**20}, "patient_id"),
        ({"per_page": 500}, "per_page"),
    ],
)
def test_bad_filters_are_422(client, rita, params, field):
    response = client.get(APPOINTMENTS, query_string=params, headers=rita)

    assert response.status_code == 422
    assert detail_fields(response) == [field]


def test_a_bad_status_names_the_statuses(client, rita):
    response = client.get(APPOINTMENTS, query_string={"status": "done"}, headers=rita)

    assert details(response) == {
        "status": "Use one of: booked, checked_in, cancelled, no_show, completed."
    }


class TestInNewYork:
    """Days and opening hours are read in HOSPITAL_TIMEZONE."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "HOSPITAL_TIMEZONE": "America/New_York"}

    def test_date_is_a_day_in_the_hospital_time_zone(self, client, rita, world):
        before = existing(world, starts_at=at(4, day=3))  # 23:00 on the 2nd in New York
        late = existing(world, starts_at=at(3, day=4), patient=world["sam"])  # 22:00 on the 3rd

        body = listing(client, rita, date="2026-03-03")

        assert [item["id"] for item in body["items"]] == [late.id]
        assert [item["id"] for item in listing(client, rita, date="2026-03-02")["items"]] == [
            before.id
        ]

    def test_opening_hours_are_local(self, client, rita, world):
        eastern = timezone(timedelta(hours=-5))

        opening = book(
            client,
            rita,
            world,
            department_id=world["clinic"].id,
            starts_at=datetime(2026, 3, 3, 9, 0, tzinfo=eastern).isoformat(),
        )
        too_early = book(
            client,
            rita,
            world,
            patient_id=world["sam"].id,
            department_id=world["clinic"].id,
            starts_at=at(13, 59).isoformat(),
        )

        assert opening.status_code == 201
        assert opening.get_json()["starts_at"] == "2026-03-03T14:00:00+00:00"
        assert too_early.status_code == 422
        assert "08:59–09:19 is outside that" in details(too_early)["starts_at"]


# -------------------------------------------------------------------- view


def test_it_shows_an_appointment(client, colin, world):
    appointment = existing(world, clinician=world["colin"], reason="Check-up")

    response = client.get(f"{APPOINTMENTS}/{appointment.id}", headers=colin)

    assert response.status_code == 200
    body = response.get_json()
    assert {key: body[key] for key in ("id", "patient_id", "clinician_id", "reason", "status")} == {
        "id": appointment.id,
        "patient_id": world["pat"].id,
        "clinician_id": world["colin"].id,
        "reason": "Check-up",
        "status": "booked",
    }
    assert (body["starts_at"], body["duration_minutes"]) == ("2026-03-03T10:00:00+00:00", 20)


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("appointment_id", [999, 10**20])
def test_an_unknown_appointment_is_404(client, rita, method, appointment_id):
    body = {"duration_minutes": 30} if method == "patch" else None

    response = getattr(client, method)(f"{APPOINTMENTS}/{appointment_id}", json=body, headers=rita)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# -------------------------------------------------------------- reschedule


def patch(client, headers, appointment: Appointment, **fields: Any):
    return client.patch(f"{APPOINTMENTS}/{appointment.id}", json=fields, headers=headers)


def test_it_moves_an_appointment(client, rita, receptionist, world):
    appointment = existing(world, clinician=world["colin"])

    response = patch(
        client, rita, appointment, starts_at="2026-03-03T13:30:00+01:00", duration_minutes=45
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["starts_at"], body["ends_at"], body["duration_minutes"]) == (
        "2026-03-03T12:30:00+00:00",
        "2026-03-03T13:15:00+00:00",
        45,
    )
    assert body["clinician_id"] == world["colin"].id  # left out: unchanged
    [row] = audit_rows("appointment.reschedule")
    assert row.user_id == receptionist.id
    assert row.details == {
        "before": {
            "starts_at": "2026-03-03T10:00:00+00:00",
            "duration_minutes": 20,
            "clinician_id": world["colin"].id,
        }
    }


def test_it_changes_the_clinician_and_null_means_any_clinician(client, rita, world):
    appointment = existing(world, clinician=world["colin"])

    moved = patch(client, rita, appointment, clinician_id=world["cleo"].id).get_json()
    assert (moved["clinician_id"], moved["starts_at"]) == (
        world["cleo"].id,
        "2026-03-03T10:00:00+00:00",
    )

    assert patch(client, rita, appointment, clinician_id=None).get_json()["clinician_id"] is None
    assert stored(appointment.id).clinician_id is None


def test_a_reschedule_follows_the_conflict_rules(client, rita, world):
    existing(world, clinician=world["colin"])
    other = existing(world, patient=world["sam"], starts_at=at(11), clinician=world["cleo"])

    touching = patch(client, rita, other, starts_at=at(10, 20).isoformat())
    assert touching.status_code == 200

    clash = patch(
        client, rita, other, clinician_id=world["colin"].id, starts_at=at(10, 19).isoformat()
    )
    assert clash.status_code == 409
    assert details(clash)["starts_at"].startswith("Clinician Persona already has an appointment")
    assert stored(other.id).starts_at == at(10, 20)


def test_moving_within_its_own_slot_is_no_clash(client, rita, world):
    appointment = existing(world, clinician=world["colin"])

    response = patch(client, rita, appointment, starts_at=at(10, 10).isoformat())

    assert response.status_code == 200


def test_the_patient_cannot_be_moved_onto_their_other_appointment(client, rita, world):
    existing(world)
    later = existing(world, starts_at=at(11))

    response = patch(client, rita, later, duration_minutes=20, starts_at=at(10, 19).isoformat())

    assert response.status_code == 409
    assert details(response)["starts_at"].startswith("The patient already has an appointment")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"starts_at": "2026-03-02T07:59:00+00:00"}, "starts_at", "That time has already passed"),
        ({"starts_at": "2026-03-03T10:00:00"}, "starts_at", "Give the time with its time zone"),
        ({"duration_minutes": 481}, "duration_minutes", "Choose a length from 5 to 480"),
        ({"clinician_id": 999}, "clinician_id", "Choose an active clinician."),
        ({"starts_at": None}, "starts_at", "This field cannot be null"),
        ({"duration_minutes": None}, "duration_minutes", "This field cannot be null"),
    ],
)
def test_a_reschedule_follows_the_booking_rules(client, rita, world, fields, field, message):
    appointment = existing(world)

    response = patch(client, rita, appointment, **fields)

    assert response.status_code == 422
    assert details(response)[field].startswith(message)
    assert stored(appointment.id).starts_at == at(10)


def test_a_reschedule_respects_the_opening_hours(client, rita, world):
    appointment = existing(world, department=world["clinic"])

    response = patch(client, rita, appointment, starts_at=at(16, 50).isoformat())

    assert response.status_code == 422
    assert "outside that" in details(response)["starts_at"]


def test_a_zero_length_reschedule_is_refused(client, rita, world):
    appointment = existing(world)

    response = patch(client, rita, appointment, duration_minutes=0)

    assert response.status_code == 422
    assert details(response) == {"duration_minutes": "Choose a length from 5 to 480 minutes."}
    assert stored(appointment.id).duration_minutes == 20


@pytest.mark.parametrize("status", ["checked_in", "cancelled", "no_show", "completed"])
def test_only_a_booked_appointment_can_be_moved(client, rita, world, status):
    appointment = existing(world, status=status)

    response = patch(client, rita, appointment, starts_at=at(11).isoformat())

    assert response.status_code == 409
    assert detail_fields(response) == ["status"]
    assert "only a booked appointment can be rescheduled" in error_of(response)["message"]


def test_an_empty_patch_is_422(client, rita, world):
    response = patch(client, rita, existing(world))

    assert response.status_code == 422
    assert detail_fields(response) == ["body"]


# ------------------------------------------------------------------ cancel


def test_status_cancelled_cancels_with_the_reason_given(client, rita, receptionist, world):
    appointment = existing(world)

    response = patch(client, rita, appointment, status="cancelled", reason="Patient is travelling")

    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "Patient is travelling")
    [row] = audit_rows("appointment.cancel")
    assert (row.user_id, row.details) == (receptionist.id, {"reason": "Patient is travelling"})


def test_status_cancelled_without_a_reason_says_it_came_through_the_api(client, ada, world):
    response = patch(client, ada, existing(world), status="cancelled")

    assert response.get_json()["cancel_reason"] == "Cancelled through the API"


@pytest.mark.parametrize("status", ["booked", "checked_in", "completed", "no_show", "CANCELLED"])
def test_no_other_status_can_be_set(client, rita, world, status):
    appointment = existing(world)

    response = patch(client, rita, appointment, status=status)

    assert response.status_code == 422
    assert detail_fields(response) == ["status"]
    assert stored(appointment.id).status == "booked"


def test_cancel_and_reschedule_do_not_mix(client, rita, world):
    appointment = existing(world)

    response = patch(client, rita, appointment, status="cancelled", starts_at=at(11).isoformat())

    assert response.status_code == 422
    assert details(response) == {"starts_at": "Cancel or reschedule, not both in one request."}
    assert stored(appointment.id).status == "booked"


def test_a_reason_alone_is_422(client, rita, world):
    response = patch(client, rita, existing(world), reason="Because")

    assert response.status_code == 422
    assert detail_fields(response) == ["reason"]


def test_a_blank_or_long_cancel_reason_is_refused(client, rita, world):
    appointment = existing(world)

    long = patch(client, rita, appointment, status="cancelled", reason="x" * 201)

    assert details(long) == {"reason": "Use at most 200 characters."}
    assert stored(appointment.id).status == "booked"


@pytest.mark.parametrize("status", ["checked_in", "cancelled", "completed"])
def test_only_a_booked_appointment_can_be_cancelled(client, rita, world, status):
    appointment = existing(world, status=status)

    by_patch = patch(client, rita, appointment, status="cancelled")
    by_delete = client.delete(f"{APPOINTMENTS}/{appointment.id}", headers=rita)

    for response in (by_patch, by_delete):
        assert response.status_code == 409
        assert detail_fields(response) == ["status"]


def test_delete_cancels_and_keeps_the_appointment(client, ada, admin, world):
    appointment = existing(world)

    response = client.delete(f"{APPOINTMENTS}/{appointment.id}", headers=ada)

    assert response.status_code == 204
    assert response.get_data() == b""
    kept = stored(appointment.id)
    assert (kept.status, kept.cancel_reason) == ("cancelled", "Cancelled through the API")
    [row] = audit_rows("appointment.cancel")
    assert row.user_id == admin.id
    assert client.get(f"{APPOINTMENTS}/{appointment.id}", headers=ada).get_json()["status"] == (
        "cancelled"
    )
    again = client.delete(f"{APPOINTMENTS}/{appointment.id}", headers=ada)
    assert again.status_code == 409


def test_a_cancelled_slot_can_be_booked_again(client, rita, world):
    appointment = existing(world, clinician=world["colin"])
    client.delete(f"{APPOINTMENTS}/{appointment.id}", headers=rita)

    response = book(client, rita, world, clinician_id=world["colin"].id)

    assert response.status_code == 201
