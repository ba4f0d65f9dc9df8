"""The push subscriptions of a ticket chain (webapp/notifications/push.py): who may subscribe,
what a subscription must look like, one row per browser, and at most five per chain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.factories import DepartmentFactory, ServicePointFactory
from tests.notifications.push_service import FakeBrowser, vapid_pair
from tests.public_screens import check_in_patient, department  # noqa: F401  (fixture)
from webapp.departments.models import Department
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.notifications.models import PushSubscription
from webapp.notifications.push import (
    MAX_SUBSCRIPTIONS_PER_CHAIN,
    push_enabled,
    push_problem,
    subscribe_push,
    subscriptions_for,
    unsubscribe_push,
    vapid_public_key,
)
from webapp.queue import moves as queue
from webapp.queue.models import Ticket

ENDPOINT = "https://fcm.googleapis.com/fcm/send/device-0001"


def browser(number: int = 1) -> FakeBrowser:
    return FakeBrowser(endpoint=f"https://fcm.googleapis.com/fcm/send/device-{number:04d}")


def _rows() -> int:
    return db.session.scalar(select(func.count()).select_from(PushSubscription)) or 0


@pytest.fixture
def ticket(department: Department) -> Ticket:  # noqa: F811  (the imported fixture)
    return check_in_patient(department)


# ------------------------------------------------------------------ configured or not


def test_it_is_enabled_only_with_both_vapid_keys() -> None:
    keys = vapid_pair()

    assert push_enabled(keys.config()) is True
    assert vapid_public_key(keys.config()) == keys.public
    assert push_problem(keys.config()) is None
    for config in (
        {},
        {"VAPID_PUBLIC_KEY": keys.public, "VAPID_PRIVATE_KEY": None},
        {"VAPID_PUBLIC_KEY": None, "VAPID_PRIVATE_KEY": keys.private},
        {"VAPID_PUBLIC_KEY": "", "VAPID_PRIVATE_KEY": ""},
    ):
        assert push_enabled(config) is False
        assert vapid_public_key(config) is None
        assert push_problem(config) == "Web Push is not configured (VAPID keys)"


def test_it_names_a_public_key_that_is_not_the_private_keys() -> None:
    keys, other = vapid_pair(), vapid_pair()

    assert push_problem(keys.config(VAPID_PUBLIC_KEY=other.public)) == (
        "VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY"
    )


# ------------------------------------------------------------------ subscribing


def test_it_keeps_the_subscription_for_the_ticket_chain(ticket: Ticket) -> None:
    phone = FakeBrowser(endpoint=ENDPOINT)

    row = subscribe_push(ticket.status_token, phone.subscription())
    db.session.commit()

    assert row.id is not None
    assert row.status_token == ticket.status_token
    assert row.as_webpush_info() == phone.subscription()
    assert subscriptions_for(ticket.status_token) == [row]


def test_it_stores_padded_keys_without_their_padding(ticket: Ticket) -> None:
    phone = browser()
    padded = {
        "endpoint": phone.endpoint,
        "keys": {"p256dh": phone.p256dh + "=", "auth": phone.auth + "=="},
    }

    row = subscribe_push(ticket.status_token, padded)

    assert (row.p256dh, row.auth) == (phone.p256dh, phone.auth)


def test_it_updates_the_keys_when_the_same_browser_subscribes_again(ticket: Ticket) -> None:
    first = subscribe_push(ticket.status_token, browser().subscription())
    db.session.commit()
    renewed = FakeBrowser(endpoint=browser().endpoint)  # same endpoint, new keys

    again = subscribe_push(ticket.status_token, renewed.subscription())
    db.session.commit()

    assert again.id == first.id
    assert _rows() == 1
    assert (again.p256dh, again.auth) == (renewed.p256dh, renewed.auth)


def test_it_keeps_one_browser_for_each_of_two_tickets(department: Department) -> None:  # noqa: F811
    phone = browser()
    mine, my_childs = check_in_patient(department), check_in_patient(department)

    subscribe_push(mine.status_token, phone.subscription())
    subscribe_push(my_childs.status_token, phone.subscription())
    db.session.commit()

    assert _rows() == 2
    assert [row.endpoint for row in subscriptions_for(my_childs.status_token)] == [phone.endpoint]


def test_it_allows_at_most_five_browsers_per_chain(ticket: Ticket) -> None:
    for number in range(1, MAX_SUBSCRIPTIONS_PER_CHAIN + 1):
        subscribe_push(ticket.status_token, browser(number).subscription())
    db.session.commit()

    with pytest.raises(Conflict, match="already on for 5 phones"):
        subscribe_push(ticket.status_token, browser(99).subscription())
    # One of the five subscribing again is no sixth.
    subscribe_push(ticket.status_token, FakeBrowser(endpoint=browser(3).endpoint).subscription())

    assert _rows() == MAX_SUBSCRIPTIONS_PER_CHAIN


def test_it_follows_the_chain_through_a_transfer(department: Department) -> None:  # noqa: F811
    radiology = DepartmentFactory(code="RAD", name="Radiology")
    room = ServicePointFactory(department=department, name="Room 1")
    db.session.commit()
    ticket = check_in_patient(department)
    queue.call_next(service_point_id=room.id, actor=None)
    queue.override_ticket(ticket.id, action="transfer", department_id=radiology.id, actor=None)
    db.session.commit()
    assert ticket.status == "transferred"

    row = subscribe_push(ticket.status_token, browser().subscription())

    assert row.status_token == ticket.status_token


@pytest.mark.parametrize(
    "steps", [["cancelled"], ["no_show"], ["in_service", "completed"]], ids=lambda s: s[-1]
)
def test_it_refuses_a_ticket_that_has_ended(
    department: Department,  # noqa: F811
    steps: list[str],
) -> None:
    room = ServicePointFactory(department=department, name="Room 1")
    ticket = check_in_patient(department)
    if steps != ["cancelled"]:
        queue.call_next(service_point_id=room.id, actor=None)
    for status in steps:
        queue.transition_ticket(ticket.id, status=status, actor=None)
    db.session.commit()

    with pytest.raises(Conflict, match="This ticket has ended"):
        subscribe_push(ticket.status_token, browser().subscription())

    assert _rows() == 0


@pytest.mark.parametrize("token", ["no-such-token-0123456789", "", "x" * 65])
def test_it_refuses_a_token_that_names_no_ticket(app: Flask, token: str) -> None:
    with pytest.raises(NotFound):
        subscribe_push(token, browser().subscription())
    with pytest.raises(NotFound):
        unsubscribe_push(token, browser().endpoint)


def _errors(subscription: Any, token: str) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        subscribe_push(token, subscription)
    return raised.value.errors


def test_it_names_each_problem_of_a_subscription_that_is_not_one(ticket: Ticket) -> None:
    phone = browser()
    token = ticket.status_token

    assert set(_errors(None, token)) == {"subscription"}
    assert set(_errors(["endpoint"], token)) == {"subscription"}
    assert set(_errors({}, token)) == {"endpoint", "keys"}
    assert set(
        _errors({**phone.subscription(), "endpoint": "http://push.example.org/x"}, token)
    ) == {"endpoint"}
    too_long = "https://fcm.googleapis.com/" + "a" * 1000
    assert (
        "at most 1024" in _errors({**phone.subscription(), "endpoint": too_long}, token)["endpoint"]
    )
    assert set(_errors({**phone.subscription(), "keys": {"p256dh": "", "auth": 5}}, token)) == {
        "keys.p256dh",
        "keys.auth",
    }
    assert _rows() == 0


def test_it_takes_plain_http_to_this_machine_only_outside_production(
    app: Flask, ticket: Ticket
) -> None:
    local = FakeBrowser(endpoint="http://127.0.0.1:9/push/v1/abc")
    assert subscribe_push(ticket.status_token, local.subscription()).endpoint == local.endpoint

    app.config["APP_ENV"] = "production"
    other = FakeBrowser(endpoint="http://127.0.0.1:9/push/v1/def")

    assert "https" in _errors(other.subscription(), ticket.status_token)["endpoint"]


def test_it_takes_only_the_push_services_the_hospital_allows(app: Flask, ticket: Ticket) -> None:
    # The worker posts to the endpoint a browser handed in: an address inside the hospital
    # must not pass for a push service.
    for endpoint in (
        "https://lab-results.hospital.internal/api/delete",
        "https://10.0.0.5/push",
        "https://fcm.googleapis.com.evil.example/x",
    ):
        forged = FakeBrowser(endpoint=endpoint)
        assert (
            "WEBPUSH_ALLOWED_HOSTS"
            in _errors(forged.subscription(), ticket.status_token)["endpoint"]
        )
    apple = FakeBrowser(endpoint="https://web.push.apple.com/QGx-device")
    assert subscribe_push(ticket.status_token, apple.subscription()).endpoint == apple.endpoint

    app.config["WEBPUSH_ALLOWED_HOSTS"] = ("push.example.org",)
    own = FakeBrowser(endpoint="https://push.example.org/v1/device")
    assert subscribe_push(ticket.status_token, own.subscription()).endpoint == own.endpoint


# ------------------------------------------------------------------ unsubscribing


def test_it_forgets_a_browser_that_turns_notifications_off(ticket: Ticket) -> None:
    kept, dropped = browser(1), browser(2)
    subscribe_push(ticket.status_token, kept.subscription())
    subscribe_push(ticket.status_token, dropped.subscription())
    db.session.commit()

    assert unsubscribe_push(ticket.status_token, dropped.endpoint) is True
    assert unsubscribe_push(ticket.status_token, dropped.endpoint) is False
    db.session.commit()

    assert [row.endpoint for row in subscriptions_for(ticket.status_token)] == [kept.endpoint]


def test_it_turns_notifications_off_after_the_ticket_ended(ticket: Ticket) -> None:
    subscribe_push(ticket.status_token, browser().subscription())
    queue.transition_ticket(ticket.id, status="cancelled", actor=None)
    db.session.commit()

    assert unsubscribe_push(ticket.status_token, browser().endpoint) is True


def test_it_forgets_only_its_own_chains_subscription(department: Department) -> None:  # noqa: F811
    phone = browser()
    mine, other = check_in_patient(department), check_in_patient(department)
    subscribe_push(mine.status_token, phone.subscription())
    subscribe_push(other.status_token, phone.subscription())

    unsubscribe_push(mine.status_token, phone.endpoint)

    assert subscriptions_for(mine.status_token) == []
    assert len(subscriptions_for(other.status_token)) == 1


@pytest.mark.parametrize("endpoint", [None, "", 42])
def test_it_wants_the_endpoint_to_turn_off(ticket: Ticket, endpoint: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        unsubscribe_push(ticket.status_token, endpoint)

    assert set(raised.value.errors) == {"endpoint"}


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_ticket(pg_app: Flask) -> Iterator[Ticket]:
    gm = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    yield check_in_patient(gm)


@pytest.mark.postgres
def test_it_keeps_one_row_per_browser_and_five_per_chain_on_postgresql(
    pg_ticket: Ticket,
) -> None:
    token = pg_ticket.status_token
    for number in range(1, MAX_SUBSCRIPTIONS_PER_CHAIN + 1):
        subscribe_push(token, browser(number).subscription())
        db.session.commit()
    subscribe_push(token, FakeBrowser(endpoint=browser(1).endpoint).subscription())
    db.session.commit()

    with pytest.raises(Conflict):
        subscribe_push(token, browser(6).subscription())
    db.session.rollback()

    assert len(subscriptions_for(token)) == MAX_SUBSCRIPTIONS_PER_CHAIN
    assert unsubscribe_push(token, browser(2).endpoint) is True
    db.session.commit()
    assert len(subscriptions_for(token)) == MAX_SUBSCRIPTIONS_PER_CHAIN - 1
