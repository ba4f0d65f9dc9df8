"""Patients: POST /patients, GET /patients?q=, GET /patients/{id}, PATCH /patients/{id}.

Every rule (names, date of birth, phone, email, MRN, duplicates) is the patient
service's; this module only translates JSON to its arguments and back. Opening a
record (GET /patients/{id}) is audited; searching is not (as on the pages).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from webapp.api.blueprint import CONFLICT, NOT_FOUND, allow, api_blueprint, api_user
from webapp.api.errors import error_response
from webapp.api.paging import paginate
from webapp.api.schemas.patients import (
    PatientCreateBody,
    PatientList,
    PatientOut,
    PatientPatchBody,
    PatientPath,
    PatientSearchQuery,
)
from webapp.auth.models import ROLES
from webapp.patients import services as patients
from webapp.patients.models import Patient

bp = api_blueprint("patients", "/patients", "Patients (protected health information)")

# update_patient's arguments that accept None to clear the field.
CLEARABLE = ("phone", "email", "sex")


def _patient_json(patient: Patient) -> dict[str, object]:
    return PatientOut.model_validate(patient).model_dump(mode="json")


def _duplicate_response(error: patients.PossibleDuplicate) -> Response:
    """409 naming each likely duplicate, so the caller can open it or confirm."""
    return error_response(
        409,
        f'{error.message} To register this patient anyway, send "allow_duplicate": true.',
        [
            (
                "duplicate",
                f"Possibly the same person as patient {candidate.id} (MRN {candidate.mrn}).",
            )
            for candidate in error.candidates
        ],
    )


@bp.post(
    "",
    summary="Register a patient",
    description="Receptionists and admins (403 for clinicians). Registers the patient (an MRN "
    "is generated when none is sent); audited; 422 names each invalid field (names, date of "
    "birth, phone, email, MRN). 409 when the MRN is taken, or when the patient looks like "
    "one already "
    "registered (same name and date of birth, or same phone): one `details` entry per "
    'candidate; resend with `"allow_duplicate": true` to register them anyway.',
    responses={201: PatientOut, **CONFLICT},
)
@allow(bp, "receptionist", "admin")
def create_patient(body: PatientCreateBody) -> tuple[Response, int] | Response:
    try:
        patient = patients.register_patient(
            first_name=body.first_name,
            last_name=body.last_name,
            date_of_birth=body.date_of_birth,
            phone=body.phone,
            email=body.email,
            sex=body.sex,
            sms_opt_in=body.sms_opt_in,
            mrn=body.mrn,
            notes=body.notes or "",
            confirm_not_duplicate=body.allow_duplicate,
            actor=api_user(),
        )
    except patients.PossibleDuplicate as duplicate:
        return _duplicate_response(duplicate)
    return jsonify(_patient_json(patient)), 201


@bp.get(
    "",
    summary="Search patients by name, MRN or phone (any format); not audited",
    description="Any role. Patients whose name, MRN or phone matches `q` (a phone in any "
    "format), a page at a time. Searching is not audited; opening a record is. Refuses: 401 "
    "without a valid token; 422 for a query or page out of range.",
    responses={200: PatientList},
)
@allow(bp, *ROLES)
def list_patients(query: PatientSearchQuery) -> Response:
    found, counters = paginate(patients.search_query(query.q), query)
    return jsonify(items=[_patient_json(patient) for patient in found], **counters)


@bp.get(
    "/<int:id>",
    summary="A patient's record (the view is written to the audit log)",
    description="Any role. The full record, protected health information: each call writes "
    "a record view with the caller to the audit log. Refuses: 401 without a valid token; "
    "404 for no such patient.",
    responses={200: PatientOut, **NOT_FOUND},
)
@allow(bp, *ROLES)
def get_patient(path: PatientPath) -> Response:
    return jsonify(_patient_json(patients.view_patient(path.id, api_user())))


@bp.patch(
    "/<int:id>",
    summary="Change a patient's record; only the fields sent change",
    description="Receptionists and admins (403 for clinicians); 404 for no such patient; "
    "409 when the new MRN belongs to another patient; audited. "
    "phone, email, sex and notes can be cleared with null; the other fields "
    "cannot be null. The same rules as registration apply.",
    responses={200: PatientOut, **NOT_FOUND, **CONFLICT},
)
@allow(bp, "receptionist", "admin")
def update_patient(path: PatientPath, body: PatientPatchBody) -> Response:
    patient = patients.get_patient(path.id)
    sent = body.model_fields_set
    changes: dict[str, Any] = {
        field: getattr(body, field)
        for field in ("first_name", "last_name", "date_of_birth", "sms_opt_in", "mrn")
        if field in sent
    }
    changes.update({field: getattr(body, field) for field in CLEARABLE if field in sent})
    if "notes" in sent:
        changes["notes"] = body.notes or ""
    patients.update_patient(patient, actor=api_user(), **changes)
    return jsonify(_patient_json(patient))
