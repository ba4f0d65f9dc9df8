"""The read-only FHIR R4 facade under /fhir/r4 (API.md "FHIR R4 facade", docs/fhir.md).

The same bearer access tokens and roles as the JSON API; every answer, errors included,
is a FHIR resource in ``application/fhir+json``. Reading a Patient is a PHI view and is
audited like GET /api/v1/patients/{id}; searches are not (as the JSON API's search).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from fhir.resources.R4B.resource import Resource
from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from webapp import clock
from webapp.appointments import services as appointments
from webapp.auth.models import ROLES, User
from webapp.auth.tokens import BearerRefused, user_for_bearer
from webapp.database import utcnow
from webapp.domain_errors import DomainError
from webapp.fhir import mapping
from webapp.fhir import services as fhir
from webapp.links import public_url_for
from webapp.patients import services as patients

PREFIX = "/fhir/r4"
FHIR_JSON = "application/fhir+json"
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("fhir", __name__, url_prefix=PREFIX)

# Who may read each resource: the JSON API's roles for the same records (R C A).
READ_ROLES: tuple[str, ...] = ROLES

# Parameters every search accepts besides its own; _format only as JSON.
PAGING_PARAMS = {"_count", "page", "_format"}
JSON_FORMATS = {"json", "application/json", "application/fhir+json"}


class BadSearch(Exception):
    """A search parameter that cannot be understood: 400 with an OperationOutcome."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def fhir_response(resource: Resource, status: int = 200) -> Response:
    return Response(resource.model_dump_json(), status=status, mimetype=FHIR_JSON)


