"""Property-based fuzzing of the whole published /api/v1 contract with schemathesis.

The app runs in-process (WSGI) on an in-memory SQLite database; no request
ever reaches PostgreSQL, Redis or the network. Every operation of
/api/v1/openapi.json is exercised with both valid (positive) and invalid
(negative) data, each call made with a fresh admin access token, and every
response must:

- never be a 5xx (``not_a_server_error``);
- use a status code the operation declares (``status_code_conformance``);
- use a content type the operation declares (``content_type_conformance``);
- match the declared response schema (``response_schema_conformance``).

schemathesis 4 runs *every* check by default; we name these four on purpose.
The others (``positive_data_acceptance`` above all) would flag the business
rules that the schemas deliberately leave to the services (username format,
password length, department code format: see webapp/api/schemas/).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any, cast

import pytest
import schemathesis
from flask import request_started
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update

from tests.conftest import _clear_request_globals, make_app
from tests.factories import (
    DEFAULT_PASSWORD,
    AppointmentFactory,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
)
from webapp.auth.models import User
from webapp.database import utcnow
from webapp.extensions import db
from webapp.queue import moves as queue
from webapp.queue.models import Ticket

API = "/api/v1"
ADMIN_USERNAME = "fuzz-admin"
# Examples per operation for the fuzzing phase (the examples and coverage phases add
# their own, bounded, cases). The whole module runs in about 15 s on 2 cores.
MAX_EXAMPLES = 50

api_app = make_app(
    # Generated sign-ins fail by the hundred; the throttle would turn them into 429s.
    LOGIN_LIMIT_PER_USERNAME="100000 per minute",
    LOGIN_LIMIT_PER_ADDRESS="100000 per minute",
)
# Generated requests must never reach a real database, Redis or the network.
assert api_app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"
assert not api_app.config["REDIS_URL"]
assert api_app.config["RATELIMIT_STORAGE_URI"] == "memory://"

schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", api_app)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class SeededAdmin:
    """The account whose token every generated call carries, as seeded."""

    user_id: int
    password_hash: str


ADMIN = SeededAdmin()


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(
        utcnow().date() + timedelta(days=1), time(hour, minute), utcnow().tzinfo
    )


class Seeded:
    """Ids of the seeded rows (all 1: generated small ids hit them now and then)."""

    department_id: int
    clinician_id: int
    patient_id: int
    appointment_id: int
    service_point_ids: tuple[int, int]
    ticket_ids: tuple[int, int]


SEEDED = Seeded()


@pytest.fixture(scope="module", autouse=True)
def api_database() -> Iterator[None]:
    """One database for the module: an admin, a clinician, a department open at all hours
    with two service points, a patient and their appointment tomorrow at 10:00 UTC, and
    two walk-ins waiting in the department's queue (checked in through the service)."""
    request_started.connect(_clear_request_globals, api_app)
    with api_app.app_context():
        db.create_all()
        admin = cast(
            User, UserFactory(username=ADMIN_USERNAME, role="admin", full_name="Fuzz Admin")
        )
        department = DepartmentFactory(code="FZ", name="Fuzzing", opening_hours=None)
        points = (
            ServicePointFactory(department=department, name="Room 1"),
            ServicePointFactory(department=department, name="Room 2"),
        )
        clinician = UserFactory(username="fuzz-clinician", role="clinician")
        patient = PatientFactory(mrn="FUZZ-0001", phone="+12015550123")
        appointment = AppointmentFactory(
            patient=patient, department=department, clinician=clinician, starts_at=tomorrow_at(10)
        )
        db.session.commit()
        tickets = [
            queue.check_in(actor=None, patient_id=walker.id, department_id=department.id)
            for walker in (patient, PatientFactory(mrn="FUZZ-0002"))
        ]
        db.session.commit()
        ADMIN.user_id = admin.id
        ADMIN.password_hash = admin.password_hash
        SEEDED.department_id = department.id
        SEEDED.clinician_id = clinician.id
        SEEDED.patient_id = patient.id
        SEEDED.appointment_id = appointment.id
        SEEDED.service_point_ids = (points[0].id, points[1].id)
        SEEDED.ticket_ids = (tickets[0].id, tickets[1].id)
        yield
        # SQLite's DROP TABLE deletes row by row and would trip transferred_from_id's
        # RESTRICT key: unlink transfer chains first.
        db.session.rollback()
        db.session.execute(update(Ticket).values(transferred_from_id=None))
        db.session.commit()
        db.session.remove()
        db.drop_all()
    request_started.disconnect(_clear_request_globals, api_app)


