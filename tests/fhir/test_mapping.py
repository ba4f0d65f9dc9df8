"""One test per mapping of webapp.fhir.mapping: each field and each status, validated as R4B."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from flask import Flask

from tests.conftest import running_app
from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
    walk_in,
)
from webapp.database import utcnow
from webapp.extensions import db
from webapp.fhir import mapping
from webapp.queue.models import Ticket


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """Mapping is the same on any database: SQLite only here."""
    yield from running_app(**app_config)


def roundtrip(resource: Any, model: Any) -> Any:
    """The resource as JSON, validated again by the R4B model (what a client would parse)."""
    return model.model_validate(mapping.as_json(resource))


# ------------------------------------------------------------------ Patient


@pytest.mark.parametrize(
    ("sex", "gender"),
    [("female", "female"), ("male", "male"), ("other", "other"), ("unknown", "unknown")],
)
def test_sex_maps_to_gender(app: Flask, sex: str, gender: str) -> None:
    resource = roundtrip(mapping.patient_resource(PatientFactory(sex=sex)), FhirPatient)

    assert resource.gender == gender


def test_a_patient_without_a_recorded_sex_has_no_gender(app: Flask) -> None:
    data = mapping.as_json(mapping.patient_resource(PatientFactory(sex=None)))

    assert "gender" not in data


def test_identifier_is_the_mrn_in_the_default_system(app: Flask) -> None:
    patient = PatientFactory(mrn="MRN-42")

    resource = roundtrip(mapping.patient_resource(patient), FhirPatient)

    assert [(i.system, i.value) for i in resource.identifier] == [
        ("urn:hospital-queue:mrn", "MRN-42")
    ]


def test_the_identifier_system_is_configurable(app: Flask) -> None:
    app.config["FHIR_MRN_SYSTEM"] = "https://hospital.example/mrn"

    resource = mapping.patient_resource(PatientFactory(mrn="MRN-43"))

    assert resource.identifier[0].system == "https://hospital.example/mrn"


def test_name_and_birth_date(app: Flask) -> None:
    patient = PatientFactory(first_name="Ada", last_name="Lovelace")

    resource = roundtrip(mapping.patient_resource(patient), FhirPatient)

    assert resource.name[0].family == "Lovelace"
    assert resource.name[0].given == ["Ada"]
    assert resource.name[0].text == "Ada Lovelace"
    assert resource.birthDate == patient.date_of_birth
    assert resource.id == str(patient.id)


def test_telecom_has_the_e164_phone_and_the_email(app: Flask) -> None:
    patient = PatientFactory(phone="+14155550123", email="ada@example.org")

    resource = roundtrip(mapping.patient_resource(patient), FhirPatient)

    assert [(t.system, t.value) for t in resource.telecom] == [
        ("phone", "+14155550123"),
        ("email", "ada@example.org"),
    ]


def test_no_telecom_without_phone_or_email(app: Flask) -> None:
    data = mapping.as_json(mapping.patient_resource(PatientFactory(phone=None, email=None)))

    assert "telecom" not in data


# ------------------------------------------------------------------ Appointment


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("booked", "booked"),
        ("checked_in", "arrived"),
        ("completed", "fulfilled"),
        ("cancelled", "cancelled"),
        ("no_show", "noshow"),
    ],
)
def test_appointment_status(app: Flask, ours: str, theirs: str) -> None:
    appointment = AppointmentFactory(status=ours)

    resource = roundtrip(mapping.appointment_resource(appointment), FhirAppointment)

    assert resource.status == theirs


def test_every_appointment_status_of_ours_is_mapped() -> None:
    from webapp.appointments.models import APPOINTMENT_STATUSES

    assert set(mapping.APPOINTMENT_STATUSES) == set(APPOINTMENT_STATUSES)


def test_appointment_times_department_participants_and_reason(app: Flask) -> None:
    clinician = UserFactory(role="clinician", full_name="Dr Grace Hopper")
    appointment = AppointmentFactory(
        clinician=clinician, reason="Follow-up", department=DepartmentFactory(name="Cardiology")
    )

    resource = roundtrip(mapping.appointment_resource(appointment), FhirAppointment)

    assert resource.start == appointment.starts_at
    assert resource.end == appointment.ends_at
    assert resource.minutesDuration == appointment.duration_minutes
    assert resource.serviceType[0].text == "Cardiology"
    assert resource.description == "Follow-up"
    actors = [(p.actor.reference, p.actor.display) for p in resource.participant]
    assert actors == [(f"Patient/{appointment.patient_id}", None), (None, "Dr Grace Hopper")]


def test_an_appointment_without_clinician_or_reason(app: Flask) -> None:
    data = mapping.as_json(mapping.appointment_resource(AppointmentFactory(reason="")))

    assert "description" not in data
    assert len(data["participant"]) == 1


def test_a_cancelled_appointment_carries_its_cancel_reason(app: Flask) -> None:
    appointment = AppointmentFactory(status="cancelled", cancel_reason="Patient unwell")

    resource = roundtrip(mapping.appointment_resource(appointment), FhirAppointment)

    assert resource.cancelationReason.text == "Patient unwell"


# ------------------------------------------------------------------ Encounter


def _ticket(status: str, **fields: Any) -> Ticket:
    ticket = walk_in(DepartmentFactory(name="General Medicine"))
    ticket.status = status
    for name, value in fields.items():
        setattr(ticket, name, value)
    db.session.flush()
    return ticket


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("waiting", "arrived"),
        ("called", "in-progress"),
        ("in_service", "in-progress"),
        ("completed", "finished"),
        ("cancelled", "cancelled"),
        ("no_show", "cancelled"),
        ("transferred", "unknown"),
    ],
)
def test_encounter_status(app: Flask, ours: str, theirs: str) -> None:
    resource = roundtrip(mapping.encounter_resource([_ticket(ours)]), FhirEncounter)

    assert resource.status == theirs


def test_every_ticket_status_is_mapped_or_unknown_on_purpose() -> None:
    from webapp.queue.models import TICKET_STATUSES

    assert set(mapping.ENCOUNTER_STATUSES) == set(TICKET_STATUSES) - {"transferred"}


def test_encounter_is_ambulatory_with_subject_and_department(app: Flask) -> None:
    ticket = _ticket("waiting")

    resource = roundtrip(mapping.encounter_resource([ticket]), FhirEncounter)

    assert (resource.class_fhir.system, resource.class_fhir.code) == (
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "AMB",
    )
    assert resource.subject.reference == f"Patient/{ticket.patient_id}"
    assert resource.serviceType.text == "General Medicine"
    assert resource.id == str(ticket.id)
    assert mapping.as_json(mapping.encounter_resource([ticket]))["class"]["code"] == "AMB"


def test_a_waiting_encounter_has_a_start_and_no_end(app: Flask) -> None:
    ticket = _ticket("waiting")

    resource = roundtrip(mapping.encounter_resource([ticket]), FhirEncounter)

    assert resource.period.start == ticket.checked_in_at
    assert resource.period.end is None
    assert resource.location is None
    assert resource.appointment is None


def test_a_finished_encounter_ends_when_its_ticket_ended(app: Flask) -> None:
    ended = utcnow() + timedelta(minutes=30)
    point = ServicePointFactory(name="Room 4")
    ticket = _ticket("completed", ended_at=ended, service_point=point)

    resource = roundtrip(mapping.encounter_resource([ticket]), FhirEncounter)

    assert resource.period.end == ended
    assert [(loc.location.display, loc.status) for loc in resource.location] == [
        (f"Room 4, {ticket.department.name}", "completed")
    ]


def test_the_service_point_of_a_called_ticket_is_the_active_location(app: Flask) -> None:
    point = ServicePointFactory(name="Room 2")
    clinician = UserFactory(role="clinician", full_name="Dr Who")
    ticket = _ticket("called", service_point=point, clinician=clinician)

    resource = roundtrip(mapping.encounter_resource([ticket]), FhirEncounter)

    assert resource.location[0].status == "active"
    assert resource.location[0].location.display.startswith("Room 2, ")
    assert resource.participant[0].individual.display == "Dr Who"


def test_a_booked_visit_references_its_appointment(app: Flask) -> None:
    appointment = AppointmentFactory(status="checked_in")
    ticket = _ticket("waiting", appointment_id=appointment.id)

    resource = roundtrip(mapping.encounter_resource([ticket]), FhirEncounter)

    assert [ref.reference for ref in resource.appointment] == [f"Appointment/{appointment.id}"]


def test_an_empty_chain_is_refused() -> None:
    with pytest.raises(ValueError):
        mapping.encounter_resource([])


# ------------------------------------------------------------------ the rest


def test_capability_statement_declares_r4_and_the_three_resources(app: Flask) -> None:
    with app.test_request_context():
        statement = mapping.capability_statement(
            base_url="http://localhost/fhir/r4", software="HQ", published=utcnow()
        )

    resource = roundtrip(statement, CapabilityStatement)

    assert resource.fhirVersion == "4.0.1"
    assert resource.kind == "instance"
    assert [r.type for r in resource.rest[0].resource] == ["Patient", "Appointment", "Encounter"]


@pytest.mark.parametrize(
    ("status", "code"), [(400, "invalid"), (401, "login"), (403, "forbidden"), (404, "not-found")]
)
def test_operation_outcome_codes(status: int, code: str) -> None:
    resource = roundtrip(mapping.operation_outcome(status, "Why."), OperationOutcome)

    assert (resource.issue[0].code, resource.issue[0].diagnostics) == (code, "Why.")


def test_the_identifier_system_is_read_from_the_environment() -> None:
    from webapp.config import load_config

    base = {"APP_ENV": "development"}

    assert load_config(base)["FHIR_MRN_SYSTEM"] == "urn:hospital-queue:mrn"
    assert (
        load_config({**base, "FHIR_MRN_SYSTEM": " https://hospital.example/mrn "})[
            "FHIR_MRN_SYSTEM"
        ]
        == "https://hospital.example/mrn"
    )
