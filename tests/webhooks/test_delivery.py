"""Deliveries end to end on SQLite: written with the change, signed, sent after the commit,
retried, paused; the receiver is a real HTTP server (pytest-httpserver)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.factories import (
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
    walk_in,
)
from tests.webhooks.helpers import deliveries, subscribe, verify
from webapp.appointments.services import (
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from webapp.database import utcnow
from webapp.extensions import db
from webapp.queue import moves
from webapp.webhooks import delivery as webhook_delivery
from webapp.webhooks.events import EVENT_TYPES
from webapp.webhooks.models import WebhookSubscription
from webapp.webhooks.tasks import requeue_webhooks

PHONE = "+447700900456"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PUBLIC_BASE_URL": "https://queue.example.org"}


@pytest.fixture
def department(app: Any) -> Any:
    department = DepartmentFactory(name="General Medicine", code="GM", opening_hours=None)
    db.session.commit()
    return department


@pytest.fixture
def room(department: Any) -> Any:
    point = ServicePointFactory(department=department, name="Room 3")
    db.session.commit()
    return point


@pytest.fixture
def doctor(app: Any) -> Any:
    user = UserFactory(role="clinician", username="dr-hook")
    db.session.commit()
    return user


def commit() -> None:
    db.session.commit()


def requeue() -> int:
    """The periodic task, as a worker runs it: outside the test's transaction (SQLite allows
    one writer at a time)."""
    db.session.commit()
    return int(requeue_webhooks.call_local())


def send(subscription_id: int) -> int:
    db.session.commit()
    return webhook_delivery.send_pending(subscription_id)


def received(httpserver: HTTPServer) -> list[Request]:
    return [request for request, _response in httpserver.log]


def test_every_event_type_is_delivered_signed_and_without_phi(
    department: Any, room: Any, doctor: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    created = subscribe(httpserver.url_for("/hook"))
    lab = DepartmentFactory(name="Laboratory", code="LB")
    patient = PatientFactory(
        first_name="Philomena", last_name="Quarrington", sms_opt_in=True, phone=PHONE
    )
    commit()

    ticket = walk_in(department, patient)  # ticket.checked_in
    moves.call_next(service_point_id=room.id, actor=doctor)  # ticket.called
    commit()
    moves.override_ticket(ticket.id, action="recall", actor=doctor)  # ticket.recalled
    commit()
    moves.transition_ticket(ticket.id, status="in_service", actor=doctor)  # ticket.started
    commit()
    moves.transition_ticket(ticket.id, status="completed", actor=doctor)  # ticket.completed
    commit()
    second = walk_in(department, patient)
    moves.call_next(service_point_id=room.id, actor=doctor)
    commit()
    moves.transition_ticket(second.id, status="no_show", actor=doctor)  # ticket.no_show
    commit()
    third = walk_in(department, patient)
    moves.transition_ticket(
        third.id, status="cancelled", actor=doctor, reason="Left"
    )  # ticket.cancelled
    commit()
    fourth = walk_in(department, patient)
    moves.override_ticket(
        fourth.id, action="transfer", actor=doctor, department_id=lab.id, reason="Bloods"
    )
    commit()  # ticket.transferred (and the new ticket's ticket.checked_in)
    starts = utcnow().replace(microsecond=0) + timedelta(days=3)
    appointment = book_appointment(
        patient_id=patient.id,
        department_id=department.id,
        starts_at=starts,
        duration_minutes=20,
        actor=None,
    )  # appointment.booked
    commit()
    reschedule_appointment(appointment, actor=None, starts_at=starts + timedelta(hours=1))
    commit()  # appointment.rescheduled
    cancel_appointment(appointment, actor=None, reason="Patient asked")  # appointment.cancelled
    commit()

    requests = received(httpserver)
    payloads = [verify(request, created.secret) for request in requests]
    assert {payload["type"] for payload in payloads} == set(EVENT_TYPES)
    assert all(row.status == "delivered" for row in deliveries())
    assert len(payloads) == len(deliveries())
    for request, payload in zip(requests, payloads, strict=True):
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-HQ-Event"] == payload["type"]
        assert request.headers["X-HQ-Delivery"] == payload["id"]
        assert set(payload) == {"id", "type", "occurred_at", "data"}
        assert payload["data"]["patient_id"] == patient.id
        body = request.get_data(as_text=True)
        for secret_fact in ("Philomena", "Quarrington", "1980-05-17", PHONE, patient.mrn):
            assert secret_fact not in body
    called = next(payload for payload in payloads if payload["type"] == "ticket.called")
    assert called["data"]["id"] == ticket.id and called["data"]["service_point_id"] == room.id


def test_it_writes_nothing_for_a_change_that_rolls_back_or_for_other_events(
    department: Any, httpserver: HTTPServer
) -> None:
    subscribe(httpserver.url_for("/hook"), events=("ticket.called",))
    patient = PatientFactory()
    commit()

    moves.check_in(actor=None, patient_id=patient.id, department_id=department.id)
    db.session.rollback()
    walk_in(department, patient)  # committed, but nobody listens to check-ins

    assert deliveries() == []
    assert received(httpserver) == []


def test_an_inactive_subscription_gets_nothing(department: Any, httpserver: HTTPServer) -> None:
    created = subscribe(httpserver.url_for("/hook"))
    created.subscription.active = False
    commit()

    walk_in(department)

    assert deliveries() == []


def test_it_retries_after_a_500_then_delivers_on_a_204(
    department: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("boom", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=204)
    created = subscribe(httpserver.url_for("/hook"))

    walk_in(department)

    [row] = deliveries()
    assert row.status == "pending" and row.attempts == 1
    assert row.response_status == 500 and "HTTP 500" in (row.last_error or "")
    assert row.next_attempt_at is not None
    # The retry is not due yet: a task arriving now sends nothing.
    assert send(created.subscription.id) == 0
    with time_machine.travel(utcnow() + timedelta(seconds=31)):
        assert requeue() == 1

    [row] = deliveries()
    assert row.status == "delivered" and row.attempts == 2 and row.response_status == 204
    assert row.last_error is None and row.delivered_at is not None
    first, second = received(httpserver)
    assert first.get_data() == second.get_data()  # the same body, byte for byte
    assert verify(second, created.secret)["id"] == row.event_id


def test_a_failing_delivery_holds_the_newer_ones_back(
    department: Any, httpserver: HTTPServer
) -> None:
    failing = {"on": True}

    def answer(request: Request) -> Response:
        return Response("", status=503 if failing["on"] else 204)

    httpserver.expect_request("/hook").respond_with_handler(answer)
    created = subscribe(httpserver.url_for("/hook"))

    walk_in(department)
    walk_in(department)
    walk_in(department)

    assert [row.status for row in deliveries()] == ["pending"] * 3
    assert len(received(httpserver)) == 1  # only the first was tried
    failing["on"] = False
    with time_machine.travel(utcnow() + timedelta(seconds=31)):
        requeue()
    assert [row.status for row in deliveries()] == ["delivered"] * 3
    sent = [verify(request, created.secret)["id"] for request in received(httpserver)[1:]]
    assert sent == [row.event_id for row in deliveries()]


def test_a_redirect_is_a_failure_and_is_not_followed(
    department: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("", status=204)
    subscribe(httpserver.url_for("/hook"))

    walk_in(department)

    [row] = deliveries()
    assert row.status == "pending" and row.response_status == 302
    assert "redirects are not followed" in (row.last_error or "")
    assert [request.path for request in received(httpserver)] == ["/hook"]


def test_a_subscription_failing_for_a_day_is_paused_and_resumed_later(
    department: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    created = subscribe(httpserver.url_for("/hook"))
    start = utcnow()

    walk_in(department)
    with time_machine.travel(start + timedelta(hours=12)):
        requeue()
    subscription = db.session.get(WebhookSubscription, created.subscription.id)
    db.session.refresh(subscription)
    assert subscription is not None and subscription.active and subscription.paused_at is None

    with time_machine.travel(start + timedelta(hours=24, minutes=1)):
        requeue()
        db.session.refresh(subscription)
        assert not subscription.active and subscription.paused_at is not None
        assert "24 hours" in (subscription.pause_reason or "")
        tries = len(received(httpserver))
        walk_in(department)  # a paused subscription gets no new deliveries
        requeue()
    assert len(received(httpserver)) == tries
    [row] = deliveries()
    assert row.status == "pending"  # kept, to be sent on resume

    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("", status=200)
    from webapp.webhooks import services

    services.update_subscription(subscription.id, {"active": True}, actor=None)
    commit()
    [row] = deliveries()
    assert row.status == "delivered"
    db.session.refresh(subscription)
    assert subscription.paused_at is None


def test_a_delivered_delivery_is_not_sent_again_until_an_admin_redelivers_it(
    department: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    created = subscribe(httpserver.url_for("/hook"))
    walk_in(department)
    [row] = deliveries()

    assert send(created.subscription.id) == 0
    assert requeue() == 0
    assert len(received(httpserver)) == 1

    from webapp.webhooks import services

    services.redeliver(created.subscription.id, row.id, actor=None)
    commit()
    first, second = received(httpserver)
    assert first.get_data() == second.get_data()
    assert json.loads(second.get_data())["id"] == row.event_id
    [row] = deliveries()
    assert row.status == "delivered" and row.attempts == 1


def test_a_timeout_is_a_failure(
    department: Any, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(3)
        return Response("", status=204)

    httpserver.expect_request("/hook").respond_with_handler(slow)
    db.session.commit()
    from flask import current_app

    monkeypatch.setitem(current_app.config, "WEBHOOK_TIMEOUT", 0.3)
    subscribe(httpserver.url_for("/hook"))

    walk_in(department)
    release.set()

    [row] = deliveries()
    assert row.status == "pending" and row.response_status is None
    assert "No answer within 0.3 s" in (row.last_error or "")


def test_an_unforeseen_error_is_recorded_and_retried(
    department: Any, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise UnicodeError("label too long")

    monkeypatch.setattr(webhook_delivery.requests, "post", broken)
    subscribe(httpserver.url_for("/hook"))

    walk_in(department)

    [row] = deliveries()
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "Unexpected error: UnicodeError" and row.next_attempt_at is not None