def outcome(status: int, message: str) -> Response:
    response = fhir_response(mapping.operation_outcome(status, message), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


# ------------------------------------------------------------------ auth and errors


def read_access(view: F) -> F:
    """Mark a view as needing a bearer token of one of READ_ROLES (checked before it runs)."""
    view.fhir_roles = READ_ROLES  # type: ignore[attr-defined]
    return view


@bp.before_app_request
def guard_fhir_request() -> Response | None:
    """Unknown paths under /fhir/r4 answer OperationOutcome; known ones check the token."""
    if not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
        return None
    if request.routing_exception is not None:
        error = request.routing_exception
        status = error.code if isinstance(error, HTTPException) and error.code else 404
        message = "This server has no such resource or operation." if status == 404 else None
        response = outcome(status, message or "Only GET is supported: the facade is read-only.")
        if status == 405 and isinstance(error, HTTPException):
            response.headers.update({k: v for k, v in error.get_headers() if k.lower() == "allow"})
        return response
    view = current_app.view_functions.get(request.endpoint or "")
    roles: tuple[str, ...] | None = getattr(view, "fhir_roles", None)
    if roles is None:
        return None
    try:
        g.fhir_user = user_for_bearer(request.headers.get("Authorization", ""), roles)
    except BearerRefused as refusal:
        return outcome(refusal.status, refusal.message)
    return None


def fhir_user() -> User:
    user: User = g.fhir_user
    return user


@bp.errorhandler(BadSearch)
def bad_search(error: BadSearch) -> Response:
    return outcome(400, error.message)


@bp.errorhandler(DomainError)
def domain_error(error: DomainError) -> Response:
    return outcome(error.status_code, error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    return outcome(status, error.description or "Error.")


@bp.errorhandler(Exception)
def unexpected_error(error: Exception) -> Response:
    # Database outages keep the app's own 503 handler (a closer match for their class).
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return outcome(500, "Internal error. It has been logged.")


# ------------------------------------------------------------------ parameters


def _check_params(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed - PAGING_PARAMS)
    if unknown:
        raise BadSearch(
            f"Unknown search parameter {unknown[0]!r}; this search takes "
            + ", ".join(sorted(allowed | {"_count", "page"}))
            + "."
        )
    fmt = request.args.get("_format")
    if fmt is not None and fmt not in JSON_FORMATS:
        raise BadSearch("Only JSON is served: _format=json.")


def _positive(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,6}", raw) or int(raw) < 1:
        raise BadSearch(f"{name} must be a whole number from 1.")
    value = int(raw)
    return min(value, maximum) if maximum is not None else value


def _patient_id() -> int:
    raw = request.args.get("patient")
    if raw is None:
        raise BadSearch("Give the patient: patient=<id> (or Patient/<id>).")
    match = re.fullmatch(r"(?:Patient/)?([0-9]{1,18})", raw.strip())
    if match is None:
        raise BadSearch("patient must be a patient id, such as patient=42 or patient=Patient/42.")
    return int(match.group(1))


def _day() -> date | None:
    raw = request.args.get("date")
    if raw is None:
        return None
    # A bare day, or the FHIR "eq" prefix for the same thing.
    text = raw[2:] if raw.startswith("eq") else raw
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise BadSearch("date must be a day, YYYY-MM-DD.") from None
    if not clock.in_day_range(day):
        raise BadSearch(clock.DAY_RANGE_MESSAGE)
    return day


def _search_bundle(
    endpoint: str,
    found: fhir.Page[Any],
    resources: list[Resource],
    resource_type: str,
    params: dict[str, str],
) -> Response:
    def link(page: int) -> str:
        return public_url_for(endpoint, **params, _count=found.count, page=page)

    links = {"self": link(found.page)}
    if found.has_next:
        links["next"] = link(found.page + 1)
    if found.page > 1:
        last_page = max(1, -(-found.total // found.count))
        links["previous"] = link(min(found.page - 1, last_page))
    full_url = {
        str(resource.id): public_url_for(f"fhir.read_{resource_type.lower()}", id=resource.id)
        for resource in resources
    }
    bundle = mapping.searchset(resources, total=found.total, links=links, full_url=full_url)
    return fhir_response(bundle)


def _paging() -> tuple[int, int]:
    return _positive("page", 1), _positive("_count", fhir.DEFAULT_COUNT, fhir.MAX_COUNT)


# ------------------------------------------------------------------ endpoints


@bp.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement (public: what this server does, no data)."""
    statement = mapping.capability_statement(
        base_url=public_url_for("fhir.metadata").removesuffix("/metadata"),
        software=str(current_app.config.get("HOSPITAL_NAME") or "Hospital Queue"),
        published=utcnow(),
    )
    return fhir_response(statement)


@bp.get("/Patient/<int:id>")
@read_access
def read_patient(id: int) -> Response:
    return fhir_response(mapping.patient_resource(patients.view_patient(id, fhir_user())))


@bp.get("/Patient")
@read_access
def search_patients() -> Response:
    _check_params({"identifier"})
    raw = request.args.get("identifier")
    if raw is None or not raw.strip() or raw.strip() == "|":
        raise BadSearch("Give the MRN: identifier=<MRN> or identifier=<system>|<MRN>.")
    system, bar, value = raw.strip().rpartition("|")
    page, count = _paging()
    if bar and system != mapping.mrn_system():
        query = fhir.no_patients()  # another system's identifiers: none of ours match
    else:
        query = fhir.patients_by_mrn(value)
    found = fhir.page_of(query, page=page, count=count)
    resources: list[Resource] = [mapping.patient_resource(patient) for patient in found.items]
    return _search_bundle(
        "fhir.search_patients", found, resources, "Patient", {"identifier": raw.strip()}
    )


@bp.get("/Appointment/<int:id>")
@read_access
def read_appointment(id: int) -> Response:
    return fhir_response(mapping.appointment_resource(appointments.get_appointment(id)))


@bp.get("/Appointment")
@read_access
def search_appointments() -> Response:
    _check_params({"patient", "date"})
    patient_id, day = _patient_id(), _day()
    page, count = _paging()
    found = fhir.page_of(fhir.appointments_of(patient_id, day), page=page, count=count)
    resources: list[Resource] = [mapping.appointment_resource(item) for item in found.items]
    params = {"patient": str(patient_id), **({"date": day.isoformat()} if day else {})}
    return _search_bundle("fhir.search_appointments", found, resources, "Appointment", params)


@bp.get("/Encounter/<int:id>")
@read_access
def read_encounter(id: int) -> Response:
    return fhir_response(mapping.encounter_resource(fhir.encounter_chain(id)))


@bp.get("/Encounter")
@read_access
def search_encounters() -> Response:
    _check_params({"patient", "date"})
    patient_id, day = _patient_id(), _day()
    page, count = _paging()
    found = fhir.page_of(fhir.chain_heads_of(patient_id, day), page=page, count=count)
    resources: list[Resource] = [mapping.encounter_resource(c) for c in fhir.chains(found.items)]
    params = {"patient": str(patient_id), **({"date": day.isoformat()} if day else {})}
    return _search_bundle("fhir.search_encounters", found, resources, "Encounter", params)
