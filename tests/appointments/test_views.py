"""The booking pages: day view, list, booking, rescheduling, cancelling, patient search."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.admin.helpers import field_error, flashes, input_value, page_text
from tests.factories import AppointmentFactory, DepartmentFactory, PatientFactory, UserFactory
from webapp.appointments.models import Appointment
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.patients.models import Patient

# Monday 14 January 2030, 10:05 in London (GMT, so the same in UTC).
NOW = datetime(2030, 1, 14, 10, 5, tzinfo=UTC)
WEEKDAY_HOURS = [["08:00", "12:00"], ["13:00", "17:00"]]


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "Europe/London"}


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    # Autouse, so "now" is frozen before the personas sign in.
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def department(app: Any) -> Department:
    dept = DepartmentFactory(
        code="GM",
        name="General Medicine",
        default_service_minutes=20,
        opening_hours={day: WEEKDAY_HOURS for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    db.session.commit()
    return dept


@pytest.fixture
def doctor(app: Any) -> User:
    user = UserFactory(username="drgrey", role="clinician", full_name="Dr Xavier Grey")
    db.session.commit()
    return user


@pytest.fixture
def patient(app: Any) -> Patient:
    person = PatientFactory(first_name="Ann", last_name="Example", mrn="MRN0001")
    db.session.commit()
    return person


def make_appointment(
    patient: Patient,
    department: Department,
    starts_at: datetime,
    clinician: User | None = None,
    minutes: int = 20,
    **extra: Any,
) -> Appointment:
    appointment = AppointmentFactory(
        patient=patient,
        department=department,
        clinician_id=clinician.id if clinician else None,
        starts_at=starts_at,
        duration_minutes=minutes,
        **extra,
    )
    db.session.commit()
    return appointment


@pytest.fixture
def booked(patient: Patient, department: Department, doctor: User) -> Appointment:
    # Monday 21 January 2030, 09:00–09:20 London (= UTC in winter).
    return make_appointment(patient, department, datetime(2030, 1, 21, 9, 0, tzinfo=UTC), doctor)


def appointment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment)) or 0


def audit_actions() -> list[str]:
    return list(
        db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("appointment.%")))
    )


def when(wall_clock: str) -> dict[str, str]:
    """The date and time fields for "2030-01-21T10:00" ("" leaves both empty)."""
    day, _, time_of_day = wall_clock.partition("T")
    return {"start_date": day, "start_time": time_of_day}


def booking_data(patient: Patient, department: Department, **overrides: Any) -> dict[str, Any]:
    data = {
        "patient_id": patient.id,
        "department_id": department.id,
        "clinician_id": "",
        **when(overrides.pop("starts_at", "2030-01-21T10:00")),
        "duration_minutes": 20,
        "reason": "Blood pressure review",
    }
    data.update(overrides)
    return data


def typed_start(body: str) -> str:
    """The date and time fields' values, as "2030-01-21T10:00"."""
    return f"{input_value(body, 'start_date')}T{input_value(body, 'start_time')}"


# ------------------------------------------------------------------ access


def _urls(appointment_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "/appointments/day"),
        ("get", "/appointments"),
        ("get", "/appointments/new"),
        ("post", "/appointments/new"),
        ("get", f"/appointments/{appointment_id}"),
        ("post", f"/appointments/{appointment_id}/reschedule"),
        ("post", f"/appointments/{appointment_id}/cancel"),
        ("get", "/appointments/patient-options?q=ann"),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, booked: Appointment) -> None:
    for method, url in _urls(booked.id):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url


def test_clinicians_view_but_cannot_book_change_or_search(
    as_clinician: FlaskClient, booked: Appointment
) -> None:
    for url in ("/appointments/day", "/appointments", f"/appointments/{booked.id}"):
        assert as_clinician.get(url).status_code == 200, url
    for method, url in _urls(booked.id)[2:]:
        if url.endswith(str(booked.id)):
            continue
        assert getattr(as_clinician, method)(url).status_code == 403, url
    body = page_text(as_clinician.get("/appointments/day?date=2030-01-21"))
    assert "/appointments/new" not in body
    show = page_text(as_clinician.get(f"/appointments/{booked.id}"))
    assert "Reschedule" not in show and "Cancel appointment" not in show


