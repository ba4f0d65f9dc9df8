"""The messages page /admin/notifications: the log, its filters and paging, and resending."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import running_app, sign_in
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
from webapp.notifications.views import PER_PAGE
from webapp.patients.models import Patient

PAGE = "/admin/notifications"
RESEND = "/admin/notifications/resend"
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/admin/notifications"}
PHONE = "+447700900123"
# 02:30 UTC on 10 January is still 9 January in New York (the hospital's zone here).
LATE_EVENING = datetime(2025, 1, 10, 2, 30, tzinfo=UTC)
MORNING = datetime(2025, 1, 10, 15, 0, tzinfo=UTC)
GATEWAY_ERROR = "Gateway refused the message (400): The destination is not a mobile number."


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "America/New_York"}


@pytest.fixture
def texting_patient(app: Flask) -> Patient:
    """A patient who agreed to SMS and has a phone: a resent SMS to them ends sent."""
    patient = PatientFactory(sms_opt_in=True, phone=PHONE)
    db.session.commit()
    return patient


def failed(patient: Patient, **fields: Any) -> Notification:
    values = {"status": "failed", "attempts": 5, "last_error": GATEWAY_ERROR, **fields}
    row = NotificationFactory(patient=patient, **values)
    db.session.commit()
    return row


def reloaded(row: Notification) -> Notification:
    db.session.expire_all()
    found = db.session.get(Notification, row.id)
    assert found is not None
    return found


def body_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def row_ids(page: str) -> list[int]:
    """The ids of the listed rows, in order (each row carries one in its patient link's row)."""
    return [int(found) for found in re.findall(r'data-notification-id="(\d+)"', page)]


# ----------------------------------------------------------------- the log


def test_it_lists_each_message_with_its_kind_channel_status_attempts_and_error(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    department = DepartmentFactory(code="RAD", name="Radiology")
    ticket = walk_in(department, PatientFactory())
    appointment = AppointmentFactory(patient=texting_patient)
    db.session.commit()
    failure = failed(texting_patient, ticket_id=ticket.id, template_key="called")
    NotificationFactory(
        patient=texting_patient,
        channel="push",
        template_key="appointment_booked",
        status="sent",
        attempts=1,
        appointment_id=appointment.id,
        body="Appointment booked: Radiology, 12 Jan 09:30.",
    )
    db.session.commit()
    sign_in(client, admin)

    page = body_of(client.get(PAGE))

    assert "Called to a room" in page and "Appointment booked" in page
    assert ">SMS<" in page and ">Web Push<" in page
    assert ">Failed<" in page and ">Sent<" in page  # in words, not colour alone
    assert GATEWAY_ERROR in page
    assert f"<td>{failure.attempts}</td>" in page
    assert ticket.number in page
    assert f'href="/appointments/{appointment.id}"' in page
    assert "Appointment booked: Radiology, 12 Jan 09:30." in page  # staff see the body
    # Only the failed row can be ticked and resent.
    assert page.count('type="checkbox" name="ids"') == 1
    assert f'name="ids" value="{failure.id}"' in page
    assert f'name="resend" value="{failure.id}"' in page


def test_it_shows_times_in_the_hospitals_zone(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    NotificationFactory(patient=texting_patient, created_at=LATE_EVENING)
    db.session.commit()
    sign_in(client, admin)

    page = body_of(client.get(PAGE))

    assert "2025-01-09 21:30" in page  # 02:30 UTC in New York
    assert "Times in America/New_York" in page


def test_it_never_shows_the_patients_phone_number(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    failed(texting_patient)
    sign_in(client, admin)

    page = body_of(client.get(PAGE))

    digits = re.sub(r"\D", "", page)
    assert "7700900123" not in digits  # in no format at all
    assert "7700 900123" not in page and "7700 900 123" not in page


def test_it_lists_newest_first(client: FlaskClient, admin: User, texting_patient: Patient) -> None:
    older = NotificationFactory(patient=texting_patient, created_at=LATE_EVENING)
    newer = NotificationFactory(patient=texting_patient, created_at=MORNING)
    db.session.commit()
    sign_in(client, admin)

    page = body_of(client.get(PAGE))

    assert page.index(newer.body) < page.index(older.body)


# ----------------------------------------------------------------- filters


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
            patient=texting_patient, status="pending", template_key="check_in", created_at=MORNING
        ),
        "yesterday": NotificationFactory(
            patient=texting_patient,
            status="sent",
            template_key="check_in",
            created_at=LATE_EVENING,
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
        ({"channel": "sms"}, {"failed_sms", "pending_sms", "yesterday"}),
        ({"kind": "check_in"}, {"pending_sms", "yesterday"}),
        ({"date": "2025-01-09"}, {"yesterday"}),  # a day in hospital time
        ({"date": "2025-01-10"}, {"failed_sms", "sent_push", "pending_sms"}),
        ({"status": "sent", "channel": "sms", "date": "2025-01-09"}, {"yesterday"}),
        ({"status": "failed", "kind": "check_in"}, set()),
        ({"status": " ", "channel": ""}, {"failed_sms", "sent_push", "pending_sms", "yesterday"}),
    ],
)
def test_it_filters_by_status_channel_kind_and_day(
    client: FlaskClient,
    admin: User,
    mixed_rows: dict[str, Notification],
    query: dict[str, str],
    expected: set[str],
) -> None:
    sign_in(client, admin)

    response = client.get(PAGE, query_string=query)

    assert response.status_code == 200
    listed = set(row_ids(body_of(response)))
    assert listed == {mixed_rows[name].id for name in expected}
    if not expected:
        assert "No messages match these filters." in body_of(response)


def test_it_keeps_the_chosen_filters_in_the_form_and_the_resend_address(
    client: FlaskClient, admin: User, mixed_rows: dict[str, Notification]
) -> None:
    sign_in(client, admin)

    page = body_of(
        client.get(PAGE, query_string={"status": "sent", "channel": "push", "date": "2025-01-10"})
    )

    assert '<option selected value="sent">' in page
    assert '<option selected value="push">' in page
    assert 'value="2025-01-10"' in page
    assert (
        'hx-post="/admin/notifications/resend?status=sent&amp;channel=push&amp;date=2025-01-10"'
        in page
    )


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "bogus"}, "status", "Not a valid choice."),
        ({"channel": "fax"}, "channel", "Not a valid choice."),
        ({"kind": "called'--"}, "kind", "Not a valid choice."),
        ({"date": "2025-13-45"}, "date", "Not a valid date value."),
        ({"date": "0001-01-01"}, "date", "Give a date between the years"),
        ({"date": "99999-01-01"}, "date", "Not a valid date value."),
    ],
)
def test_it_answers_bad_filters_with_field_errors_not_a_server_error(
    client: FlaskClient,
    admin: User,
    mixed_rows: dict[str, Notification],
    query: dict[str, str],
    field: str,
    message: str,
) -> None:
    sign_in(client, admin)

    response = client.get(PAGE, query_string=query)

    assert response.status_code == 422
    page = body_of(response)
    assert f'id="{field}-error"' in page
    assert message in page
    assert "Please correct the field marked below" in page
    assert row_ids(page) == []  # no list under a filter that could not be read


