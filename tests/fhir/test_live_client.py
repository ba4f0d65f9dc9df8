"""An off-the-shelf FHIR client (fhirpy's SyncFHIRClient) reads a live server over HTTP.

The server is the app in a werkzeug thread on a free port (as tests/e2e does, with no
browser), on an SQLite file or on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError, ResourceNotFound
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import make_app
from tests.factories import (
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
    walk_in,
)
from webapp.clock import today
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue.moves import apply_move


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    if request.param == "postgres":
        yield request.getfixturevalue("pg_app")
        return
    application = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fhir.sqlite3'}")
    with application.app_context():
        db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def base_url(live_app: Flask) -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/fhir/r4"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def visit(live_app: Flask) -> dict[str, Any]:
    from webapp.auth.tokens import issue_token_pair

    clinician = UserFactory(role="clinician")
    patient = PatientFactory(mrn="LIVE-7", first_name="Mary", last_name="Seacole", sex="female")
    department = DepartmentFactory(name="Outpatients")
    room = ServicePointFactory(department=department, name="Room 9")
    db.session.commit()
    ticket = walk_in(department, patient)
    apply_move(ticket.id, "call", actor=clinician, service_point_id=room.id)
    found = {"patient_id": patient.id, "ticket_id": ticket.id}
    found["token"] = issue_token_pair(clinician).access_token
    db.session.commit()
    # SQLite: every transaction takes the write lock; the server's threads need it.
    db.session.close()
    return found


def test_fhirpy_reads_the_patient_and_the_visit(base_url: str, visit: dict[str, Any]) -> None:
    client = SyncFHIRClient(base_url, authorization=f"Bearer {visit['token']}")

    found = client.resources("Patient").search(identifier="LIVE-7").fetch()
    patient = client.reference("Patient", str(visit["patient_id"])).to_resource()
    encounters = (
        client.resources("Encounter")
        .search(patient=visit["patient_id"], date=today().isoformat())
        .fetch_all()
    )
    encounter = client.reference("Encounter", str(visit["ticket_id"])).to_resource()

    assert [p.id for p in found] == [str(visit["patient_id"])]
    first = client.resources("Patient").search(identifier="LIVE-7").first()
    assert first is not None and first.id == str(visit["patient_id"])
    assert patient["name"][0]["family"] == "Seacole"
    FhirPatient.model_validate(patient.serialize())
    assert [e.id for e in encounters] == [str(visit["ticket_id"])]
    resource = FhirEncounter.model_validate(encounter.serialize())
    assert resource.status == "in-progress"
    assert resource.location[0].location.display == "Room 9, Outpatients"
    assert resource.subject.reference == f"Patient/{visit['patient_id']}"


def test_fhirpy_follows_the_next_links(base_url: str, visit: dict[str, Any]) -> None:
    client = SyncFHIRClient(base_url, authorization=f"Bearer {visit['token']}")
    patient = db.session.get(Patient, visit["patient_id"])
    for _ in range(3):
        walk_in(DepartmentFactory(), patient)
    db.session.close()

    everything = (
        client.resources("Encounter").search(patient=visit["patient_id"]).limit(1).fetch_all()
    )

    assert len(everything) == 4


def test_fhirpy_without_a_token_is_refused(base_url: str, visit: dict[str, Any]) -> None:
    client = SyncFHIRClient(base_url)

    with pytest.raises(AuthorizationError) as refused:
        client.reference("Patient", str(visit["patient_id"])).to_resource()

    assert "Authorization: Bearer" in str(refused.value)


def test_fhirpy_gets_not_found(base_url: str, visit: dict[str, Any]) -> None:
    client = SyncFHIRClient(base_url, authorization=f"Bearer {visit['token']}")

    with pytest.raises(ResourceNotFound):
        client.reference("Encounter", "999999").to_resource()