@pytest.mark.parametrize("persona", ["as_receptionist", "as_admin"])
def test_receptionists_and_admins_open_every_page(
    persona: str, request: pytest.FixtureRequest, booked: Appointment
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)
    for url in (
        "/appointments/day",
        "/appointments",
        "/appointments/new",
        f"/appointments/{booked.id}",
        "/appointments/patient-options?q=ann",
    ):
        assert client.get(url).status_code == 200, url
    show = page_text(client.get(f"/appointments/{booked.id}"))
    assert "Reschedule" in show and "Cancel appointment" in show


# ---------------------------------------------------------------- day view


def test_day_view_shows_booked_and_free_slots_per_clinician(
    as_receptionist: FlaskClient, department: Department, doctor: User, patient: Patient
) -> None:
    appointment = make_appointment(
        patient, department, datetime(2030, 1, 14, 11, 0, tzinfo=UTC), doctor
    )
    response = as_receptionist.get(f"/appointments/day?department_id={department.id}")
    assert response.status_code == 200
    body = page_text(response)
    assert "08:00–12:00, 13:00–17:00" in body
    assert '<th scope="col">Dr Xavier Grey</th>' in body
    assert '<th scope="col">Any clinician</th>' in body
    assert "<caption>" in body
    assert '<th scope="row">11:00</th>' in body
    assert f'href="/appointments/{appointment.id}"' in body
    assert "Ann Example" in body and "MRN0001" in body and "MRN MRN0001" not in body
    assert "11:00–11:20" in body and ">Booked<" in body
    # 11:20 is free for the doctor and "any clinician"; 09:00 has passed.
    assert (
        f"/appointments/new?department_id={department.id}&amp;clinician_id={doctor.id}"
        "&amp;starts_at=2030-01-14T11:20" in response.get_data(as_text=True)
    )
    assert f"department_id={department.id}&starts_at=2030-01-14T11:20" in body
    assert "starts_at=2030-01-14T09:00" not in body
    assert ">past<" in body
    # The lunch break has no slots.
    assert '<th scope="row">12:00</th>' not in body
    assert '<th scope="row">13:00</th>' in body


def test_day_view_defaults_to_first_active_department_and_today(
    as_receptionist: FlaskClient, department: Department
) -> None:
    body = page_text(as_receptionist.get("/appointments/day"))
    assert "General Medicine</strong> on Monday 14 January 2030" in body
    assert "date=2030-01-13" in body and "date=2030-01-15" in body


def test_day_view_in_summer_shows_local_times(
    as_receptionist: FlaskClient, department: Department, doctor: User, patient: Patient
) -> None:
    # 08:00 UTC is 09:00 in London in July (BST).
    make_appointment(patient, department, datetime(2030, 7, 15, 8, 0, tzinfo=UTC), doctor)
    body = page_text(
        as_receptionist.get(f"/appointments/day?department_id={department.id}&date=2030-07-15")
    )
    assert "09:00–09:20" in body
    assert "starts_at=2030-07-15T09:20" in body


def test_day_view_of_an_all_hours_department_says_which_slots_it_shows(
    as_receptionist: FlaskClient, app: Any
) -> None:
    """The hours named in the lead are the rows of the table, never a fixed text."""
    anytime = DepartmentFactory(code="ED", opening_hours=None, default_service_minutes=30)
    db.session.commit()
    response = as_receptionist.get(f"/appointments/day?department_id={anytime.id}")
    body = page_text(response)
    rows = re.findall(r'<th scope="row">(\d\d:\d\d)</th>', response.get_data(as_text=True))
    last = (datetime.strptime(rows[-1], "%H:%M") + timedelta(minutes=30)).strftime("%H:%M")
    assert f"open at all hours (slots shown {rows[0]}–{'24:00' if last == '00:00' else last})" in (
        body
    )


