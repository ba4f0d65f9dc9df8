"""The session: idle timeout, sign-out on account changes, htmx and cookie flags.

Code under test: webapp/session_guard.py and webapp/auth/views.py.
"""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.conftest import sign_in
from webapp.auth.models import StaffSession
from webapp.auth.services import update_user
from webapp.database import utcnow
from webapp.extensions import db


def _signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def _set_last_activity(client: FlaskClient, seconds_ago: int) -> None:
    """Move the last activity of every session back: it is kept on the server, not in the cookie."""
    db.session.execute(
        update(StaffSession).values(last_activity_at=utcnow() - timedelta(seconds=seconds_ago))
    )
    db.session.commit()


def _session_cookie(response: Any) -> SimpleCookie:
    headers = [value for value in response.headers.getlist("Set-Cookie") if "session=" in value]
    assert headers, "no session cookie set"
    return SimpleCookie(headers[-1])


def _cookie_flags(response: Any) -> str:
    header = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    return header.lower()


# --------------------------------------------------------------------------- idle timeout


def test_it_signs_out_after_the_idle_limit(as_receptionist):
    _set_last_activity(as_receptionist, 30 * 60 + 1)

    response = as_receptionist.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert not _signed_in(as_receptionist)
    assert as_receptionist.get("/").status_code == 302


def test_it_explains_the_idle_sign_out(as_receptionist):
    _set_last_activity(as_receptionist, 31 * 60)

    response = as_receptionist.get("/", follow_redirects=True)

    assert "signed out after a period of inactivity" in response.get_data(as_text=True)


def test_it_keeps_the_session_when_active_before_the_limit(as_receptionist):
    _set_last_activity(as_receptionist, 30 * 60 - 5)

    response = as_receptionist.get("/")

    assert response.status_code == 200
    assert _signed_in(as_receptionist)


def test_it_restarts_the_idle_clock_on_every_request(as_receptionist):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        as_receptionist.get("/")
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        assert as_receptionist.get("/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        assert as_receptionist.get("/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=71), tick=False):
        response = as_receptionist.get("/")

    assert response.status_code == 302
    assert not _signed_in(as_receptionist)


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 5}])
def test_it_uses_the_configured_idle_limit(client, receptionist):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in(client, receptionist)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        response = client.get("/")

    assert response.status_code == 302
    assert not _signed_in(client)


def test_it_answers_an_htmx_request_after_the_idle_limit_with_hx_redirect(as_receptionist):
    _set_last_activity(as_receptionist, 60 * 60)

    response = as_receptionist.get("/", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert not _signed_in(as_receptionist)


def test_it_ignores_an_idle_limit_planted_in_the_cookie(as_receptionist):
    # The old design kept the last activity in the cookie; a client could refresh it itself.
    with as_receptionist.session_transaction() as session:
        session["last_activity"] = 2**40
    _set_last_activity(as_receptionist, 31 * 60)

    assert as_receptionist.get("/").status_code == 302


def test_it_answers_an_anonymous_htmx_request_with_401_and_hx_redirect(client):
    response = client.get("/", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/"
    assert "Location" not in response.headers


# --------------------------------------------------------------------------- account changes


def test_it_signs_out_a_user_who_was_deactivated(as_receptionist, receptionist, admin):
    update_user(receptionist, actor=admin, active=False)
    db.session.commit()

    response = as_receptionist.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_it_signs_out_a_user_whose_password_was_reset(as_receptionist, receptionist, admin):
    update_user(receptionist, actor=admin, password="a brand new password")
    db.session.commit()

    response = as_receptionist.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_it_keeps_a_user_signed_in_after_a_harmless_change(as_receptionist, receptionist, admin):
    update_user(receptionist, actor=admin, full_name="Rita Renamed")
    db.session.commit()

    response = as_receptionist.get("/")

    assert response.status_code == 200
    assert "Rita Renamed" in response.get_data(as_text=True)


def test_it_does_not_let_a_reactivated_user_back_in_with_an_old_session(
    as_receptionist, receptionist, admin
):
    update_user(receptionist, actor=admin, active=False)
    db.session.commit()
    update_user(receptionist, actor=admin, active=True)
    db.session.commit()

    assert as_receptionist.get("/").status_code == 302


# --------------------------------------------------------------------------- cookie


def test_it_sets_an_httponly_samesite_lax_session_cookie(client, receptionist):
    response = client.post("/login", data={"username": "rita", "password": "correct horse battery"})

    flags = _cookie_flags(response)
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "; secure" not in flags


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True}])
def test_it_marks_the_session_cookie_secure_when_configured(client, receptionist):
    response = client.post(
        "/login",
        data={"username": "rita", "password": "correct horse battery"},
        base_url="https://localhost",
    )

    cookie = _session_cookie(response)["session"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"


def test_it_does_not_keep_the_session_beyond_the_idle_limit(client, receptionist):
    response = client.post("/login", data={"username": "rita", "password": "correct horse battery"})

    cookie = _session_cookie(response)["session"]
    assert cookie["expires"], "a signed-in session should expire with the idle limit"
    assert not [
        value
        for value in response.headers.getlist("Set-Cookie")
        if value.startswith("remember_token=")
    ]