def _restore_admin() -> None:
    """Undo what an earlier generated call did to the token owner.

    The API refuses self-deactivation and self-demotion (409), but a generated
    PATCH /users/{id} on the admin's own id may change their password, which
    revokes their tokens. Put the account back as seeded.
    """
    admin = db.session.get(User, ADMIN.user_id)
    assert admin is not None
    if not admin.active or admin.role != "admin" or admin.password_hash != ADMIN.password_hash:
        admin.active = True
        admin.role = "admin"
        admin.password_hash = ADMIN.password_hash
        db.session.commit()


def _admin_headers() -> dict[str, str]:
    """A fresh access token for the seeded admin, from POST /auth/login."""
    _restore_admin()
    response = api_app.test_client().post(
        f"{API}/auth/login", json={"username": ADMIN_USERNAME, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=_admin_headers(), checks=CHECKS)


# Regressions the fuzzer found (500s: "Python int too large to convert to SQLite INTEGER").
# Random generation hits them only now and then, so they are pinned here.
HUGE = 10**20


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    [
        pytest.param("PATCH", f"/users/{HUGE}", {}, {404}, id="PATCH users/{huge id}"),
        pytest.param(
            "POST",
            f"/departments/{HUGE}/service-points",
            {"name": "Room 1"},
            {404},
            id="POST departments/{huge id}/service-points",
        ),
        pytest.param("GET", f"/users?page={HUGE}", None, {200, 422}, id="GET users?page=huge"),
    ],
)
def test_out_of_range_numbers_are_not_server_errors(
    method: str, path: str, body: dict[str, str] | None, allowed: set[int]
) -> None:
    response = api_app.test_client().open(
        f"{API}{path}", method=method, json=body, headers=_admin_headers()
    )
    assert response.status_code in allowed, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message", "details"}


# The fuzzer seldom guesses a body that books: these cases walk the patients and
# appointments operations through their success paths on real rows (whatever the
# fuzzer did to the seeded ones), under the same four checks.
def _call(method: str, path: str, status: int, **parts: Any) -> Any:
    case = schema[f"{API}{path}"][method].Case(**parts)
    response = case.call_and_validate(headers=_admin_headers(), checks=CHECKS)
    assert response.status_code == status, response.text[:500]
    return response.json() if response.content else None


def test_patients_and_appointments_conform_on_real_rows() -> None:
    patient = _call(
        "POST",
        "/patients",
        201,
        body={
            "first_name": "Fuzz",
            "last_name": "Walker",
            "date_of_birth": "1970-01-01",
            "phone": "(415) 555-0132",
            "sms_opt_in": True,
            "allow_duplicate": True,
        },
    )
    # The fuzzer may have changed the seeded patients' MRNs: the clash is with a patient
    # made here, whose MRN is known.
    other = _call(
        "POST",
        "/patients",
        201,
        body={"first_name": "Fuzz", "last_name": "Other", "date_of_birth": "1971-02-02"},
    )
    one = {"id": patient["id"]}
    _call("GET", "/patients", 200, query={"q": "415 555", "per_page": 5})
    _call("GET", "/patients/{id}", 200, path_parameters=one)
    _call("PATCH", "/patients/{id}", 200, path_parameters=one, body={"email": "fw@example.org"})
    _call("PATCH", "/patients/{id}", 409, path_parameters=one, body={"mrn": other["mrn"]})

    slot = {"starts_at": tomorrow_at(14).isoformat(), "duration_minutes": 20}
    booking = {"patient_id": patient["id"], "department_id": SEEDED.department_id, **slot}
    appointment = _call("POST", "/appointments", 201, body=booking)
    _call("POST", "/appointments", 409, body=booking)
    one = {"id": appointment["id"]}
    _call("GET", "/appointments", 200, query={"patient_id": patient["id"], "status": "booked"})
    _call("GET", "/appointments/{id}", 200, path_parameters=one)
    later = tomorrow_at(15).isoformat()
    _call("PATCH", "/appointments/{id}", 200, path_parameters=one, body={"starts_at": later})
    _call("DELETE", "/appointments/{id}", 204, path_parameters=one)
    _call("DELETE", "/appointments/{id}", 409, path_parameters=one)
    _call("PATCH", "/appointments/{id}", 409, path_parameters=one, body={"status": "cancelled"})