def test_day_view_of_an_all_hours_department_shows_its_whole_day(
    as_receptionist: FlaskClient, app: Any, patient: Patient
) -> None:
    anytime = DepartmentFactory(code="ED", opening_hours=None, default_service_minutes=20)
    db.session.commit()
    early = make_appointment(patient, anytime, datetime(2030, 1, 14, 6, 40, tzinfo=UTC))
    late = make_appointment(patient, anytime, datetime(2030, 1, 14, 23, 40, tzinfo=UTC))
    response = as_receptionist.get(f"/appointments/day?department_id={anytime.id}")
    html = response.get_data(as_text=True)
    rows = re.findall(r'<th scope="row">(\d\d:\d\d)</th>', html)
    assert (rows[0], rows[-1], len(rows)) == ("00:00", "23:40", 72)
    assert "open at all hours (slots shown 00:00–24:00)" in page_text(response)
    assert "Other appointments" not in html  # both sit in the table
    for appointment in (early, late):
        assert f'href="/appointments/{appointment.id}"' in html


def test_day_view_rows_follow_the_departments_slot_length(
    as_receptionist: FlaskClient, app: Any, patient: Patient
) -> None:
    """90-minute visits get 90-minute rows: a 09:30 visit starts in the 09:30 row."""
    long_visits = DepartmentFactory(
        code="ON", default_service_minutes=90, opening_hours={"mon": [["08:00", "17:00"]]}
    )
    db.session.commit()
    appointment = make_appointment(
        patient, long_visits, datetime(2030, 1, 14, 9, 30, tzinfo=UTC), minutes=90
    )
    html = as_receptionist.get(f"/appointments/day?department_id={long_visits.id}").get_data(
        as_text=True
    )
    rows = re.findall(r'<th scope="row">(\d\d:\d\d)</th>', html)
    assert rows == ["08:00", "09:30", "11:00", "12:30", "14:00", "15:30"]
    row_930 = html.split('<th scope="row">09:30</th>', 1)[1].split("</tr>", 1)[0]
    assert f'href="/appointments/{appointment.id}"><strong>' in row_930


def test_day_view_on_a_closed_day(as_receptionist: FlaskClient, department: Department) -> None:
    body = page_text(as_receptionist.get("/appointments/day?date=2030-01-19"))
    assert "open closed" not in body
    assert "no booking slots" in body


def test_day_view_with_an_unreadable_date_says_so(
    as_receptionist: FlaskClient, department: Department
) -> None:
    response = as_receptionist.get("/appointments/day?date=tomorrow")
    assert response.status_code == 422
    assert field_error(page_text(response), "date")


# -------------------------------------------------------------------- list


def test_list_filters_and_orders_by_time(
    as_receptionist: FlaskClient, department: Department, doctor: User, patient: Patient
) -> None:
    other = PatientFactory(first_name="Bob", last_name="Other", mrn="MRN0002")
    db.session.commit()
    late = make_appointment(patient, department, datetime(2030, 1, 21, 11, 0, tzinfo=UTC), doctor)
    early = make_appointment(other, department, datetime(2030, 1, 21, 9, 0, tzinfo=UTC), reason="X")
    make_appointment(other, department, datetime(2030, 1, 22, 9, 0, tzinfo=UTC), status="cancelled")

    body = page_text(as_receptionist.get("/appointments?date=2030-01-21"))
    assert body.index(f"/appointments/{early.id}") < body.index(f"/appointments/{late.id}")
    assert "2 appointments" in body and "Dr Xavier Grey" in body and "20 min" in body

    body = page_text(as_receptionist.get(f"/appointments?patient_id={patient.id}"))
    assert "Ann Example" in body and "Bob Other" not in body

    body = page_text(as_receptionist.get("/appointments?status=cancelled"))
    assert "1 appointment," in body and "Cancelled" in body

    body = page_text(as_receptionist.get(f"/appointments?clinician_id={doctor.id}"))
    assert "Ann Example" in body and "Bob Other" not in body


# ----------------------------------------------------------------- booking


