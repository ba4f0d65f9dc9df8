"""Server-side staff sessions: sign-out ends every copy of a cookie; polls are not activity.

Code under test: webapp/auth/sessions.py, webapp/session_guard.py, webapp/auth/views.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, DepartmentFactory, UserFactory
from webapp.auth.models import StaffSession
from webapp.auth.permissions import role_required
from webapp.auth.services import update_user
from webapp.database import utcnow
from webapp.extensions import db
from webapp.session_guard import POLLED_ATTRIBUTE, SESSION_ID_KEY, polled

HTMX = {"HX-Request": "true"}


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def _replay(app: Flask, cookie: str) -> FlaskClient:
    """A fresh browser that carries a copy of someone's session cookie."""
    copy = app.test_client()
    copy.set_cookie("session", cookie)
    return copy


def _sessions() -> list[StaffSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(StaffSession).order_by(StaffSession.id)))


def _last_activity() -> datetime:
    (staff_session,) = _sessions()
    return staff_session.last_activity_at


def _move_last_activity_back(minutes: float) -> None:
    db.session.execute(
        update(StaffSession).values(last_activity_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def _add_polled_view(app: Flask) -> None:
    """A stand-in for a screen's poll, under role_required like the real ones."""

    @polled
    def poll() -> tuple[str, int]:
        return "", 204

    app.add_url_rule("/test-poll", "test_poll", role_required("receptionist")(poll))


# ----------------------------------------------------------------------- the session row


def test_it_records_a_session_per_sign_in_storing_only_a_hash_of_its_id(client, receptionist):
    sign_in(client, receptionist)

    with client.session_transaction() as cookie_session:
        token = cookie_session[SESSION_ID_KEY]
    (staff_session,) = _sessions()
    assert staff_session.user_id == receptionist.id
    assert staff_session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in staff_session.token_hash
    assert staff_session.ip_address == "127.0.0.1"
    assert staff_session.revoked_at is None
    assert staff_session.created_at == staff_session.last_activity_at


def test_it_gives_each_sign_in_its_own_session(app, receptionist):
    first, second = app.test_client(), app.test_client()
    sign_in(first, receptionist)
    sign_in(second, receptionist)

    first.post("/logout")

    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 200
    assert [s.revoked_at is None for s in _sessions()] == [False, True]


def test_it_clears_away_a_users_ended_sessions_at_their_next_sign_in(client, receptionist):
    sign_in(client, receptionist)
    client.post("/logout")
    assert len(_sessions()) == 1

    sign_in(client, receptionist)

    (staff_session,) = _sessions()
    assert staff_session.revoked_at is None


# ----------------------------------------------------------------------- sign-out and replay


def test_it_refuses_a_copy_of_the_cookie_after_sign_out(app, as_receptionist):
    stolen = _cookie(as_receptionist)
    assert _replay(app, stolen).get("/").status_code == 200

    as_receptionist.post("/logout")

    replayed = _replay(app, stolen).get("/queue")
    assert replayed.status_code == 302
    assert replayed.headers["Location"].startswith("/login")
    htmx_replay = _replay(app, stolen).get("/queue/board-partial", headers=HTMX)
    assert htmx_replay.status_code == 401
    assert htmx_replay.headers["HX-Redirect"].startswith("/login")
    (staff_session,) = _sessions()
    assert staff_session.revoked_at is not None


def test_it_refuses_a_copy_of_the_cookie_after_a_password_change(
    app, as_receptionist, receptionist, admin
):
    stolen = _cookie(as_receptionist)
    update_user(receptionist, actor=admin, password="a brand new password")
    db.session.commit()

    assert _replay(app, stolen).get("/").status_code == 302


def test_it_refuses_a_cookie_whose_session_row_is_gone(app, as_receptionist):
    stolen = _cookie(as_receptionist)
    db.session.execute(StaffSession.__table__.delete())
    db.session.commit()

    assert _replay(app, stolen).get("/").status_code == 302


def test_it_refuses_a_cookie_without_a_server_side_session(client, receptionist):
    # A cookie signed with the right key but naming no session (as every cookie did before
    # server-side sessions) is anonymous.
    with client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = f"{receptionist.id}:{receptionist.auth_version}"
        cookie_session["_fresh"] = True

    assert client.get("/").status_code == 302


def test_it_refuses_another_users_session_id(app, client, receptionist, clinician):
    sign_in(client, clinician)
    with client.session_transaction() as cookie_session:
        clinician_token = cookie_session[SESSION_ID_KEY]
    forged = app.test_client()
    with forged.session_transaction() as cookie_session:
        cookie_session["_user_id"] = f"{receptionist.id}:{receptionist.auth_version}"
        cookie_session[SESSION_ID_KEY] = clinician_token

    assert forged.get("/").status_code == 302


# ----------------------------------------------------------------------- activity and polls


def test_it_writes_the_last_activity_at_most_once_a_minute(client, receptionist):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in(client, receptionist)
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        assert client.get("/").status_code == 200
    assert _last_activity() == start

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert client.get("/").status_code == 200

    assert _last_activity() == start + timedelta(seconds=61)


def test_it_does_not_count_a_polled_request_as_activity(app, client, receptionist):
    _add_polled_view(app)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in(client, receptionist)
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        assert client.get("/test-poll", headers=HTMX).status_code == 204

    assert _last_activity() == start


def test_it_signs_out_a_screen_left_polling_and_sends_the_tab_to_sign_in(app, client, receptionist):
    _add_polled_view(app)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in(client, receptionist)
    for seconds in range(4, 30 * 60, 240):  # a poll every 4 minutes, nobody at the desk
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            assert client.get("/test-poll", headers=HTMX).status_code == 204

    with time_machine.travel(start + timedelta(minutes=30, seconds=5), tick=False):
        response = client.get(
            "/test-poll",
            headers={**HTMX, "HX-Current-URL": "http://localhost/queue?department_id=2"},
        )

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/queue?department_id%3D2"
    (staff_session,) = _sessions()
    assert staff_session.revoked_at is not None  # kept although the answer is a 401
    assert client.get("/").status_code == 302


def test_it_does_not_count_the_boards_poll_as_activity(as_receptionist):
    """Needs @polled on GET /queue/board-partial (webapp/queue/views/board.py)."""
    DepartmentFactory()
    db.session.commit()
    _move_last_activity_back(29)
    before = _last_activity()

    response = as_receptionist.get("/queue/board-partial", headers=HTMX)

    assert response.status_code == 200
    assert _last_activity() == before
    _move_last_activity_back(31)
    expired = as_receptionist.get(
        "/queue/board-partial", headers={**HTMX, "HX-Current-URL": "http://localhost/queue"}
    )
    assert expired.status_code == 401
    assert expired.headers["HX-Redirect"] == "/login?next=/queue"


def test_it_counts_a_person_s_request_as_activity_even_from_htmx(as_receptionist):
    _move_last_activity_back(29)
    before = _last_activity()

    assert as_receptionist.get("/queue/patient-search?q=x", headers=HTMX).status_code == 200

    assert _last_activity() > before


def test_it_finds_the_polled_mark_under_wrapping_decorators():
    def view() -> str:
        return ""

    wrapped: Callable[[], str] = role_required("admin")(polled(view))

    assert getattr(wrapped, POLLED_ATTRIBUTE) is True
    assert not hasattr(role_required("admin")(lambda: ""), POLLED_ATTRIBUTE)


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 5}])
def test_it_measures_the_idle_limit_from_the_server_side_row(client, receptionist):
    sign_in(client, receptionist)
    _move_last_activity_back(4)
    assert client.get("/").status_code == 200

    _move_last_activity_back(6)

    assert client.get("/").status_code == 302


# ----------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_it_revokes_the_session_and_times_out_idle_polls_on_postgres(pg_app):
    # pg_app, like app, gives each request an empty g, so a replayed cookie proves something
    UserFactory(username="pg-rita", role="receptionist")
    db.session.commit()
    browser = pg_app.test_client()
    signed_in = browser.post("/login", data={"username": "pg-rita", "password": DEFAULT_PASSWORD})
    assert signed_in.status_code == 302
    stolen = _cookie(browser)
    assert _replay(pg_app, stolen).get("/").status_code == 200

    browser.post("/logout")

    assert _replay(pg_app, stolen).get("/").status_code == 302
    db.session.remove()
    (ended,) = _sessions()
    assert ended.revoked_at is not None

    second = pg_app.test_client()
    second.post("/login", data={"username": "pg-rita", "password": DEFAULT_PASSWORD})
    _move_last_activity_back(31)
    response = second.get("/queue/board-partial", headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    db.session.remove()
    assert all(s.revoked_at is not None for s in _sessions())