def test_the_queue_conforms_on_real_rows() -> None:
    """Check-in, the board, call-next, every status change and override, on a department
    of its own (so whatever the fuzzer did to the seeded queue does not matter)."""
    department = DepartmentFactory(code="QZ", name="Queue walk", opening_hours=None)
    other = DepartmentFactory(code="QX", name="Queue transfer", opening_hours=None)
    room1 = ServicePointFactory(department=department, name="Walk room 1")
    room2 = ServicePointFactory(department=department, name="Walk room 2")
    ann, ben, cal = (PatientFactory(mrn=f"QWALK-{n}") for n in range(3))
    booked = AppointmentFactory(
        patient=cal, department=department, starts_at=utcnow() - timedelta(minutes=5)
    )
    db.session.commit()

    walk_in = {"patient_id": ann.id, "department_id": department.id, "priority": "urgent"}
    first = _call("POST", "/queue/check-in", 201, body=walk_in)
    _call("POST", "/queue/check-in", 409, body=walk_in)
    second = _call(
        "POST", "/queue/check-in", 201, body={"patient_id": ben.id, "department_id": department.id}
    )
    third = _call("POST", "/queue/check-in", 201, body={"appointment_id": booked.id})
    _call("POST", "/queue/check-in", 409, body={"appointment_id": booked.id})
    board = _call("GET", "/queue/current", 200, query={"department_id": department.id})
    assert [t["id"] for t in board["waiting"]] == [first["id"], third["id"], second["id"]]
    _call("GET", "/queue/{id}", 200, path_parameters={"id": first["id"]})

    def override(ticket: dict[str, Any], action: str, status: int, **fields: Any) -> Any:
        body = {"ticket_id": ticket["id"], "action": action, "reason": "integration test", **fields}
        return _call("POST", "/queue/override", status, body=body)

    def move(ticket: dict[str, Any], status_code: int, **body: Any) -> Any:
        path = {"id": ticket["id"]}
        return _call("PATCH", "/queue/{id}/status", status_code, path_parameters=path, body=body)

    override(second, "assign", 200, service_point_id=room2.id)
    override(third, "move_to_front", 200)
    override(third, "set_priority", 200, priority="emergency")
    override(first, "skip", 200)
    override(first, "recall", 409)

    point = {"service_point_id": room1.id}
    called = _call("POST", "/queue/call-next", 200, body=point)
    assert called["id"] == third["id"]
    _call("POST", "/queue/call-next", 409, body=point)
    override(called, "recall", 200)
    move(called, 200, status="in_service")
    move(called, 409, status="cancelled")
    move(called, 200, status="completed")
    assert _call("POST", "/queue/call-next", 200, body=point)["id"] == first["id"]
    move(first, 200, status="waiting", reason="Not ready yet")
    move(first, 200, status="called", service_point_id=room1.id)
    move(first, 200, status="no_show")
    _call("POST", "/queue/call-next", 204, body=point)  # ben is assigned to room 2
    moved = override(second, "transfer", 200, department_id=other.id)
    assert moved["transferred_from"] == second["id"]
    move(moved, 200, status="cancelled", reason="went home")
    _call("GET", "/queue/current", 200, query={"department_id": other.id})