def test_booking_form_is_prefilled_from_the_day_view_link(
    as_receptionist: FlaskClient, department: Department, doctor: User, patient: Patient
) -> None:
    body = page_text(
        as_receptionist.get(
            f"/appointments/new?department_id={department.id}&clinician_id={doctor.id}"
            f"&starts_at=2030-01-21T09:40&patient_id={patient.id}"
        )
    )
    assert typed_start(body) == "2030-01-21T09:40"
    assert input_value(body, "duration_minutes") == "20"
    assert re.search(rf'<option selected value="{doctor.id}">', body)
    assert re.search(rf'<option selected value="{department.id}">', body)
    assert re.search(rf'value="{patient.id}" checked', body)
    assert 'hx-get="/appointments/patient-options"' in body


@pytest.mark.parametrize(
    ("typed", "expected_utc"),
    [
        ("2030-01-21T09:00", datetime(2030, 1, 21, 9, 0, tzinfo=UTC)),  # GMT
        ("2030-07-15T09:00", datetime(2030, 7, 15, 8, 0, tzinfo=UTC)),  # BST
    ],
)
def test_booking_converts_local_time_to_utc(
    as_receptionist: FlaskClient,
    department: Department,
    doctor: User,
    patient: Patient,
    typed: str,
    expected_utc: datetime,
) -> None:
    response = as_receptionist.post(
        "/appointments/new",
        data=booking_data(patient, department, starts_at=typed, clinician_id=doctor.id),
    )
    assert response.status_code == 302, page_text(response)[:2000]
    assert response.headers["Location"] == (
        f"/appointments/day?department_id={department.id}&date={typed[:10]}"
    )
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.starts_at == expected_utc
    assert appointment.ends_at == expected_utc + timedelta(minutes=20)
    assert appointment.clinician_id == doctor.id
    assert appointment.reason == "Blood pressure review"
    assert appointment.status == "booked"
    assert audit_actions() == ["appointment.book"]
    page = page_text(as_receptionist.get(response.headers["Location"]))
    assert any("Booked MRN0001 for" in text and "09:00" in text for text in flashes(page))


def _refused(response: Any, typed: dict[str, Any]) -> str:
    assert response.status_code == 422
    body = page_text(response)
    assert input_value(body, "start_date") == typed["start_date"]
    assert input_value(body, "start_time") == typed["start_time"]
    assert input_value(body, "duration_minutes") == str(typed["duration_minutes"])
    assert "Blood pressure review" in body
    assert re.search(rf'value="{typed["patient_id"]}" checked', body)
    return body


def test_booking_in_the_past_is_refused(
    as_receptionist: FlaskClient, department: Department, patient: Patient
) -> None:
    data = booking_data(patient, department, starts_at="2030-01-14T09:00")
    body = _refused(as_receptionist.post("/appointments/new", data=data), data)
    assert "already passed" in (field_error(body, "start_time") or "")
    assert appointment_count() == 0


def test_booking_outside_opening_hours_is_refused(
    as_receptionist: FlaskClient, department: Department, patient: Patient
) -> None:
    data = booking_data(patient, department, starts_at="2030-01-21T11:50")
    body = _refused(as_receptionist.post("/appointments/new", data=data), data)
    message = field_error(body, "start_time") or ""
    assert "General Medicine is open 08:00–12:00, 13:00–17:00 on Monday" in message
    assert "11:50–12:10 is outside that" in message
    assert appointment_count() == 0


def test_clinician_overlap_by_one_minute_is_refused(
    as_receptionist: FlaskClient,
    department: Department,
    doctor: User,
    booked: Appointment,
) -> None:
    other = PatientFactory(first_name="Bob", last_name="Other")
    db.session.commit()
    data = booking_data(other, department, starts_at="2030-01-21T09:19", clinician_id=doctor.id)
    body = _refused(as_receptionist.post("/appointments/new", data=data), data)
    assert field_error(body, "start_time") == (
        "Dr Xavier Grey already has an appointment 09:00–09:20. Choose another time or clinician."
    )
    assert appointment_count() == 1


def test_patient_overlap_is_refused(
    as_receptionist: FlaskClient, department: Department, patient: Patient, booked: Appointment
) -> None:
    data = booking_data(patient, department, starts_at="2030-01-21T08:45")
    body = _refused(as_receptionist.post("/appointments/new", data=data), data)
    assert "The patient already has an appointment 09:00–09:20" in (
        field_error(body, "start_time") or ""
    )
    assert appointment_count() == 1


