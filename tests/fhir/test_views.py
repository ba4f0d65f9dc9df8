"""The /fhir/r4 endpoints: auth, reads, searches, paging, errors, audit (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.patient import Patient as FhirPatient
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    walk_in,
)
from tests.fhir.conftest import FHIR, FHIR_JSON, bearer, fhir_get, outcome_of, search
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.extensions import db
from webapp.fhir import views
from webapp.queue.moves import apply_move

PERSONAS = ["receptionist", "clinician", "admin"]


@pytest.fixture
def app_config() -> dict[str, Any]:
    """A hospital west of UTC, so a date search in UTC days would pick the wrong visits."""
    return {"HOSPITAL_TIMEZONE": "America/New_York"}


@pytest.fixture
def patient(app: Flask) -> Any:
    found = PatientFactory(mrn="MRN-1001", sex="male", phone="+14155550123")
    db.session.commit()
    return found


def _persona(request: pytest.FixtureRequest, role: str) -> User:
    user: User = request.getfixturevalue(role)
    return user


# ------------------------------------------------------------------ metadata


def test_metadata_is_public_and_a_valid_capability_statement(client: FlaskClient) -> None:
    response = client.get(f"{FHIR}/metadata")

    assert response.status_code == 200
    assert response.mimetype == FHIR_JSON
    statement = CapabilityStatement.model_validate(response.get_json())
    assert statement.fhirVersion == "4.0.1"
    assert statement.implementation.url == "http://localhost/fhir/r4"


def test_links_come_from_public_base_url_never_from_host(app: Flask, client: FlaskClient) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://queue.example.org/hq"

    body = client.get(f"{FHIR}/metadata", headers={"Host": "127.0.0.1:5000"}).get_json()

    assert body["implementation"]["url"] == "https://queue.example.org/hq/fhir/r4"


# ------------------------------------------------------------------ auth


@pytest.mark.parametrize(
    "path",
    [
        "/Patient/1",
        "/Patient?identifier=X",
        "/Appointment/1",
        "/Appointment?patient=1",
        "/Encounter/1",
        "/Encounter?patient=1",
    ],
)
def test_anonymous_gets_401_as_operation_outcome(client: FlaskClient, path: str) -> None:
    response = client.get(FHIR + path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert outcome_of(response.get_json()).issue[0].code == "login"


def test_a_bad_token_gets_401(client: FlaskClient, patient: Any) -> None:
    response = client.get(
        f"{FHIR}/Patient/{patient.id}", headers={"Authorization": "Bearer not-a-token"}
    )

    assert response.status_code == 401
    assert "not valid" in outcome_of(response.get_json()).issue[0].diagnostics


def test_a_wrong_role_gets_403(
    client: FlaskClient, receptionist: User, patient: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every staff role may read today (as in the JSON API); the check is there for a role
    # table that says otherwise, so the test narrows it.
    monkeypatch.setattr(views.read_patient, "fhir_roles", ("admin",))

    body = fhir_get(client, f"/Patient/{patient.id}", receptionist, status=403)

    assert outcome_of(body).issue[0].code == "forbidden"


@pytest.mark.parametrize("role", PERSONAS)
def test_every_staff_role_may_read(
    request: pytest.FixtureRequest, client: FlaskClient, patient: Any, role: str
) -> None:
    body = fhir_get(client, f"/Patient/{patient.id}", _persona(request, role))

    assert FhirPatient.model_validate(body).identifier[0].value == "MRN-1001"


# ------------------------------------------------------------------ 404 / 400 / 405


@pytest.mark.parametrize(
    "path", ["/Patient/999999", "/Appointment/999999", "/Encounter/999999", "/Observation/1"]
)
def test_unknown_ids_and_types_get_404(client: FlaskClient, admin: User, path: str) -> None:
    body = fhir_get(client, path, admin, status=404)

    assert outcome_of(body).issue[0].code == "not-found"


def test_an_unknown_path_gets_404_even_without_a_token(client: FlaskClient) -> None:
    response = client.get(f"{FHIR}/Nothing/here")

    assert response.status_code == 404
    assert outcome_of(response.get_json()).issue[0].code == "not-found"


def test_writes_get_405(client: FlaskClient, admin: User, patient: Any) -> None:
    response = client.put(f"{FHIR}/Patient/{patient.id}", headers=bearer(admin), json={})

    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert outcome_of(response.get_json()).issue[0].code == "not-supported"


@pytest.mark.parametrize(
    "path",
    [
        "/Patient",
        "/Patient?identifier=",
        "/Patient?name=Smith",
        "/Appointment",
        "/Appointment?patient=abc",
        "/Appointment?patient=1&date=2026-02-30",
        "/Encounter?patient=1&date=yesterday",
        "/Encounter?patient=1&_count=0",
        "/Encounter?patient=1&page=-1",
        "/Encounter?patient=1&_format=xml",
    ],
)
def test_bad_search_parameters_get_400(client: FlaskClient, admin: User, path: str) -> None:
    body = fhir_get(client, path, admin, status=400)

    assert outcome_of(body).issue[0].code == "invalid"


# ------------------------------------------------------------------ Patient


def test_reading_a_patient_is_audited_as_a_phi_view(
    client: FlaskClient, clinician: User, patient: Any
) -> None:
    fhir_get(client, f"/Patient/{patient.id}", clinician)

    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "patient.view")).all()
    assert [(e.user_id, e.entity_type, e.entity_id) for e in entries] == [
        (clinician.id, "patient", patient.id)
    ]


def test_a_refused_read_is_not_audited(client: FlaskClient, patient: Any) -> None:
    client.get(f"{FHIR}/Patient/{patient.id}")

    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "patient.view")) is None


def test_searching_patients_is_not_audited_like_the_json_api(
    client: FlaskClient, admin: User, patient: Any
) -> None:
    search(client, "/Patient?identifier=MRN-1001", admin)

    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "patient.view")) is None


@pytest.mark.parametrize(
    "identifier",
    ["MRN-1001", "urn:hospital-queue:mrn|MRN-1001", "urn%3Ahospital-queue%3Amrn%7CMRN-1001"],
)
def test_patient_search_by_identifier(
    client: FlaskClient, admin: User, patient: Any, identifier: str
) -> None:
    PatientFactory(mrn="MRN-1002")
    db.session.commit()

    bundle = search(client, f"/Patient?identifier={identifier}", admin)

    assert bundle.total == 1
    assert [entry.resource.id for entry in bundle.entry] == [str(patient.id)]
    assert bundle.entry[0].fullUrl == f"http://localhost/fhir/r4/Patient/{patient.id}"
    FhirPatient.model_validate(bundle.entry[0].resource.model_dump(mode="json"))


@pytest.mark.parametrize("identifier", ["MRN-9999", "urn:other:mrn|MRN-1001", "|MRN-1001"])
def test_patient_search_without_a_match_is_an_empty_bundle(
    client: FlaskClient, admin: User, patient: Any, identifier: str
) -> None:
    bundle = search(client, f"/Patient?identifier={identifier}", admin)

    assert bundle.total == 0
    assert not bundle.entry


# ------------------------------------------------------------------ Appointment


def test_appointment_read(client: FlaskClient, receptionist: User, patient: Any) -> None:
    appointment = AppointmentFactory(patient=patient)
    db.session.commit()

    body = fhir_get(client, f"/Appointment/{appointment.id}", receptionist)

    resource = FhirAppointment.model_validate(body)
    assert resource.status == "booked"
    assert resource.participant[0].actor.reference == f"Patient/{patient.id}"


def _at(moment: datetime) -> Any:
    return AppointmentFactory(
        starts_at=moment, ends_at=moment + timedelta(minutes=20), duration_minutes=20
    )


def test_appointment_search_by_patient_and_day_in_the_hospital_zone(
    client: FlaskClient, admin: User, patient: Any
) -> None:
    # 03:30 UTC on 10 March is 22:30 on 9 March in New York: the hospital's 9 March.
    late_evening = AppointmentFactory(
        patient=patient,
        starts_at=datetime(2026, 3, 10, 3, 30, tzinfo=UTC),
        ends_at=datetime(2026, 3, 10, 3, 50, tzinfo=UTC),
    )
    AppointmentFactory(  # the next local day
        patient=patient,
        starts_at=datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 10, 15, 20, tzinfo=UTC),
    )
    AppointmentFactory(  # someone else, same day
        starts_at=datetime(2026, 3, 9, 15, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 9, 15, 20, tzinfo=UTC),
    )
    db.session.commit()

    on_ninth = search(client, f"/Appointment?patient={patient.id}&date=2026-03-09", admin)
    all_days = search(client, f"/Appointment?patient=Patient/{patient.id}", admin)

    assert [e.resource.id for e in on_ninth.entry] == [str(late_evening.id)]
    assert on_ninth.total == 1
    assert all_days.total == 2


# ------------------------------------------------------------------ Encounter


def test_a_transfer_chain_is_one_encounter(
    client: FlaskClient, clinician: User, receptionist: User, patient: Any
) -> None:
    first_department = DepartmentFactory(name="Triage")
    second_department = DepartmentFactory(name="Radiology")
    triage_room = ServicePointFactory(department=first_department, name="Bay 1")
    xray_room = ServicePointFactory(department=second_department, name="X-ray 1")
    appointment = AppointmentFactory(
        patient=patient, department=first_department, starts_at=datetime.now(UTC)
    )
    db.session.commit()
    first = walk_in(first_department, patient)
    apply_move(first.id, "call", actor=clinician, service_point_id=triage_room.id)
    second = apply_move(
        first.id, "transfer", actor=clinician, department_id=second_department.id, reason="X-ray"
    )
    db.session.commit()

    waiting = FhirEncounter.model_validate(fhir_get(client, f"/Encounter/{first.id}", receptionist))
    apply_move(second.id, "call", actor=clinician, service_point_id=xray_room.id)
    db.session.commit()
    called = FhirEncounter.model_validate(fhir_get(client, f"/Encounter/{first.id}", receptionist))
    apply_move(second.id, "start", actor=clinician)
    apply_move(second.id, "complete", actor=clinician)
    db.session.commit()
    done = FhirEncounter.model_validate(fhir_get(client, f"/Encounter/{first.id}", receptionist))

    assert first.appointment_id == appointment.id
    assert (waiting.status, called.status, done.status) == ("arrived", "in-progress", "finished")
    assert done.id == str(first.id)
    assert done.period.start == first.checked_in_at
    db.session.refresh(second)
    assert done.period.end == second.ended_at
    assert [(loc.location.display, loc.status) for loc in done.location] == [
        ("Bay 1, Triage", "completed"),
        ("X-ray 1, Radiology", "completed"),
    ]
    assert [(loc.location.display, loc.status) for loc in called.location][-1] == (
        "X-ray 1, Radiology",
        "active",
    )
    assert [ref.reference for ref in done.appointment] == [f"Appointment/{appointment.id}"]
    assert done.subject.reference == f"Patient/{patient.id}"
    # The later ticket of the chain names no Encounter of its own.
    fhir_get(client, f"/Encounter/{second.id}", receptionist, status=404)
    bundle = search(client, f"/Encounter?patient={patient.id}", receptionist)
    assert [e.resource.id for e in bundle.entry] == [str(first.id)]


def test_encounter_search_by_day_uses_the_hospital_zone(
    client: FlaskClient, admin: User, patient: Any
) -> None:
    department = DepartmentFactory()
    db.session.commit()
    # 02:00 UTC on 10 March is 21:00 on 9 March in New York.
    with time_machine.travel(datetime(2026, 3, 10, 2, 0, tzinfo=UTC), tick=False):
        evening = walk_in(department, patient)
        apply_move(evening.id, "cancel", actor=admin, reason="Left")
        db.session.commit()
    with time_machine.travel(datetime(2026, 3, 10, 14, 0, tzinfo=UTC), tick=False):
        morning = walk_in(department, patient)
        walk_in(department)  # another patient, same day
    with time_machine.travel(datetime(2026, 3, 10, 15, 0, tzinfo=UTC), tick=False):
        ninth = search(client, f"/Encounter?patient={patient.id}&date=2026-03-09", admin)
        tenth = search(client, f"/Encounter?patient={patient.id}&date=2026-03-10", admin)

    assert [(e.resource.id, e.resource.status) for e in ninth.entry] == [
        (str(evening.id), "cancelled")
    ]
    assert [(e.resource.id, e.resource.status) for e in tenth.entry] == [
        (str(morning.id), "arrived")
    ]
    for entry in ninth.entry + tenth.entry:
        FhirEncounter.model_validate(entry.resource.model_dump(mode="json"))


# ------------------------------------------------------------------ paging


def test_search_pages_with_self_next_and_previous_links(
    client: FlaskClient, admin: User, patient: Any
) -> None:
    starts = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    made = [
        AppointmentFactory(
            patient=patient,
            starts_at=starts + timedelta(hours=hour),
            ends_at=starts + timedelta(hours=hour, minutes=20),
        )
        for hour in range(5)
    ]
    db.session.commit()
    base = f"/Appointment?patient={patient.id}&date=2026-03-09"

    first = search(client, f"{base}&_count=2", admin)
    links = {link.relation: link.url for link in first.link}
    middle_path = links["next"].removeprefix("http://localhost" + FHIR)
    middle = search(client, middle_path, admin)
    middle_links = {link.relation: link.url for link in middle.link}
    last = search(client, f"{base}&_count=2&page=3", admin)

    assert first.total == middle.total == last.total == 5
    assert set(links) == {"self", "next"}
    assert links["self"].startswith("http://localhost/fhir/r4/Appointment?")
    assert "page=2" in links["next"] and "_count=2" in links["next"]
    assert set(middle_links) == {"self", "next", "previous"}
    assert "page=1" in middle_links["previous"]
    assert {link.relation for link in last.link} == {"self", "previous"}
    ids = [e.resource.id for page in (first, middle, last) for e in page.entry]
    assert ids == [str(appointment.id) for appointment in made]


def test_count_is_capped(client: FlaskClient, admin: User, patient: Any) -> None:
    bundle = search(client, f"/Encounter?patient={patient.id}&_count=5000", admin)

    assert "_count=100" in bundle.link[0].url


def test_a_page_past_the_end_is_empty(client: FlaskClient, admin: User, patient: Any) -> None:
    bundle = search(client, "/Patient?identifier=MRN-1001&page=7", admin)

    assert bundle.total == 1 and not bundle.entry


def test_answers_validate_against_the_r4b_models(
    client: FlaskClient, admin: User, patient: Any
) -> None:
    ticket = walk_in(DepartmentFactory(), patient)

    assert FhirPatient.model_validate(fhir_get(client, f"/Patient/{patient.id}", admin))
    assert FhirEncounter.model_validate(fhir_get(client, f"/Encounter/{ticket.id}", admin))
    assert date.fromisoformat(fhir_get(client, f"/Patient/{patient.id}", admin)["birthDate"])