# ----------------------------------------------------------------- paging


def test_it_pages_the_log_and_its_links_keep_the_filters(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    start = datetime(2025, 1, 10, 14, 0, tzinfo=UTC)
    rows = [
        NotificationFactory(
            patient=texting_patient, status="sent", created_at=start + timedelta(seconds=n)
        )
        for n in range(PER_PAGE + 3)
    ]
    NotificationFactory(patient=texting_patient, status="pending", created_at=start)
    db.session.commit()
    sign_in(client, admin)

    first = body_of(client.get(PAGE, query_string={"status": "sent"}))
    second = body_of(client.get(PAGE, query_string={"status": "sent", "page": "2"}))

    newest_first = [row.id for row in reversed(rows)]
    assert row_ids(first) == newest_first[:PER_PAGE]
    assert row_ids(second) == newest_first[PER_PAGE:]
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert 'href="/admin/notifications?status=sent&amp;page=2"' in first
    assert 'href="/admin/notifications?status=sent&amp;page=1"' in second
    assert f"{PER_PAGE + 3} messages" in first


@pytest.mark.parametrize(("page", "status"), [("abc", 200), ("-3", 200), ("9" * 30, 404)])
def test_it_reads_any_page_number_without_a_server_error(
    client: FlaskClient, admin: User, texting_patient: Patient, page: str, status: int
) -> None:
    NotificationFactory(patient=texting_patient)
    db.session.commit()
    sign_in(client, admin)

    assert client.get(PAGE, query_string={"page": page}).status_code == status


def test_a_page_past_the_end_lists_nothing(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    NotificationFactory(patient=texting_patient)
    db.session.commit()
    sign_in(client, admin)

    page = body_of(client.get(PAGE, query_string={"page": "7"}))

    assert row_ids(page) == [] and "← Newer" in page


# ----------------------------------------------------------------- resending


def test_it_resends_one_failed_message_and_it_is_sent(
    client: FlaskClient,
    admin: User,
    texting_patient: Patient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    one, other = failed(texting_patient), failed(texting_patient)
    sign_in(client, admin)

    response = client.post(RESEND, data={"resend": str(one.id)})

    assert response.status_code == 302
    assert response.headers["Location"] == PAGE
    assert reloaded(one).status == "sent" and reloaded(one).attempts == 1
    assert reloaded(one).last_error is None
    assert reloaded(other).status == "failed"  # only the one asked for
    assert one.body in capsys.readouterr().out  # the console provider sent it
    assert "1 message queued again." in body_of(client.get(PAGE))


def test_it_resends_the_ticked_messages(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    first, second, left = (failed(texting_patient) for _ in range(3))
    sign_in(client, admin)

    response = client.post(
        f"{RESEND}?status=failed",
        data={"resend": "selected", "ids": [str(first.id), str(second.id)]},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"{PAGE}?status=failed"  # back to the same list
    assert [reloaded(row).status for row in (first, second, left)] == ["sent", "sent", "failed"]
    assert "2 messages queued again." in body_of(client.get(PAGE))


def test_it_resends_every_failed_message_and_leaves_sent_ones_alone(
    client: FlaskClient,
    admin: User,
    texting_patient: Patient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    failures = [failed(texting_patient) for _ in range(3)]
    sent = NotificationFactory(patient=texting_patient, status="sent", attempts=1)
    pending = NotificationFactory(
        patient=texting_patient, status="pending", next_attempt_at=MORNING + timedelta(days=9999)
    )
    db.session.commit()
    sent_at = sent.sent_at
    sign_in(client, admin)

    response = client.post(RESEND, data={"resend": "failed"})

    assert response.status_code == 302
    assert {reloaded(row).status for row in failures} == {"sent"}
    assert reloaded(sent).sent_at == sent_at and reloaded(sent).attempts == 1
    assert reloaded(pending).status == "pending" and reloaded(pending).attempts == 0
    printed = capsys.readouterr().out
    assert all(row.body in printed for row in failures)
    assert sent.body not in printed
    assert "3 messages queued again." in body_of(client.get(PAGE))


def test_it_does_not_resend_a_sent_message(
    client: FlaskClient,
    admin: User,
    texting_patient: Patient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sent = NotificationFactory(patient=texting_patient, status="sent", attempts=1)
    db.session.commit()
    sign_in(client, admin)

    response = client.post(RESEND, data={"resend": "selected", "ids": [str(sent.id)]})

    assert response.status_code == 302
    assert reloaded(sent).status == "sent" and reloaded(sent).attempts == 1
    assert capsys.readouterr().out == ""
    assert "Nothing was queued: only failed messages are sent again." in body_of(client.get(PAGE))
    assert (
        db.session.scalars(select(AuditLog).where(AuditLog.action == "notification.resend")).all()
        == []
    )


def test_it_records_who_resent_what_in_the_audit_log(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    first, second = failed(texting_patient), failed(texting_patient)
    sign_in(client, admin)

    client.post(RESEND, data={"resend": "selected", "ids": [str(first.id), str(second.id)]})

    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "notification.resend")
    ).one()
    assert entry.user_id == admin.id
    assert entry.summary == "Resent 2 failed message(s)"
    assert PHONE not in str(entry.details)


def test_a_resent_message_fails_again_when_the_patient_withdrew_consent(
    client: FlaskClient, admin: User
) -> None:
    patient = PatientFactory(sms_opt_in=False, phone=PHONE)
    db.session.commit()
    row = failed(patient)
    sign_in(client, admin)

    client.post(RESEND, data={"resend": str(row.id)})

    assert reloaded(row).status == "failed"
    assert reloaded(row).last_error == (
        "Not sent: the patient no longer has SMS consent or a phone number."
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"resend": "selected"}, "Tick at least one failed message"),
        ({"resend": "selected", "ids": ["x"]}, "Tick the messages to resend."),
        ({"resend": "everything"}, "Choose what to resend."),
        ({"resend": "1" * 40}, "Choose what to resend."),
        ({}, "Choose what to resend."),
        (
            {"resend": "selected", "ids": [str(n) for n in range(1, MAX_RESEND_IDS + 2)]},
            f"Resend at most {MAX_RESEND_IDS} at a time.",
        ),
    ],
)
def test_a_resend_it_cannot_read_changes_nothing_and_says_why(
    client: FlaskClient,
    admin: User,
    texting_patient: Patient,
    data: dict[str, Any],
    message: str,
) -> None:
    row = failed(texting_patient)
    sign_in(client, admin)

    response = client.post(RESEND, data=data)

    assert response.status_code == 302
    assert reloaded(row).status == "failed"
    assert message in body_of(client.get(PAGE))


# ----------------------------------------------------------------- htmx


def test_an_htmx_resend_answers_the_refreshed_rows_and_a_short_message(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    one, other = failed(texting_patient), failed(texting_patient)
    sent = NotificationFactory(patient=texting_patient, status="sent")
    db.session.commit()
    sign_in(client, admin)

    response = client.post(
        f"{RESEND}?channel=sms", data={"resend": "selected", "ids": [str(one.id)]}, headers=HTMX
    )

    assert response.status_code == 200
    fragment = body_of(response)
    assert "<html" not in fragment and '<nav class="container"' not in fragment
    assert fragment.count('id="notification-rows"') == 1
    assert 'hx-post="/admin/notifications/resend?channel=sms"' in fragment  # filters kept
    assert 'id="resend-outcome" hx-swap-oob="innerHTML"' in fragment
    assert "1 message queued again." in fragment
    # The rows as they stood when the answer was written: the resent one on its way again.
    assert set(row_ids(fragment)) == {one.id, other.id, sent.id}
    assert f'name="resend" value="{one.id}"' not in fragment
    assert f'name="resend" value="{other.id}"' in fragment
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]
    # … and after the commit it was sent.
    assert reloaded(one).status == "sent"


def test_an_htmx_resend_it_cannot_read_says_why_in_the_fragment(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    row = failed(texting_patient)
    sign_in(client, admin)

    response = client.post(RESEND, data={"resend": "selected"}, headers=HTMX)

    assert response.status_code == 200  # htmx swaps only a 2xx answer
    fragment = body_of(response)
    assert 'class="flash flash-error"' in fragment
    assert "Tick at least one failed message" in fragment
    assert reloaded(row).status == "failed"


def test_an_htmx_resend_under_a_tampered_filter_lists_everything(
    client: FlaskClient, admin: User, texting_patient: Patient
) -> None:
    row = failed(texting_patient)
    sign_in(client, admin)

    response = client.post(f"{RESEND}?status=bogus", data={"resend": "failed"}, headers=HTMX)

    assert response.status_code == 200
    assert row_ids(body_of(response)) == [row.id]
    assert 'hx-post="/admin/notifications/resend"' in body_of(response)


# ----------------------------------------------------------------- CSRF


@pytest.fixture
def csrf_app() -> Iterator[Flask]:
    yield from running_app(WTF_CSRF_ENABLED=True)


def _csrf_token(page: str) -> str:
    found = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_resending_needs_the_csrf_token_and_htmx_sends_it_in_a_header(csrf_app: Flask) -> None:
    from tests.factories import UserFactory

    admin = UserFactory(username="csrf-admin", role="admin")
    patient = PatientFactory(sms_opt_in=True, phone=PHONE)
    db.session.commit()
    row = failed(patient)
    client = csrf_app.test_client()
    sign_in_with_token(client, admin)
    page = body_of(client.get(PAGE))
    token = _csrf_token(page)
    assert 'name="csrf_token"' in page  # the plain form carries it too

    refused = client.post(RESEND, data={"resend": str(row.id)}, headers=HTMX)
    assert refused.status_code == 400
    assert reloaded(row).status == "failed"

    accepted = client.post(
        RESEND, data={"resend": str(row.id)}, headers={**HTMX, "X-CSRFToken": token}
    )
    assert accepted.status_code == 200
    assert reloaded(row).status == "sent"


def sign_in_with_token(client: FlaskClient, user: User) -> None:
    from tests.factories import DEFAULT_PASSWORD

    login_page = body_of(client.get("/login"))
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
    assert found is not None
    response = client.post(
        "/login",
        data={
            "username": user.username,
            "password": DEFAULT_PASSWORD,
            "csrf_token": found.group(1),
        },
    )
    assert response.status_code == 302