def test_back_to_back_appointments_are_fine(
    as_receptionist: FlaskClient,
    department: Department,
    doctor: User,
    patient: Patient,
    booked: Appointment,
) -> None:
    for typed in ("2030-01-21T09:20", "2030-01-21T08:40"):
        data = booking_data(patient, department, starts_at=typed, clinician_id=doctor.id)
        response = as_receptionist.post("/appointments/new", data=data)
        assert response.status_code == 302, field_error(page_text(response), "start_time")
    assert appointment_count() == 3


def test_booking_without_patient_or_time_says_what_is_missing(
    as_receptionist: FlaskClient, department: Department, patient: Patient
) -> None:
    data = booking_data(patient, department, patient_id="", starts_at="")
    response = as_receptionist.post("/appointments/new", data=data)
    assert response.status_code == 422
    body = page_text(response)
    assert field_error(body, "patient_id") == "Choose a patient."
    assert field_error(body, "start_date") == "Enter the date of the appointment."
    assert field_error(body, "start_time") == "Enter the time of the appointment, e.g. 14:30."
    assert appointment_count() == 0


def test_time_skipped_by_the_clock_change_is_refused(
    as_receptionist: FlaskClient, department: Department, patient: Patient
) -> None:
    # Clocks go forward at 01:00 on Sunday 31 March 2030 in London.
    data = booking_data(patient, department, starts_at="2030-03-31T01:30")
    body = _refused(as_receptionist.post("/appointments/new", data=data), data)
    assert "clocks go forward" in (field_error(body, "start_time") or "")


def test_booking_form_asks_for_a_date_and_a_24_hour_time(
    as_receptionist: FlaskClient, department: Department
) -> None:
    body = page_text(as_receptionist.get("/appointments/new"))
    assert "datetime-local" not in body and 'type="time"' not in body
    assert re.search(r'<input[^>]*id="start_date"[^>]*type="date"', body)
    time_input = re.search(r'<input[^>]*id="start_time"[^>]*>', body)
    assert time_input is not None
    for attribute in ('type="text"', 'inputmode="numeric"', 'placeholder="14:30"', "pattern="):
        assert attribute in time_input.group(0)
    assert "24-hour clock, HH:MM (e.g. 14:30)" in body


@pytest.mark.parametrize("typed", ["9:05", "09:05", "0905", "09.05"])
def test_booking_reads_the_time_however_the_keypad_types_it(
    as_receptionist: FlaskClient, department: Department, patient: Patient, typed: str
) -> None:
    data = booking_data(patient, department, start_date="2030-01-21", start_time=typed)
    response = as_receptionist.post("/appointments/new", data=data)
    assert response.status_code == 302, field_error(page_text(response), "start_time")
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.starts_at == datetime(2030, 1, 21, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["2:30 PM", "24:00", "14:60", "noon", "14:3"])
def test_a_time_that_is_not_24_hour_hh_mm_is_refused_and_kept(
    as_receptionist: FlaskClient, department: Department, patient: Patient, typed: str
) -> None:
    data = booking_data(patient, department, start_time=typed)
    body = _refused(as_receptionist.post("/appointments/new", data=data), data)
    assert field_error(body, "start_time") == "Enter the time as HH:MM, 24-hour, e.g. 14:30."
    assert appointment_count() == 0


def test_booking_shows_the_form_and_the_service_problems_in_one_round(
    as_receptionist: FlaskClient, department: Department, patient: Patient
) -> None:
    # No patient (the form's check) and a past time, a length and a reason the service refuses.
    data = booking_data(
        patient,
        department,
        patient_id="",
        starts_at="2030-01-14T09:00",
        duration_minutes=600,
        reason="x" * 201,
    )
    response = as_receptionist.post("/appointments/new", data=data)
    assert response.status_code == 422
    body = page_text(response)
    assert field_error(body, "patient_id") == "Choose a patient."
    assert "already passed" in (field_error(body, "start_time") or "")
    assert field_error(body, "duration_minutes") == "Choose a length from 5 to 480 minutes."
    assert field_error(body, "reason") == "Use at most 200 characters."
    assert typed_start(body) == "2030-01-14T09:00"
    assert appointment_count() == 0
    assert audit_actions() == []


