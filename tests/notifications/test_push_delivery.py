"""The outbox delivering Web Push to a fake push service on loopback: a phone that allowed
notifications on the ticket page gets the call, encrypted for it; a subscription the push
service says is gone (404/410) is deleted and its row ends failed with a plain error.

Huey runs immediately in tests, so a message is sent when the move that causes it commits.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory, walk_in
from tests.notifications.push_service import (
    PUSH_PATH,
    FakeBrowser,
    VapidPair,
    push_requests,
    vapid_claims,
    vapid_pair,
)
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.notifications.models import Notification, PushSubscription
from webapp.queue import moves
from webapp.queue.models import Ticket

KEYS: VapidPair = vapid_pair()


@pytest.fixture
def app_config() -> dict[str, Any]:
    return KEYS.config(
        VAPID_SUBJECT="mailto:queue@hospital.example",
        WEBPUSH_TIMEOUT=2.0,
        NOTIFICATION_MAX_ATTEMPTS=3,
        HOSPITAL_NAME="St Elsewhere",
    )


@pytest.fixture
def department(app: Any) -> Department:
    department = DepartmentFactory(name="General Medicine", code="GM")
    db.session.commit()
    return department


@pytest.fixture
def room(department: Department) -> ServicePoint:
    point = ServicePointFactory(department=department, name="Room 3")
    db.session.commit()
    return point


@pytest.fixture
def browser(httpserver: HTTPServer) -> FakeBrowser:
    return FakeBrowser(endpoint=httpserver.url_for(PUSH_PATH))


def waiting_with_push(client: FlaskClient, department: Department, browser: FakeBrowser) -> Ticket:
    """A walk-in without SMS consent whose phone allowed notifications on the ticket page."""
    ticket = walk_in(department, PatientFactory(sms_opt_in=False, phone=None))
    response = client.post(f"/t/{ticket.status_token}/push", json=browser.subscription())
    assert response.status_code == 200, response.get_json()
    return ticket


def call(room: ServicePoint) -> None:
    moves.call_next(service_point_id=room.id, actor=None)
    db.session.commit()


def push_rows(ticket: Ticket) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.ticket_id == ticket.id, Notification.channel == "push")
            .order_by(Notification.id)
        )
    )


def subscriptions() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(PushSubscription)) or 0


def test_it_sends_the_call_to_the_phone_that_allowed_notifications(
    client: FlaskClient,
    department: Department,
    room: ServicePoint,
    browser: FakeBrowser,
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(PUSH_PATH, method="POST").respond_with_data("", status=201)
    ticket = waiting_with_push(client, department, browser)

    call(room)

    [called] = [row for row in push_rows(ticket) if row.template_key == "called"]
    assert called.status == "sent", called.last_error
    payloads = [browser.decrypt(request) for request in push_requests(httpserver)]
    assert {
        "title": f"Ticket {ticket.number}",
        "body": called.body,
        "url": f"/t/{ticket.status_token}",
    } in payloads
    assert "Room 3" in called.body
    claims = vapid_claims(push_requests(httpserver)[-1], KEYS.public)
    assert claims["sub"] == "mailto:queue@hospital.example"
    assert subscriptions() == 1

    moves.apply_move(ticket.id, "recall", actor=None)
    db.session.commit()

    [recalled] = [row for row in push_rows(ticket) if row.template_key == "recalled"]
    assert recalled.status == "sent", recalled.last_error
    assert browser.decrypt(push_requests(httpserver)[-1])["body"] == recalled.body


@pytest.mark.parametrize("status", [404, 410])
def test_it_deletes_a_subscription_the_push_service_says_is_gone(
    client: FlaskClient,
    department: Department,
    room: ServicePoint,
    browser: FakeBrowser,
    httpserver: HTTPServer,
    status: int,
) -> None:
    ticket = waiting_with_push(client, department, browser)
    httpserver.expect_request(PUSH_PATH, method="POST").respond_with_data("", status=status)

    call(room)

    [gone] = [row for row in push_rows(ticket) if row.template_key == "called"]
    assert gone.status == "failed"
    assert gone.attempts == 1  # not retried: trying again cannot help
    assert gone.last_error == (
        f"Push service answered {status}: the browser's subscription is gone"
    )
    assert gone.push_subscription_id is None
    assert subscriptions() == 0
    assert push_requests(httpserver) != []

    # The next message of the visit goes to no push service: nobody is subscribed any more.
    sent_before = len(push_requests(httpserver))
    moves.apply_move(ticket.id, "recall", actor=None)
    db.session.commit()
    assert len(push_requests(httpserver)) == sent_before
    assert [row.template_key for row in push_rows(ticket)].count("recalled") == 0


def test_it_keeps_the_subscription_when_the_push_service_is_only_down(
    client: FlaskClient,
    department: Department,
    room: ServicePoint,
    browser: FakeBrowser,
    httpserver: HTTPServer,
) -> None:
    ticket = waiting_with_push(client, department, browser)
    httpserver.expect_request(PUSH_PATH, method="POST").respond_with_data("", status=503)

    call(room)

    [called] = [row for row in push_rows(ticket) if row.template_key == "called"]
    assert called.status in ("pending", "failed")
    assert called.last_error == "Push service answered 503"
    assert called.push_subscription_id is not None
    assert subscriptions() == 1
