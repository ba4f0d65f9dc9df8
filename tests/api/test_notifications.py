"""GET /notifications and POST /notifications/resend (admins): webapp/api/notifications.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import API, auth_header, detail_fields, error_of
from tests.factories import (
    AppointmentFactory,
    DepartmentFactory,
    NotificationFactory,
    PatientFactory,
    walk_in,
)
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.notifications.services import MAX_RESEND_IDS
from webapp.patients.models import Patient

LIST = f"{API}/notifications"
RESEND = f"{API}/notifications/resend"
FIELDS = {
    "id",
    "channel",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
    "ticket_id",
    "appointment_id",
}
PHONE = "+447700900123"
# 02:30 UTC on 10 January is still 9 January in New York (the hospital's zone here).
LATE_EVENING = datetime(2025, 1, 10, 2, 30, tzinfo=UTC)
MORNING = datetime(2025, 1, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "HOSPITAL_TIMEZONE": "America/New_York",
        "LOGIN_LIMIT_PER_USERNAME": "100 per minute",
        "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
    }


@pytest.fixture
def texting_patient(app: Flask) -> Patient:
    patient = PatientFactory(sms_opt_in=True, phone=PHONE)
    db.session.commit()
    return patient


def failed(patient: Patient, **fields: Any) -> Notification:
    values = {
        "status": "failed",
        "attempts": 5,
        "last_error": "Gateway refused it (400).",
        **fields,
    }
    row = NotificationFactory(patient=patient, **values)
    db.session.commit()
    return row


def status_of(row: Notification) -> str:
    db.session.expire_all()
    found = db.session.get(Notification, row.id)
    assert found is not None
    return found.status


# ----------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", LIST, None), ("POST", RESEND, {"status": "failed"}), ("POST", RESEND, {"ids": [1]})],
)
def test_it_needs_a_token(client: FlaskClient, method: str, path: str, body: Any) -> None:
    response = client.open(path, method=method, json=body)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("persona", ["rita", "colin"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", LIST, None), ("POST", RESEND, {"status": "failed"}), ("POST", RESEND, {})],
)
def test_it_refuses_other_staff(
    client: FlaskClient,
    texting_patient: Patient,
    request: pytest.FixtureRequest,
    persona: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    row = failed(texting_patient)
    headers = request.getfixturevalue(persona)

    response = client.open(path, method=method, json=body, headers=headers)

    assert response.status_code == 403  # before the body is judged
    assert error_of(response)["code"] == "forbidden"
    assert status_of(row) == "failed"


# ----------------------------------------------------------------- the list


def test_it_lists_the_messages_newest_first_with_the_contracts_fields_only(
    client: FlaskClient, ada: dict[str, str], texting_patient: Patient
) -> None:
    department = DepartmentFactory()
    ticket = walk_in(department, PatientFactory())  # a walk-in without consent: writes no SMS
    appointment = AppointmentFactory(patient=texting_patient, department=department)
    db.session.commit()
    older = failed(texting_patient, ticket_id=ticket.id, created_at=LATE_EVENING)
    newer = NotificationFactory(
        patient=texting_patient,
        channel="push",
        status="sent",
        attempts=1,
        appointment_id=appointment.id,
        created_at=MORNING,
        sent_at=MORNING + timedelta(seconds=2),
    )
    db.session.commit()

    response = client.get(LIST, headers=ada)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    assert (body["total"], body["page"], body["per_page"]) == (2, 1, 50)
    assert [item["id"] for item in body["items"]] == [newer.id, older.id]
    assert all(set(item) == FIELDS for item in body["items"])  # no body, no patient
    assert body["items"][0] == {
        "id": newer.id,
        "channel": "push",
        "status": "sent",
        "attempts": 1,
        "last_error": None,
        "created_at": "2025-01-10T15:00:00+00:00",
        "sent_at": "2025-01-10T15:00:02+00:00",
        "ticket_id": None,
        "appointment_id": appointment.id,
    }
    assert body["items"][1]["ticket_id"] == ticket.id
    assert body["items"][1]["last_error"] == "Gateway refused it (400)."
    assert older.body not in response.get_data(as_text=True)


@pytest.fixture
def mixed_rows(texting_patient: Patient) -> dict[str, Notification]:
    rows = {
        "failed_sms": NotificationFactory(
            patient=texting_patient, status="failed", template_key="called", created_at=MORNING
        ),
        "sent_push": NotificationFactory(
            patient=texting_patient,
            status="sent",
            channel="push",
            template_key="turn_near",
            created_at=MORNING,
        ),
        "pending_sms": NotificationFactory(
            patient=texting_patient, template_key="check_in", created_at=MORNING
        ),
        "yesterday": NotificationFactory(
            patient=texting_patient, status="sent", template_key="check_in", created_at=LATE_EVENING
        ),
    }
    db.session.commit()
    return rows


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, {"failed_sms"}),
        ({"status": "sent"}, {"sent_push", "yesterday"}),
        ({"channel": "push"}, {"sent_push"}),
        ({"kind": "check_in"}, {"pending_sms", "yesterday"}),
        ({"date": "2025-01-09"}, {"yesterday"}),
        ({"status": "sent", "date": "2025-01-10"}, {"sent_push"}),
        ({}, {"failed_sms", "sent_push", "pending_sms", "yesterday"}),
    ],
)
def test_it_filters_the_list(
    client: FlaskClient,
    ada: dict[str, str],
    mixed_rows: dict[str, Notification],
    query: dict[str, str],
    expected: set[str],
) -> None:
    response = client.get(LIST, query_string=query, headers=ada)

    assert response.status_code == 200
    assert {item["id"] for item in response.get_json()["items"]} == {
        mixed_rows[name].id for name in expected
    }
    assert response.get_json()["total"] == len(expected)


def test_it_pages_the_list(
    client: FlaskClient, ada: dict[str, str], texting_patient: Patient
) -> None:
    rows = [
        NotificationFactory(patient=texting_patient, created_at=MORNING + timedelta(seconds=n))
        for n in range(5)
    ]
    db.session.commit()

    response = client.get(LIST, query_string={"page": 2, "per_page": 2}, headers=ada)

    body = response.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (5, 2, 2)
    assert [item["id"] for item in body["items"]] == [rows[2].id, rows[1].id]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"status": "bogus"}, "status", "pending, sent, failed"),
        ({"channel": "fax"}, "channel", "sms, push"),
        ({"kind": "nope"}, "kind", "check_in"),
        ({"date": "2025-02-30"}, "date", ""),
        ({"date": "0001-01-01"}, "date", "Give a date between"),
        ({"page": "0"}, "page", ""),
        ({"per_page": "201"}, "per_page", ""),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    client: FlaskClient, ada: dict[str, str], query: dict[str, str], field: str, words: str
) -> None:
    response = client.get(LIST, query_string=query, headers=ada)

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert any(
        detail["field"] == field and words in detail["message"] for detail in error["details"]
    ), error


# ----------------------------------------------------------------- resending


def test_it_resends_the_named_failed_messages_and_they_are_sent(
    client: FlaskClient,
    ada: dict[str, str],
    admin: User,
    texting_patient: Patient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second, left = (failed(texting_patient) for _ in range(3))
    sent = NotificationFactory(patient=texting_patient, status="sent", attempts=1)
    db.session.commit()

    response = client.post(RESEND, json={"ids": [first.id, second.id, sent.id, 999]}, headers=ada)

    assert response.status_code == 202
    assert response.get_json() == {"queued": 2}  # the sent one and the unknown id are not queued
    assert [status_of(row) for row in (first, second, left, sent)] == [
        "sent",
        "sent",
        "failed",
        "sent",
    ]
    printed = capsys.readouterr().out
    assert first.body in printed and second.body in printed
    assert sent.body not in printed and left.body not in printed
    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "notification.resend")
    ).one()
    assert entry.user_id == admin.id


def test_it_resends_every_failed_message(
    client: FlaskClient, ada: dict[str, str], texting_patient: Patient
) -> None:
    failures = [failed(texting_patient) for _ in range(3)]

    response = client.post(RESEND, json={"status": "failed"}, headers=ada)

    assert response.status_code == 202
    assert response.get_json() == {"queued": 3}
    assert {status_of(row) for row in failures} == {"sent"}
    again = client.post(RESEND, json={"status": "failed"}, headers=ada)
    assert again.status_code == 202 and again.get_json() == {"queued": 0}


def test_resending_only_sent_messages_queues_nothing_and_writes_no_audit_row(
    client: FlaskClient, ada: dict[str, str], texting_patient: Patient
) -> None:
    sent = NotificationFactory(patient=texting_patient, status="sent", attempts=1)
    db.session.commit()

    response = client.post(RESEND, json={"ids": [sent.id]}, headers=ada)

    assert response.status_code == 202 and response.get_json() == {"queued": 0}
    assert (
        db.session.scalars(select(AuditLog).where(AuditLog.action == "notification.resend")).all()
        == []
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": [1], "status": "failed"}, "ids"),
        ({"ids": []}, "ids"),
        ({"ids": list(range(1, MAX_RESEND_IDS + 2))}, "ids"),
        ({"ids": [0]}, "ids.0"),
        ({"ids": ["one"]}, "ids.0"),
        ({"ids": None}, "ids"),
        ({"status": "sent"}, "status"),
        ({"status": None}, "status"),
    ],
)
def test_both_neither_or_a_bad_value_is_a_422_that_changes_nothing(
    client: FlaskClient,
    ada: dict[str, str],
    texting_patient: Patient,
    body: dict[str, Any],
    field: str,
) -> None:
    row = failed(texting_patient)

    response = client.post(RESEND, json=body, headers=ada)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert field in detail_fields(response)
    assert status_of(row) == "failed"


def test_the_most_ids_allowed_are_accepted(
    client: FlaskClient, ada: dict[str, str], texting_patient: Patient
) -> None:
    row = failed(texting_patient)
    ids = [row.id, *range(10_000, 10_000 + MAX_RESEND_IDS - 1)]

    response = client.post(RESEND, json={"ids": ids}, headers=ada)

    assert response.status_code == 202 and response.get_json() == {"queued": 1}


def test_a_body_that_is_not_json_is_400(client: FlaskClient, ada: dict[str, str]) -> None:
    response = client.post(RESEND, data="ids=1", headers=ada, content_type="text/plain")

    assert response.status_code == 400


def test_both_operations_are_in_the_openapi_document(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()

    listing = document["paths"]["/api/v1/notifications"]["get"]
    resend = document["paths"]["/api/v1/notifications/resend"]["post"]
    assert {parameter["name"] for parameter in listing["parameters"]} >= {
        "status",
        "channel",
        "kind",
        "date",
        "page",
        "per_page",
    }
    assert all(parameter.get("description") for parameter in listing["parameters"])
    assert "202" in resend["responses"]
    schemas = document["components"]["schemas"]
    assert set(schemas["NotificationOut"]["properties"]) == FIELDS
    assert schemas["ResendBody"]["properties"]["ids"]["maxItems"] == MAX_RESEND_IDS


def test_a_deactivated_admins_token_stops_working(
    client: FlaskClient, admin: User, admin_token: str
) -> None:
    admin.active = False
    db.session.commit()

    response = client.get(LIST, headers=auth_header(admin_token))

    assert response.status_code == 401


# ----------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_it_lists_filters_and_resends_on_postgres(
    pg_client: FlaskClient, pg_admin_headers: dict[str, str]
) -> None:
    patient = PatientFactory(sms_opt_in=True, phone=PHONE)
    db.session.commit()
    refused = failed(patient, created_at=MORNING)
    sent = NotificationFactory(patient=patient, status="sent", created_at=MORNING)
    NotificationFactory(patient=patient, status="sent", created_at=MORNING - timedelta(days=2))
    db.session.commit()

    listed = pg_client.get(
        LIST, query_string={"status": "sent", "date": "2025-01-10"}, headers=pg_admin_headers
    )
    resent = pg_client.post(RESEND, json={"ids": [refused.id, sent.id]}, headers=pg_admin_headers)

    assert listed.status_code == 200
    assert [item["id"] for item in listed.get_json()["items"]] == [sent.id]
    assert resent.status_code == 202 and resent.get_json() == {"queued": 1}
    assert status_of(refused) == "sent"