def test_an_unreadable_time_and_the_opening_hours_of_the_rest_in_one_round(
    as_receptionist: FlaskClient, department: Department, patient: Patient, booked: Appointment
) -> None:
    # The time cannot be read, but the length still can be judged ...
    data = booking_data(patient, department, start_time="2:30 PM", duration_minutes=1)
    body = page_text(as_receptionist.post("/appointments/new", data=data))
    assert field_error(body, "start_time") == "Enter the time as HH:MM, 24-hour, e.g. 14:30."
    assert field_error(body, "duration_minutes") == "Choose a length from 5 to 480 minutes."
    # ... and with no length, a readable time outside the opening hours is still told.
    data = booking_data(patient, department, starts_at="2030-01-21T12:30", duration_minutes="")
    body = page_text(as_receptionist.post("/appointments/new", data=data))
    assert "Enter the length" in (field_error(body, "duration_minutes") or "")
    assert field_error(body, "start_time") is None  # the opening hours need the length
    # A patient overlap is told next to a reason that is too long.
    data = booking_data(patient, department, starts_at="2030-01-21T09:10", reason="x" * 201)
    body = page_text(as_receptionist.post("/appointments/new", data=data))
    assert field_error(body, "reason") == "Use at most 200 characters."
    assert "The patient already has an appointment 09:00–09:20" in (
        field_error(body, "start_time") or ""
    )
    assert appointment_count() == 1


# ------------------------------------------------------ patient live search


def test_patient_options_lists_matches_as_radio_buttons(
    as_receptionist: FlaskClient, patient: Patient
) -> None:
    PatientFactory(first_name="Bob", last_name="Other", mrn="MRN0002")
    db.session.commit()
    body = page_text(as_receptionist.get("/appointments/patient-options?q=exam"))
    assert "<html" not in body
    assert f'type="radio" name="patient_id" value="{patient.id}"' in body
    assert "Example, Ann" in body and "MRN0001 · born 1980-05-17" in body
    assert "MRN MRN0001" not in body
    assert "Other, Bob" not in body

    body = page_text(
        as_receptionist.get(f"/appointments/patient-options?q=other&patient_id={patient.id}")
    )
    assert re.search(rf'value="{patient.id}" checked', body)
    assert "Other, Bob" in body

    body = page_text(as_receptionist.get("/appointments/patient-options?q=zzz"))
    assert "No patient matches" in body


def test_patient_options_shows_at_most_ten(as_receptionist: FlaskClient, app: Any) -> None:
    for _ in range(12):
        PatientFactory(last_name="Smith")
    db.session.commit()
    body = page_text(as_receptionist.get("/appointments/patient-options?q=smith"))
    assert body.count('type="radio"') == 10
    assert "first 10 of 12" in body


# --------------------------------------------------- reschedule and cancel


