"""Our records as FHIR resources: the one place where a field of ours meets a FHIR element.

Every resource is built with the ``fhir.resources`` R4B models (``fhir.resources`` 8.x
has no R4 package; R4B is the closest) and uses only elements that are the same in
R4, so an answer validates against both. docs/fhir.md has the table of what maps to what.

- Patient: identifier (our MRN, system ``FHIR_MRN_SYSTEM``), name, birthDate, gender,
  telecom (phone in E.164, email).
- Appointment: status, start / end, the department as serviceType, the patient and
  the clinician as participants, the booking reason as description.
- Encounter: one per ticket chain (a ticket and the tickets it was transferred to,
  which share ``status_token``); its id is the chain's first ticket's id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.resource import Resource
from flask import current_app

from webapp.appointments.models import Appointment
from webapp.patients.models import Patient
from webapp.queue.models import Ticket

FHIR_VERSION = "4.0.1"
DEFAULT_MRN_SYSTEM = "urn:hospital-queue:mrn"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
AMBULATORY = {"system": ACT_CODE_SYSTEM, "code": "AMB", "display": "ambulatory"}

# Patient.sex → Patient.gender (administrative gender; the same four codes).
GENDERS = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}

# Appointment.status → Appointment.status.
APPOINTMENT_STATUSES = {
    "booked": "booked",
    "checked_in": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}

# The chain's latest ticket's status → Encounter.status. A no-show ended before it began,
# which is what R4's "cancelled" means (Encounter has no "noshow"). "transferred" is never
# the latest ticket of a chain (the transfer opened the next one); "unknown" if it were.
ENCOUNTER_STATUSES = {
    "waiting": "arrived",
    "called": "in-progress",
    "in_service": "in-progress",
    "completed": "finished",
    "cancelled": "cancelled",
    "no_show": "cancelled",
}

# HTTP status → OperationOutcome.issue.code (the FHIR issue-type codes).
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    413: "too-costly",
    422: "processing",
    429: "throttled",
    500: "exception",
    503: "transient",
}


def mrn_system() -> str:
    """The identifier system of our MRNs (``FHIR_MRN_SYSTEM``)."""
    return str(current_app.config.get("FHIR_MRN_SYSTEM") or DEFAULT_MRN_SYSTEM)


def as_json(resource: Resource) -> dict[str, Any]:
    """A resource as FHIR JSON (elements that are None left out, ``class`` under its name)."""
    data: dict[str, Any] = resource.model_dump(mode="json")
    return data


def _instant(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def patient_resource(patient: Patient) -> FhirPatient:
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "meta": {"lastUpdated": _instant(patient.updated_at)},
        "identifier": [{"use": "usual", "system": mrn_system(), "value": patient.mrn}],
        "name": [
            {
                "use": "official",
                "text": patient.full_name,
                "family": patient.last_name,
                "given": [patient.first_name],
            }
        ],
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.sex:
        data["gender"] = GENDERS[patient.sex]
    if telecom:
        data["telecom"] = telecom
    return FhirPatient.model_validate(data)


def patient_reference(patient_id: int) -> dict[str, str]:
    # No display: a name in every reference would spread PHI beyond the Patient read.
    return {"reference": f"Patient/{patient_id}", "type": "Patient"}


def appointment_resource(appointment: Appointment) -> FhirAppointment:
    participants: list[dict[str, Any]] = [
        {
            "actor": patient_reference(appointment.patient_id),
            "required": "required",
            "status": "accepted",
        }
    ]
    if appointment.clinician is not None:
        # We serve no Practitioner resource: the reference carries the clinician's name only.
        participants.append(
            {
                "type": [{"text": "clinician"}],
                "actor": {"type": "Practitioner", "display": appointment.clinician.full_name},
                "required": "required",
                "status": "accepted",
            }
        )
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.id),
        "meta": {"lastUpdated": _instant(appointment.updated_at)},
        "status": APPOINTMENT_STATUSES[appointment.status],
        "serviceType": [{"text": appointment.department.name}],
        "start": _instant(appointment.starts_at),
        "end": _instant(appointment.ends_at),
        "minutesDuration": appointment.duration_minutes,
        "created": _instant(appointment.created_at),
        "participant": participants,
    }
    if appointment.reason:
        # The reason given at booking, as the JSON API shows it to the same roles.
        data["description"] = appointment.reason
    if appointment.status == "cancelled" and appointment.cancel_reason:
        data["cancelationReason"] = {"text": appointment.cancel_reason}
    return FhirAppointment.model_validate(data)


def _location_display(ticket: Ticket) -> str | None:
    if ticket.service_point is None:
        return None
    return f"{ticket.service_point.name}, {ticket.department.name}"


def encounter_resource(chain: Sequence[Ticket]) -> FhirEncounter:
    """The Encounter of one ticket chain, ``chain`` in order (first ticket first)."""
    if not chain:
        raise ValueError("A ticket chain has at least one ticket.")
    first, latest = chain[0], chain[-1]
    status = ENCOUNTER_STATUSES.get(latest.status, "unknown")
    period: dict[str, Any] = {"start": _instant(first.checked_in_at)}
    if status in ("finished", "cancelled") and latest.ended_at is not None:
        period["end"] = _instant(latest.ended_at)

    locations: list[dict[str, Any]] = []
    for ticket in chain:
        display = _location_display(ticket)
        if display is None:
            continue
        current = ticket is latest and status in ("arrived", "in-progress")
        entry = {"location": {"display": display}, "status": "active" if current else "completed"}
        if locations and locations[-1]["location"]["display"] == display:
            locations[-1] = entry
        else:
            locations.append(entry)

    data: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(first.id),
        "meta": {"lastUpdated": _instant(max(ticket.updated_at for ticket in chain))},
        "status": status,
        "class": AMBULATORY,
        "serviceType": {"text": latest.department.name},
        "subject": patient_reference(first.patient_id),
        "period": period,
    }
    appointment_ids = [ticket.appointment_id for ticket in chain if ticket.appointment_id]
    if appointment_ids:
        data["appointment"] = [
            {"reference": f"Appointment/{appointment_id}", "type": "Appointment"}
            for appointment_id in dict.fromkeys(appointment_ids)
        ]
    if locations:
        data["location"] = locations
    if latest.clinician is not None:
        data["participant"] = [
            {"individual": {"type": "Practitioner", "display": latest.clinician.full_name}}
        ]
    return FhirEncounter.model_validate(data)


def searchset(
    resources: Sequence[Resource],
    *,
    total: int,
    links: dict[str, str],
    full_url: dict[str, str],
) -> Bundle:
    """A searchset Bundle: ``links`` by relation (self, next, previous), ``full_url`` by id."""
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": [{"relation": relation, "url": url} for relation, url in links.items()],
            "entry": [
                {
                    "fullUrl": full_url[str(resource.id)],
                    "resource": as_json(resource),
                    "search": {"mode": "match"},
                }
                for resource in resources
            ],
        }
    )


def operation_outcome(status: int, message: str) -> OperationOutcome:
    return OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error" if status < 500 else "fatal",
                    "code": ISSUE_CODES.get(status, "processing"),
                    "diagnostics": message,
                }
            ],
        }
    )


SEARCH_PARAMS: dict[str, list[tuple[str, str, str]]] = {
    "Patient": [
        ("identifier", "token", "The MRN, alone or as <system>|<MRN>."),
    ],
    "Appointment": [
        ("patient", "reference", "The patient's id (required)."),
        ("date", "date", "A day, YYYY-MM-DD, in the hospital's time zone."),
    ],
    "Encounter": [
        ("patient", "reference", "The patient's id (required)."),
        ("date", "date", "A service day, YYYY-MM-DD, in the hospital's time zone."),
    ],
}


def capability_statement(
    *, base_url: str, software: str, published: datetime
) -> CapabilityStatement:
    resources = [
        {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": kind, "documentation": text} for name, kind, text in params
            ]
            + [
                {"name": "_count", "type": "number", "documentation": "Entries a page (1–100)."},
                {"name": "page", "type": "number", "documentation": "The page, from 1."},
            ],
        }
        for resource_type, params in SEARCH_PARAMS.items()
    ]
    return CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": _instant(published),
            "kind": "instance",
            "software": {"name": software},
            "implementation": {
                "description": f"{software}: read-only FHIR R4 facade",
                "url": base_url,
            },
            "fhirVersion": FHIR_VERSION,
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Read-only. Every resource but this one needs "
                    "Authorization: Bearer <access token from POST /api/v1/auth/login>.",
                    "security": {
                        "description": "Bearer access tokens of the JSON API; roles "
                        "receptionist, clinician and admin may read."
                    },
                    "resource": resources,
                }
            ],
        }
    )
