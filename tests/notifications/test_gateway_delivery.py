"""The outbox delivering through the HTTP SMS gateway provider to a fake gateway on loopback.

Each test writes one consenting patient's SMS row and runs ``deliver`` against a
real HTTP server; the clock is frozen (time-machine) so back-off times are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from pytest_httpserver import HTTPServer

from tests.factories import PatientFactory
from tests.notifications.gateway import PHONE, silent_gateway, sms_requests
from webapp.extensions import db
from webapp.notifications.delivery import deliver
from webapp.notifications.models import Notification
from webapp.notifications.outbox import write_notification

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
BODY = "Ticket C-012: please go to Room 3 now. Reply STOP to opt out."


@pytest.fixture
def app_config(httpserver: HTTPServer) -> dict[str, Any]:
    return {
        "SMS_PROVIDER": "http",
        "SMS_GATEWAY_URL": httpserver.url_for("/sms"),
        "SMS_GATEWAY_FORMAT": "form",
        "SMS_GATEWAY_USERNAME": "AC-test",
        "SMS_GATEWAY_PASSWORD": "token-test",
        "SMS_SENDER": "HOSPITAL",
        "SMS_GATEWAY_TIMEOUT": 0.5,
        "NOTIFICATION_RETRY_SECONDS": 30,
        "NOTIFICATION_RETRY_MAX_SECONDS": 3600,
        "NOTIFICATION_MAX_ATTEMPTS": 3,
    }


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sms_row() -> int:
    """A pending SMS for a patient who agreed to SMS, written straight into the table
    (not through ``write_notification``, which would send it as soon as it commits)."""
    patient = PatientFactory(phone=PHONE, sms_opt_in=True)
    db.session.flush()
    notification = Notification(
        patient_id=patient.id, channel="sms", template_key="call", body=BODY
    )
    db.session.add(notification)
    db.session.flush()
    notification_id: int = notification.id
    db.session.commit()
    return notification_id


def row(notification_id: int) -> SimpleNamespace:
    """The row as deliver() left it, read in a transaction that is over when this returns:
    the in-memory SQLite database has one connection, and deliver() opens its own."""
    db.session.expire_all()
    notification = db.session.get(Notification, notification_id)
    assert notification is not None
    fields = (
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
        "provider_message_id",
    )
    snapshot = SimpleNamespace(**{name: getattr(notification, name) for name in fields})
    db.session.rollback()
    return snapshot


def test_it_retries_after_a_500_and_then_sends(app, httpserver: HTTPServer, clock):
    httpserver.expect_ordered_request("/sms", method="POST").respond_with_data(
        "upstream trouble", status=500
    )
    httpserver.expect_ordered_request("/sms", method="POST").respond_with_json(
        {"sid": "SM42", "status": "queued"}, status=201
    )
    notification_id = sms_row()

    assert deliver(notification_id) == "retry"

    pending = row(notification_id)
    assert (pending.status, pending.attempts) == ("pending", 1)
    assert pending.next_attempt_at == START + timedelta(seconds=30)
    assert pending.last_error == "SMS gateway answered 500"
    assert pending.sent_at is None

    clock.move_to(START + timedelta(seconds=10))  # before the back-off: not due yet
    assert deliver(notification_id) == "skipped"
    assert len(sms_requests(httpserver)) == 1

    clock.move_to(START + timedelta(seconds=31))
    assert deliver(notification_id) == "sent"

    sent = row(notification_id)
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert sent.provider_message_id == "SM42"
    assert sent.sent_at == START + timedelta(seconds=31)
    assert sent.last_error is None
    requests = sms_requests(httpserver)
    assert len(requests) == 2
    for request in requests:
        assert request.form.to_dict() == {"To": PHONE, "From": "HOSPITAL", "Body": BODY}
        assert request.authorization is not None
        assert request.authorization.username == "AC-test"
    httpserver.check_assertions()  # the ordered answers were used in order

    assert deliver(notification_id) == "skipped"  # sent once, never again
    assert len(sms_requests(httpserver)) == 2


def test_it_fails_a_refused_message_and_keeps_the_reason_without_the_number(
    app, httpserver: HTTPServer, clock
):
    httpserver.expect_request("/sms").respond_with_json(
        {"code": 21211, "message": f"The 'To' number {PHONE} is not a valid phone number."},
        status=400,
    )
    notification_id = sms_row()

    assert deliver(notification_id) == "failed"

    failed = row(notification_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == (
        "SMS gateway answered 400: (code 21211) "
        "The 'To' number [number] is not a valid phone number."
    )
    assert PHONE.lstrip("+") not in failed.last_error
    assert failed.sent_at is None
    assert failed.provider_message_id is None

    clock.move_to(START + timedelta(hours=2))
    assert deliver(notification_id) == "skipped"  # a failed row stays failed
    assert len(sms_requests(httpserver)) == 1


def test_it_waits_as_long_as_the_gateway_asks_on_429(app, httpserver: HTTPServer, clock):
    # Longer than the 30 s back-off, so the row's due time can only come from the header.
    httpserver.expect_request("/sms").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "600"}
    )
    notification_id = sms_row()

    assert deliver(notification_id) == "retry"

    pending = row(notification_id)
    assert (pending.status, pending.attempts) == ("pending", 1)
    assert pending.next_attempt_at == START + timedelta(seconds=600)
    assert pending.last_error == "SMS gateway answered 429 and asked to wait 600 s"

    clock.move_to(START + timedelta(seconds=300))  # the back-off alone would allow it
    assert deliver(notification_id) == "skipped"
    assert len(sms_requests(httpserver)) == 1


def test_it_retries_a_gateway_that_does_not_answer_in_time(app, httpserver: HTTPServer, clock):
    notification_id = sms_row()

    with silent_gateway(httpserver):
        assert deliver(notification_id) == "retry"

    pending = row(notification_id)
    assert (pending.status, pending.attempts) == ("pending", 1)
    assert pending.last_error == "SMS gateway timed out after 0.5 s"
    assert pending.next_attempt_at == START + timedelta(seconds=30)


def test_it_fails_after_the_last_attempt(app, httpserver: HTTPServer, clock):
    httpserver.expect_request("/sms").respond_with_data("down", status=503)
    notification_id = sms_row()

    outcomes = []
    for minutes in (0, 1, 3):  # each after the previous back-off (30 s, then 60 s)
        clock.move_to(START + timedelta(minutes=minutes))
        outcomes.append(deliver(notification_id))

    assert outcomes == ["retry", "retry", "failed"]
    failed = row(notification_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error == "SMS gateway answered 503"
    assert len(sms_requests(httpserver)) == 3


def test_it_sends_a_row_written_through_the_outbox_once_it_commits(app, httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_json({"sid": "SM7"})
    patient = PatientFactory(phone=PHONE, sms_opt_in=True)
    db.session.flush()

    notification_id = write_notification(
        patient_id=patient.id, channel="sms", kind="call", body=BODY
    )
    assert notification_id is not None
    assert sms_requests(httpserver) == []  # nothing leaves before the commit

    db.session.commit()  # tests run Huey immediately: the after-commit task sends it now

    (request,) = sms_requests(httpserver)
    assert request.form["To"] == PHONE
    assert request.form["Body"] == BODY
    sent = row(notification_id)
    assert (sent.status, sent.provider_message_id) == ("sent", "SM7")