def test_reschedule_moves_the_appointment(
    as_receptionist: FlaskClient, booked: Appointment, doctor: User
) -> None:
    response = as_receptionist.post(
        f"/appointments/{booked.id}/reschedule",
        data={**when("2030-07-15T14:00"), "duration_minutes": 30, "clinician_id": ""},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/appointments/{booked.id}"
    appointment = db.session.get(Appointment, booked.id)
    assert appointment is not None
    assert appointment.starts_at == datetime(2030, 7, 15, 13, 0, tzinfo=UTC)
    assert appointment.duration_minutes == 30
    assert appointment.clinician_id is None
    assert audit_actions() == ["appointment.reschedule"]
    body = page_text(as_receptionist.get(response.headers["Location"]))
    assert any("2030-07-15 14:00–14:30" in text for text in flashes(body))


def test_reschedule_refusal_is_shown_next_to_the_field(
    as_receptionist: FlaskClient,
    booked: Appointment,
    doctor: User,
    department: Department,
) -> None:
    other = PatientFactory(first_name="Bob", last_name="Other")
    db.session.commit()
    make_appointment(other, department, datetime(2030, 1, 21, 10, 0, tzinfo=UTC), doctor)
    response = as_receptionist.post(
        f"/appointments/{booked.id}/reschedule",
        data={**when("2030-01-21T10:10"), "duration_minutes": 20, "clinician_id": doctor.id},
    )
    assert response.status_code == 422
    body = page_text(response)
    assert field_error(body, "start_time") == (
        "Dr Xavier Grey already has an appointment 10:00–10:20. Choose another time or clinician."
    )
    assert typed_start(body) == "2030-01-21T10:10"
    db.session.expire_all()
    assert booked.starts_at == datetime(2030, 1, 21, 9, 0, tzinfo=UTC)
    assert audit_actions() == []


def test_reschedule_shows_every_problem_in_one_round(
    as_receptionist: FlaskClient, booked: Appointment
) -> None:
    response = as_receptionist.post(
        f"/appointments/{booked.id}/reschedule",
        data={"start_date": "", "start_time": "25:00", "duration_minutes": 0, "clinician_id": ""},
    )
    assert response.status_code == 422
    body = page_text(response)
    assert field_error(body, "start_date") == "Enter the date of the appointment."
    assert field_error(body, "start_time") == "Enter the time as HH:MM, 24-hour, e.g. 14:30."
    assert field_error(body, "duration_minutes") == "Choose a length from 5 to 480 minutes."
    assert input_value(body, "start_time") == "25:00"
    db.session.expire_all()
    assert booked.starts_at == datetime(2030, 1, 21, 9, 0, tzinfo=UTC)


def test_the_appointment_page_shows_the_time_in_the_24_hour_fields(
    as_receptionist: FlaskClient, patient: Patient, department: Department
) -> None:
    appointment = make_appointment(patient, department, datetime(2030, 7, 15, 13, 30, tzinfo=UTC))
    body = page_text(as_receptionist.get(f"/appointments/{appointment.id}"))
    assert typed_start(body) == "2030-07-15T14:30"  # BST
    assert "MRN0001" in body and "MRN MRN0001" not in body


def test_cancel_needs_a_reason(as_receptionist: FlaskClient, booked: Appointment) -> None:
    response = as_receptionist.post(f"/appointments/{booked.id}/cancel", data={"reason": "  "})
    assert response.status_code == 422
    assert field_error(page_text(response), "reason") == "Say why the appointment is cancelled."
    db.session.expire_all()
    assert booked.status == "booked"


def test_cancel_keeps_the_reason_and_cannot_be_repeated(
    as_receptionist: FlaskClient, booked: Appointment
) -> None:
    url = f"/appointments/{booked.id}/cancel"
    response = as_receptionist.post(url, data={"reason": "Patient is travelling"})
    assert response.status_code == 302
    db.session.expire_all()
    assert booked.status == "cancelled"
    assert booked.cancel_reason == "Patient is travelling"
    assert audit_actions() == ["appointment.cancel"]

    body = page_text(as_receptionist.get(f"/appointments/{booked.id}"))
    assert "Patient is travelling" in body and "Cancelled" in body
    assert "Cancel appointment" not in body and "Save new time" not in body

    again = as_receptionist.post(url, data={"reason": "Again"})
    assert again.status_code == 422
    assert any(
        "only a booked appointment can be cancelled" in text for text in flashes(page_text(again))
    )
    moved = as_receptionist.post(
        f"/appointments/{booked.id}/reschedule",
        data={**when("2030-01-22T09:00"), "duration_minutes": 20, "clinician_id": ""},
    )
    assert moved.status_code == 422
    assert any("can be rescheduled" in text for text in flashes(page_text(moved)))
    db.session.expire_all()
    assert booked.cancel_reason == "Patient is travelling"
    assert audit_actions() == ["appointment.cancel"]


def test_unknown_appointment_is_404(as_receptionist: FlaskClient, app: Any) -> None:
    assert as_receptionist.get("/appointments/999").status_code == 404
