"""Web Push on the patient's ticket page: the "Notify me on this phone" region and the public
``/t/<token>/push`` endpoint that takes (POST) and gives back (DELETE) a browser's subscription.

The ticket page is public, so is the endpoint: anyone with the token, signed in or not.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import sign_in
from tests.notifications.push_service import FakeBrowser, VapidPair, vapid_pair
from tests.public_screens import LAST, PHONE, assert_no_phi, check_in_patient
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.notifications.models import PushSubscription
from webapp.notifications.push import subscriptions_for
from webapp.queue import moves as queue
from webapp.queue.models import Ticket

KEYS: VapidPair = vapid_pair()


@pytest.fixture
def app_config() -> dict[str, Any]:
    return KEYS.config()


def push_url(ticket: Ticket | str) -> str:
    token = ticket if isinstance(ticket, str) else ticket.status_token
    return f"/t/{token}/push"


def phone(number: int = 1) -> FakeBrowser:
    return FakeBrowser(endpoint=f"https://fcm.googleapis.com/fcm/send/device-{number:04d}")


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(PushSubscription)) or 0


@pytest.fixture
def ticket(department: Department) -> Ticket:
    return check_in_patient(department, last_name=LAST, phone=PHONE)


# ------------------------------------------------------------------ the page


def test_it_offers_notifications_on_an_active_ticket(client: FlaskClient, ticket: Ticket) -> None:
    page = client.get(f"/t/{ticket.status_token}").get_data(as_text=True)

    region = re.search(r'<section id="ticket-push"[^>]*>', page)
    assert region, "no push region on the page"
    assert " hidden" in region.group(0)  # push.js reveals it where the browser can push
    assert f'data-push-key="{KEYS.public}"' in region.group(0)
    assert f'data-push-url="{push_url(ticket)}"' in region.group(0)
    assert 'data-worker-url="/static/js/push-worker.js"' in region.group(0)
    assert "Notify me on this phone" in page and "Turn off" in page
    assert 'src="/static/js/push.js"' in page
    assert "<script>" not in page and "style=" not in page
    assert_no_phi(page)


@pytest.mark.parametrize("app_config", [{}], indirect=False)
def test_it_offers_nothing_without_vapid_keys(client: FlaskClient, ticket: Ticket) -> None:
    page = client.get(f"/t/{ticket.status_token}").get_data(as_text=True)

    assert "ticket-push" not in page and "push.js" not in page

    response = client.post(push_url(ticket), json=phone().subscription())
    assert response.status_code == 404
    assert response.get_json()["message"] == "This hospital does not send notifications to phones."
    assert stored() == 0


def test_it_offers_nothing_once_the_ticket_has_ended(client: FlaskClient, ticket: Ticket) -> None:
    queue.transition_ticket(ticket.id, status="cancelled", actor=None)
    db.session.commit()

    page = client.get(f"/t/{ticket.status_token}").get_data(as_text=True)

    assert "ticket-push" not in page and "push.js" not in page


def test_its_scripts_are_served(client: FlaskClient) -> None:
    for name in ("push.js", "push-worker.js"):
        response = client.get(f"/static/js/{name}")
        assert response.status_code == 200
        assert response.mimetype in ("text/javascript", "application/javascript")
        response.close()


# ------------------------------------------------------------------ turning it on


def test_it_keeps_the_subscription_of_an_anonymous_patient(
    client: FlaskClient, ticket: Ticket
) -> None:
    browser = phone()

    response = client.post(push_url(ticket), json=browser.subscription())

    assert response.status_code == 200
    assert response.get_json() == {
        "subscribed": True,
        "message": "Notifications are on for this phone.",
    }
    assert response.headers["Cache-Control"] == "no-store"
    db.session.expire_all()
    (row,) = subscriptions_for(ticket.status_token)
    assert row.as_webpush_info() == browser.subscription()


@pytest.mark.parametrize("persona", ["receptionist", "clinician", "admin"])
def test_it_is_the_same_for_signed_in_staff(
    client: FlaskClient, ticket: Ticket, persona: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)
    sign_in(client, user)

    response = client.post(push_url(ticket), json=phone().subscription())

    assert response.status_code == 200
    assert stored() == 1


def test_it_keeps_one_row_when_the_browser_sends_it_twice(
    client: FlaskClient, ticket: Ticket
) -> None:
    client.post(push_url(ticket), json=phone().subscription())
    renewed = FakeBrowser(endpoint=phone().endpoint)

    response = client.post(push_url(ticket), json=renewed.subscription())

    assert response.status_code == 200
    db.session.expire_all()
    (row,) = subscriptions_for(ticket.status_token)
    assert row.p256dh == renewed.p256dh


@pytest.mark.parametrize("token", ["no-such-ticket-0123456789abcdef", "short", "a.b" * 10])
def test_it_answers_404_for_a_token_that_names_no_ticket(client: FlaskClient, token: str) -> None:
    response = client.post(push_url(token), json=phone().subscription())

    assert response.status_code == 404
    assert response.get_json() == {"message": "No such ticket.", "errors": {}}


def test_it_refuses_a_ticket_that_has_ended(client: FlaskClient, ticket: Ticket) -> None:
    queue.transition_ticket(ticket.id, status="cancelled", actor=None)
    db.session.commit()

    response = client.post(push_url(ticket), json=phone().subscription())

    assert response.status_code == 409
    assert "This ticket has ended" in response.get_json()["message"]
    assert stored() == 0


def test_it_refuses_a_sixth_phone(client: FlaskClient, ticket: Ticket) -> None:
    for number in range(1, 6):
        assert client.post(push_url(ticket), json=phone(number).subscription()).status_code == 200

    response = client.post(push_url(ticket), json=phone(6).subscription())

    assert response.status_code == 409
    assert "already on for 5 phones" in response.get_json()["message"]
    assert stored() == 5


def test_it_wants_json(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(push_url(ticket), data={"endpoint": phone().endpoint})

    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "Send the subscription as JSON (Content-Type: application/json)."
    )


def test_it_says_when_the_json_is_broken(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(
        push_url(ticket), data='{"endpoint": "https://', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.get_json() == {"message": "The request body is not valid JSON.", "errors": {}}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([], {"subscription"}),
        ("endpoint", {"subscription"}),
        ({}, {"endpoint", "keys"}),
        (
            {"endpoint": "http://push.example.org/x", "keys": {}},
            {"endpoint", "keys.p256dh", "keys.auth"},
        ),
    ],
)
def test_it_names_what_is_wrong_with_a_subscription(
    client: FlaskClient, ticket: Ticket, body: Any, fields: set[str]
) -> None:
    response = client.post(push_url(ticket), json=body)

    assert response.status_code == 422
    answer = response.get_json()
    assert set(answer["errors"]) == fields
    assert all(message.strip() for message in answer["errors"].values())
    assert stored() == 0


def test_it_needs_no_csrf_token(app: Flask, ticket: Ticket) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()

    assert client.post(push_url(ticket), json=phone().subscription()).status_code == 200
    # Everything else still wants one.
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 400


# ------------------------------------------------------------------ turning it off


def test_it_forgets_a_phone_that_turns_notifications_off(
    client: FlaskClient, ticket: Ticket
) -> None:
    client.post(push_url(ticket), json=phone(1).subscription())
    client.post(push_url(ticket), json=phone(2).subscription())

    response = client.delete(push_url(ticket), json={"endpoint": phone(1).endpoint})

    assert response.status_code == 200
    assert response.get_json() == {
        "subscribed": False,
        "message": "Notifications are off for this phone.",
    }
    db.session.expire_all()
    assert [row.endpoint for row in subscriptions_for(ticket.status_token)] == [phone(2).endpoint]
    # Again: nothing left to forget, still fine.
    assert client.delete(push_url(ticket), json={"endpoint": phone(1).endpoint}).status_code == 200


def test_it_turns_off_after_the_ticket_ended(client: FlaskClient, ticket: Ticket) -> None:
    client.post(push_url(ticket), json=phone().subscription())
    queue.transition_ticket(ticket.id, status="cancelled", actor=None)
    db.session.commit()

    response = client.delete(push_url(ticket), json={"endpoint": phone().endpoint})

    assert response.status_code == 200
    assert stored() == 0


def test_it_wants_the_endpoint_to_turn_off(client: FlaskClient, ticket: Ticket) -> None:
    response = client.delete(push_url(ticket), json={})

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"endpoint"}


def test_it_answers_404_when_turning_off_for_no_ticket(client: FlaskClient) -> None:
    response = client.delete(
        push_url("no-such-ticket-0123456789abcdef"), json={"endpoint": phone().endpoint}
    )

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH"])
def test_it_takes_only_post_and_delete(client: FlaskClient, ticket: Ticket, method: str) -> None:
    assert client.open(push_url(ticket), method=method).status_code == 405


# ------------------------------------------------------------------ rate limits


def test_it_limits_each_ticket_to_ten_changes_a_minute(
    client: FlaskClient, department: Department, ticket: Ticket
) -> None:
    for _ in range(10):
        assert client.post(push_url(ticket), json=phone().subscription()).status_code == 200

    assert client.post(push_url(ticket), json=phone().subscription()).status_code == 429
    assert client.delete(push_url(ticket), json={"endpoint": phone().endpoint}).status_code == 429
    # Another patient in the same waiting room (same address) is not held up.
    other = check_in_patient(department)
    assert client.post(push_url(other), json=phone().subscription()).status_code == 200


def test_it_limits_one_address_to_sixty_requests_a_minute(client: FlaskClient) -> None:
    guesses = [f"guessed-token-{number:04d}-abcdefgh" for number in range(61)]

    answers = [client.post(push_url(token), json={}).status_code for token in guesses]

    assert answers[:60] == [404] * 60
    assert answers[60] == 429
