"""Who may open the messages page and resend: admins only, for every door (GET, POST, htmx)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import sign_in
from tests.factories import NotificationFactory, PatientFactory
from webapp.auth.models import User
from webapp.extensions import db
from webapp.notifications.models import Notification

PAGE = "/admin/notifications"
RESEND = "/admin/notifications/resend"
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/admin/notifications"}


@pytest.fixture
def failure(app: Flask) -> Notification:
    patient = PatientFactory(sms_opt_in=True, phone="+447700900123")
    row = NotificationFactory(patient=patient, status="failed", attempts=5, last_error="Refused.")
    db.session.commit()
    return row


def status_of(row: Notification) -> str:
    db.session.expire_all()
    found = db.session.get(Notification, row.id)
    assert found is not None
    return found.status


def doors(row: Notification) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request arguments) of every way in."""
    resend = {"data": {"resend": str(row.id)}}
    return [
        ("GET", PAGE, {}),
        ("GET", f"{PAGE}?status=failed&page=2", {}),
        ("POST", RESEND, resend),
        ("POST", RESEND, {**resend, "headers": HTMX}),
        ("POST", RESEND, {"data": {"resend": "failed"}, "headers": HTMX}),
    ]


def test_it_sends_an_anonymous_visitor_to_sign_in(
    client: FlaskClient, failure: Notification
) -> None:
    for method, path, arguments in doors(failure):
        response = client.open(path, method=method, **arguments)
        if "headers" in arguments:  # htmx: the whole tab goes to the sign-in page
            assert response.status_code == 401, (method, path)
            assert response.headers["HX-Redirect"].startswith("/login?next=")
        else:
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"].startswith("/login?next=")
    assert status_of(failure) == "failed"


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
def test_it_refuses_other_staff(
    client: FlaskClient,
    failure: Notification,
    role: str,
    request: pytest.FixtureRequest,
) -> None:
    user: User = request.getfixturevalue(role)
    sign_in(client, user)

    for method, path, arguments in doors(failure):
        response = client.open(path, method=method, **arguments)
        assert response.status_code == 403, (role, method, path)
    assert status_of(failure) == "failed"


def test_it_lets_an_admin_in_by_every_door(
    client: FlaskClient, admin: User, failure: Notification
) -> None:
    sign_in(client, admin)

    expected = [200, 200, 302, 200, 200]
    for (method, path, arguments), status in zip(doors(failure), expected, strict=True):
        response = client.open(path, method=method, **arguments)
        assert response.status_code == status, (method, path, response.status_code)
    assert status_of(failure) == "sent"


def test_the_resend_address_takes_no_get(client: FlaskClient, admin: User) -> None:
    sign_in(client, admin)

    assert client.get(RESEND).status_code == 405
