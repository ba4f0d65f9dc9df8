"""The front-desk patient pages: search, register, the patient page, edit."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.admin.helpers import field_error, flashes, input_value, is_checked, page_text
from tests.factories import AppointmentFactory, DepartmentFactory, PatientFactory, UserFactory
from webapp import clock
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.database import utcnow
from webapp.extensions import db
from webapp.patients.models import Patient


def _patient_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Patient)) or 0


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "date_of_birth": "1986-12-09",
        "sex": "female",
        "phone": "(201) 555-0123",
        "email": "grace@example.org",
        "sms_opt_in": "y",
        "mrn": "",
        "notes": "Prefers mornings",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _selected(body: str, field_id: str) -> str | None:
    select_tag = re.search(rf'<select[^>]*\bid="{field_id}"[^>]*>(.*?)</select>', body, re.DOTALL)
    assert select_tag is not None
    option = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"', select_tag.group(1))
    option = option or re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', select_tag.group(1))
    return option.group(1) if option else None


def _audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


@pytest.fixture
def grace(app: Flask) -> Patient:
    patient = PatientFactory(
        first_name="Grace",
        last_name="Hopper",
        date_of_birth=date(1986, 12, 9),
        phone="+12015550123",
        mrn="MRN00000042",
    )
    db.session.commit()
    return patient


# ------------------------------------------------------------------ access


PAGES = ["/patients", "/patients/new", "/patients/{id}", "/patients/{id}/edit"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(
    client: FlaskClient, grace: Patient, path: str
) -> None:
    response = client.get(path.format(id=grace.id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_anonymous_post_to_register_is_refused_and_saves_nothing(client: FlaskClient) -> None:
    response = client.post("/patients/new", data=_form())
    assert response.status_code == 302 and _patient_count() == 0


@pytest.mark.parametrize("persona", ["as_receptionist", "as_admin"])
@pytest.mark.parametrize("path", PAGES)
def test_front_desk_and_admins_open_every_page(
    request: pytest.FixtureRequest, grace: Patient, persona: str, path: str
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)
    assert client.get(path.format(id=grace.id)).status_code == 200


def test_clinicians_search_and_read_but_do_not_register_or_edit(
    as_clinician: FlaskClient, grace: Patient
) -> None:
    assert as_clinician.get("/patients").status_code == 200
    body = page_text(as_clinician.get(f"/patients/{grace.id}"))
    assert "Grace Hopper" in body
    assert "Edit details" not in body and "Book an appointment" not in body
    assert "Register a new patient" not in page_text(as_clinician.get("/patients"))
    assert as_clinician.get("/patients/new").status_code == 403
    assert as_clinician.post("/patients/new", data=_form()).status_code == 403
    assert as_clinician.get(f"/patients/{grace.id}/edit").status_code == 403
    assert as_clinician.post(f"/patients/{grace.id}/edit", data=_form()).status_code == 403
    assert _patient_count() == 1


@pytest.mark.parametrize("path", ["/patients/999", "/patients/999/edit"])
def test_unknown_patient_is_404(as_receptionist: FlaskClient, path: str) -> None:
    assert as_receptionist.get(path).status_code == 404


# ------------------------------------------------------------------ search


def test_search_page_has_a_labelled_live_search_box(as_receptionist: FlaskClient) -> None:
    body = page_text(as_receptionist.get("/patients"))
    assert '<label for="patient-q">Find a patient</label>' in body
    # The <search> landmark, not role="search", which Pico styles as one input group.
    assert '<search class="patient-search">' in body and 'role="search"' not in body
    assert 'hx-trigger="input changed delay:250ms, search"' in body
    assert 'hx-target="#patient-results"' in body
    assert 'href="/patients/new"' in body and "Register a new patient" in body
    assert "style=" not in body and "<script>" not in body


def test_empty_search_lists_patients_alphabetically(as_receptionist: FlaskClient) -> None:
    PatientFactory(first_name="Zoe", last_name="Young")
    PatientFactory(first_name="Adam", last_name="Abbott")
    PatientFactory(first_name="Mia", last_name="Moreau")
    db.session.commit()
    body = page_text(as_receptionist.get("/patients"))
    assert body.index("Abbott, Adam") < body.index("Moreau, Mia") < body.index("Young, Zoe")


def test_a_result_shows_mrn_birth_date_age_phone_and_links_to_the_record(
    as_receptionist: FlaskClient, grace: Patient
) -> None:
    body = page_text(as_receptionist.get("/patients?q=hop"))
    assert f'href="/patients/{grace.id}"' in body
    assert "Hopper, Grace" in body and "MRN00000042" in body
    today = clock.today()
    age = today.year - 1986 - ((today.month, today.day) < (12, 9))
    assert "1986-12-09" in body and f"({age} y)" in body
    assert "(201) 555-0123" in body and "+12015550123" not in body


def test_htmx_search_answers_only_the_results_partial(
    as_receptionist: FlaskClient, grace: Patient
) -> None:
    response = as_receptionist.get("/patients?q=grace", headers={"HX-Request": "true"})
    body = page_text(response)
    assert response.status_code == 200
    assert "<html" not in body and "Find a patient" not in body
    assert "Hopper, Grace" in body
    assert "HX-Request" in response.headers.get("Vary", "")


def test_history_restore_gets_the_whole_page(as_receptionist: FlaskClient) -> None:
    response = as_receptionist.get(
        "/patients?q=x", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in page_text(response)


@pytest.mark.parametrize("typed", ["GRACE", "gra", "hopper grace", "Grace Hop", "mrn0000004"])
def test_search_by_name_fragment_or_mrn_ignores_case(
    as_receptionist: FlaskClient, grace: Patient, typed: str
) -> None:
    PatientFactory(first_name="Alan", last_name="Turing", phone="+12025550100")
    db.session.commit()
    body = page_text(as_receptionist.get("/patients", query_string={"q": typed}))
    assert "Hopper, Grace" in body and "Turing" not in body


@pytest.mark.parametrize("typed", ["(201) 555-01", "201.555.01", "2015550", "+1 201 555 0123"])
def test_search_by_phone_however_it_is_typed(
    as_receptionist: FlaskClient, grace: Patient, typed: str
) -> None:
    PatientFactory(first_name="Alan", last_name="Turing", phone="+12025550100")
    db.session.commit()
    body = page_text(as_receptionist.get("/patients", query_string={"q": typed}))
    assert "Hopper, Grace" in body and "Turing" not in body


def test_search_without_a_match_says_what_to_do(as_receptionist: FlaskClient) -> None:
    body = page_text(as_receptionist.get("/patients?q=nobody"))
    assert "No patient matches “nobody”" in body


def test_results_are_paginated_by_20_and_page_links_keep_the_query(
    as_receptionist: FlaskClient,
) -> None:
    for number in range(45):
        PatientFactory(first_name=f"Pat{number:02d}", last_name="Smith")
    PatientFactory(first_name="Other", last_name="Jones")
    db.session.commit()

    first = page_text(as_receptionist.get("/patients?q=smith"))
    assert first.count('href="/patients/') - first.count('href="/patients/new"') == 20
    assert "45 patients" in first and "Page 1 of 3" in first
    assert 'href="/patients?q=smith&amp;page=2"' in as_receptionist.get(
        "/patients?q=smith"
    ).get_data(as_text=True)
    assert "Smith, Pat00" in first and "Smith, Pat20" not in first

    last = page_text(as_receptionist.get("/patients?q=smith&page=3"))
    assert "Page 3 of 3" in last and "Smith, Pat40" in last and "Smith, Pat44" in last
    assert "Smith, Pat39" not in last and "Next" not in last and "Previous" in last

    beyond = page_text(as_receptionist.get("/patients?q=smith&page=9"))
    assert "Go to the first page" in beyond


# ---------------------------------------------------------------- register


def test_registering_a_patient_redirects_to_the_record_with_a_message(
    as_receptionist: FlaskClient, receptionist: User
) -> None:
    response = as_receptionist.post("/patients/new", data=_form(mrn="abc-123"))

    patient = db.session.scalar(select(Patient))
    assert patient is not None
    assert response.status_code == 302
    assert response.headers["Location"] == f"/patients/{patient.id}"
    assert patient.mrn == "ABC-123" and patient.phone == "+12015550123"
    assert patient.sex == "female" and patient.sms_opt_in and patient.notes == "Prefers mornings"
    assert patient.email == "grace@example.org"
    body = page_text(as_receptionist.get(response.headers["Location"]))
    assert "Registered the patient MRN ABC-123." in " ".join(flashes(body))
    created = _audit_rows("patient.create")
    assert len(created) == 1 and created[0].user_id == receptionist.id


def test_an_empty_mrn_is_generated(as_admin: FlaskClient) -> None:
    response = as_admin.post("/patients/new", data=_form(sex="", sms_opt_in=None, phone=""))
    assert response.status_code == 302
    patient = db.session.scalar(select(Patient))
    assert patient is not None and re.fullmatch(r"MRN\d{8}", patient.mrn)
    assert patient.sex is None and patient.phone is None and not patient.sms_opt_in


def test_register_form_has_every_field_with_a_label(as_receptionist: FlaskClient) -> None:
    body = page_text(as_receptionist.get("/patients/new"))
    for field_id in (
        "first_name",
        "last_name",
        "date_of_birth",
        "sex",
        "phone",
        "email",
        "sms_opt_in",
        "mrn",
        "notes",
    ):
        assert f'<label for="{field_id}"' in body, field_id
    assert 'type="date"' in body and 'type="tel"' in body
    assert "Patient agrees to SMS updates" in body
    assert "For example (201) 555-0123" in body
    assert "leave empty to generate" in body
    for label in ("Not recorded", "Female", "Male", "Other", "Unknown"):
        assert f">{label}</option>" in body
    assert "confirm_not_duplicate" not in body
    assert "style=" not in body


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"first_name": ""}, "first_name", "Enter the patient's first name."),
        ({"last_name": "   "}, "last_name", "Enter the patient's last name."),
        ({"date_of_birth": ""}, "date_of_birth", "Enter the date of birth"),
        ({"date_of_birth": "12/09/86"}, "date_of_birth", "Enter the date of birth as a date"),
        ({"date_of_birth": "FUTURE"}, "date_of_birth", "cannot be in the future"),
        ({"date_of_birth": "1880-01-01"}, "date_of_birth", "more than 130 years ago"),
        ({"phone": "12345"}, "phone", "Enter a valid phone number, e.g. (201) 555-0123"),
        ({"email": "grace@"}, "email", "Enter a valid email address"),
        ({"phone": ""}, "sms_opt_in", "SMS needs a phone number"),
        ({"mrn": "no!"}, "mrn", "Use 3–32 letters, digits or dashes"),
        ({"first_name": "x" * 81}, "first_name", "Use at most 80 characters."),
    ],
)
def test_each_problem_is_shown_next_to_its_field_and_nothing_is_saved(
    as_receptionist: FlaskClient, overrides: dict[str, str], field_id: str, message: str
) -> None:
    if overrides.get("date_of_birth") == "FUTURE":
        overrides = {"date_of_birth": (clock.today() + timedelta(days=1)).isoformat()}
    data = _form(**overrides)

    response = as_receptionist.post("/patients/new", data=data)

    body = page_text(response)
    assert response.status_code == 422
    error = field_error(body, field_id)
    assert error is not None and message in error
    assert "what you typed has been kept" in body
    for kept in ("first_name", "last_name", "phone", "email", "mrn"):
        assert (input_value(body, kept) or "") == data.get(kept, "").strip(), kept
    assert (input_value(body, "date_of_birth") or "") == data["date_of_birth"]
    assert is_checked(body, "sms_opt_in")
    assert _selected(body, "sex") == "female"
    assert "Prefers mornings" in body
    assert _patient_count() == 0
    assert _audit_rows("patient.create") == []


def test_a_duplicate_mrn_is_refused_next_to_the_mrn(
    as_receptionist: FlaskClient, grace: Patient
) -> None:
    response = as_receptionist.post(
        "/patients/new", data=_form(first_name="Ada", phone="", sms_opt_in=None, mrn="mrn00000042")
    )
    body = page_text(response)
    assert response.status_code == 422
    assert field_error(body, "mrn") == "MRN MRN00000042 belongs to another patient."
    assert input_value(body, "first_name") == "Ada"
    assert _patient_count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"phone": "", "sms_opt_in": None},  # same name and date of birth
        {"first_name": "Someone", "last_name": "Else", "date_of_birth": "1990-01-01"},  # phone
    ],
)
def test_a_possible_duplicate_is_shown_and_can_be_confirmed(
    as_receptionist: FlaskClient, grace: Patient, overrides: dict[str, str | None]
) -> None:
    data = _form(**overrides)  # type: ignore[arg-type]

    response = as_receptionist.post("/patients/new", data=data)

    body = page_text(response)
    assert response.status_code == 422
    assert _patient_count() == 1
    assert "Is this patient already registered?" in body
    assert "Grace Hopper" in body and "MRN00000042" in body and "1986-12-09" in body
    assert "(201) 555-0123" in body
    assert f'href="/patients/{grace.id}"' in body and "Open this record" in body
    assert "This is a different person — register anyway" in body
    assert not is_checked(body, "confirm_not_duplicate")
    assert input_value(body, "first_name") == data["first_name"]
    assert (input_value(body, "phone") or "") == data.get("phone", "")

    confirmed = as_receptionist.post("/patients/new", data={**data, "confirm_not_duplicate": "y"})

    assert confirmed.status_code == 302
    assert _patient_count() == 2
    created = _audit_rows("patient.create")
    assert len(created) == 1 and created[0].details == {"duplicate_confirmed": True}


# ------------------------------------------------------------ patient page


def test_the_patient_page_shows_the_record_and_audits_the_view(
    as_clinician: FlaskClient, clinician: User
) -> None:
    patient = PatientFactory(
        first_name="Grace",
        last_name="Hopper",
        mrn="MRN00000042",
        date_of_birth=date(1986, 12, 9),
        sex="female",
        phone="+12015550123",
        email="grace@example.org",
        sms_opt_in=True,
        notes="Needs an interpreter",
    )
    db.session.commit()

    response = as_clinician.get(f"/patients/{patient.id}")

    body = page_text(response)
    assert response.status_code == 200
    for text in (
        "Grace Hopper",
        "MRN00000042",
        "1986-12-09",
        "Female",
        "(201) 555-0123",
        "grace@example.org",
        "Yes, agreed",
        "Needs an interpreter",
        "No upcoming appointments.",
        "No past appointments.",
        "No visits yet.",
    ):
        assert text in body, text
    views = _audit_rows("patient.view")
    assert len(views) == 1
    assert views[0].user_id == clinician.id and views[0].entity_id == patient.id


def test_the_patient_page_says_when_sms_is_refused(
    as_receptionist: FlaskClient, grace: Patient
) -> None:
    body = page_text(as_receptionist.get(f"/patients/{grace.id}"))
    assert 'SMS updates</dt><dd><span class="badge badge-off">No</span>' in body
    assert "Not recorded" in body
    assert f'href="/appointments/new?patient_id={grace.id}"' in body
    assert f'href="/patients/{grace.id}/edit"' in body


def test_the_patient_page_splits_upcoming_and_past_appointments(
    as_receptionist: FlaskClient, grace: Patient
) -> None:
    cardiology = DepartmentFactory(name="Cardiology")
    radiology = DepartmentFactory(name="Radiology")
    doctor = UserFactory(role="clinician", full_name="Dr Who")
    soon = utcnow().replace(microsecond=0) + timedelta(days=2)
    before = utcnow().replace(microsecond=0) - timedelta(days=3)
    AppointmentFactory(patient=grace, department=cardiology, clinician=doctor, starts_at=soon)
    AppointmentFactory(patient=grace, department=radiology, starts_at=before, status="completed")
    AppointmentFactory(department=cardiology)  # someone else's
    db.session.commit()

    body = page_text(as_receptionist.get(f"/patients/{grace.id}"))

    upcoming = body[body.index("Upcoming appointments") : body.index("Past appointments")]
    past = body[body.index("Past appointments") : body.index("Visits")]
    from webapp.templating import local_datetime

    assert "Cardiology" in upcoming and "Dr Who" in upcoming and "Booked" in upcoming
    assert local_datetime(soon) in upcoming
    assert "Radiology" in past and "Completed" in past and "Any clinician" in past
    assert local_datetime(before) in past
    assert "Radiology" not in upcoming and "Cardiology" not in past


# --------------------------------------------------------------------- edit


def test_the_edit_form_is_prefilled_with_the_phone_in_national_format(
    as_receptionist: FlaskClient, grace: Patient
) -> None:
    body = page_text(as_receptionist.get(f"/patients/{grace.id}/edit"))
    assert input_value(body, "first_name") == "Grace"
    assert input_value(body, "date_of_birth") == "1986-12-09"
    assert input_value(body, "phone") == "(201) 555-0123"
    assert input_value(body, "mrn") == "MRN00000042"
    assert _selected(body, "sex") in (None, "")
    assert _audit_rows("patient.view") == []


def test_editing_saves_changes_audits_them_and_redirects(
    as_admin: FlaskClient, admin: User, grace: Patient
) -> None:
    data = _form(
        first_name="Grace B.",
        phone="201 555 0199",
        email="",
        sex="other",
        sms_opt_in="y",
        mrn="MRN00000042",
        notes="",
    )
    response = as_admin.post(f"/patients/{grace.id}/edit", data=data)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/patients/{grace.id}"
    db.session.refresh(grace)
    assert grace.first_name == "Grace B." and grace.phone == "+12015550199"
    assert grace.email is None and grace.sex == "other" and grace.sms_opt_in
    updates = _audit_rows("patient.update")
    assert len(updates) == 1 and updates[0].user_id == admin.id
    assert "phone" in updates[0].details["fields"]  # type: ignore[index]
    body = page_text(as_admin.get(f"/patients/{grace.id}"))
    assert "Saved the changes to MRN" in " ".join(flashes(body))


def test_clearing_the_phone_and_sms_on_edit(as_receptionist: FlaskClient, grace: Patient) -> None:
    data = _form(phone="", sms_opt_in=None, mrn="MRN00000042", sex="")
    assert as_receptionist.post(f"/patients/{grace.id}/edit", data=data).status_code == 302
    db.session.refresh(grace)
    assert grace.phone is None and not grace.sms_opt_in and grace.sex is None


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"last_name": ""}, "last_name", "Enter the patient's last name."),
        ({"date_of_birth": "1880-01-01"}, "date_of_birth", "more than 130 years ago"),
        ({"phone": "555"}, "phone", "Enter a valid phone number"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"phone": ""}, "sms_opt_in", "SMS needs a phone number"),
        ({"mrn": ""}, "mrn", "A patient always has an MRN"),
        ({"mrn": "T-OTHER"}, "mrn", "MRN T-OTHER belongs to another patient."),
    ],
)
def test_edit_problems_are_shown_and_nothing_changes(
    as_receptionist: FlaskClient,
    grace: Patient,
    overrides: dict[str, str],
    field_id: str,
    message: str,
) -> None:
    PatientFactory(mrn="T-OTHER")
    db.session.commit()
    data = _form(**{"first_name": "Changed", "mrn": "MRN00000042", **overrides})

    response = as_receptionist.post(f"/patients/{grace.id}/edit", data=data)

    body = page_text(response)
    assert response.status_code == 422
    assert message in (field_error(body, field_id) or "")
    assert input_value(body, "first_name") == "Changed"
    assert (input_value(body, "phone") or "") == data["phone"]
    db.session.expire_all()
    assert db.session.get(Patient, grace.id).first_name == "Grace"  # type: ignore[union-attr]
    assert _audit_rows("patient.update") == []


# ------------------------------------------------- every problem in one round


def test_a_missing_name_and_an_invalid_phone_are_shown_together(
    as_receptionist: FlaskClient,
) -> None:
    # The form's own check (name missing) used to stop the service's (phone) from running.
    data = _form(first_name="", phone="12", email="grace@", mrn="no!", date_of_birth="12/09/86")

    response = as_receptionist.post("/patients/new", data=data)

    body = page_text(response)
    assert response.status_code == 422
    assert field_error(body, "first_name") == "Enter the patient's first name."
    assert "Enter a valid phone number" in (field_error(body, "phone") or "")
    assert "Enter a valid email address" in (field_error(body, "email") or "")
    assert "Use 3–32 letters" in (field_error(body, "mrn") or "")
    assert "Enter the date of birth as a date" in (field_error(body, "date_of_birth") or "")
    assert field_error(body, "last_name") is None
    assert input_value(body, "phone") == "12"
    assert input_value(body, "date_of_birth") == "12/09/86"
    assert _patient_count() == 0


def test_a_taken_mrn_is_told_with_a_missing_name(
    as_receptionist: FlaskClient, grace: Patient
) -> None:
    response = as_receptionist.post(
        "/patients/new", data=_form(last_name="", phone="", sms_opt_in=None, mrn="MRN00000042")
    )
    body = page_text(response)
    assert field_error(body, "last_name") == "Enter the patient's last name."
    assert field_error(body, "mrn") == "MRN MRN00000042 belongs to another patient."


def test_edit_reports_a_missing_mrn_and_an_invalid_phone_together(
    as_receptionist: FlaskClient, grace: Patient
) -> None:
    data = _form(mrn="", phone="555", last_name="")

    response = as_receptionist.post(f"/patients/{grace.id}/edit", data=data)

    body = page_text(response)
    assert response.status_code == 422
    assert "A patient always has an MRN" in (field_error(body, "mrn") or "")
    assert field_error(body, "last_name") == "Enter the patient's last name."
    assert "Enter a valid phone number" in (field_error(body, "phone") or "")
    db.session.expire_all()
    assert db.session.get(Patient, grace.id).phone == "+12015550123"  # type: ignore[union-attr]


def test_a_generated_mrn_is_labelled_once(as_receptionist: FlaskClient) -> None:
    response = as_receptionist.post("/patients/new", data=_form(), follow_redirects=True)
    body = page_text(response)
    patient = db.session.scalars(select(Patient)).one()
    assert patient.mrn.startswith("MRN")
    assert f"Registered the patient {patient.mrn}." in " ".join(flashes(body))
    assert f"MRN {patient.mrn}" not in body
    assert "<dt>Medical record number</dt>" in body
