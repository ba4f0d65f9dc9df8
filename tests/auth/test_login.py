"""Sign-in and sign-out (webapp/auth/views.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, UserFactory
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.extensions import db

WRONG_CREDENTIALS = "Wrong username or password, or the account is deactivated."


def _post_login(client: FlaskClient, username: str, password: str, next_url: str | None = None):
    path = "/login" if next_url is None else f"/login?next={next_url}"
    return client.post(path, data={"username": username, "password": password})


def _signed_in_user_id(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def _audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_it_shows_the_sign_in_form(client):
    response = client.get("/login")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'name="csrf_token"' in html


def test_it_keeps_next_in_the_form_action(client):
    html = client.get("/login?next=/admin/users").get_data(as_text=True)

    assert 'action="/login?next=/admin/users"' in html


def test_it_asks_for_both_fields(client, receptionist):
    response = client.post("/login", data={"username": "", "password": ""})

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter your username." in html
    assert "Enter your password." in html
    assert _signed_in_user_id(client) is None


def test_it_redirects_to_the_dashboard_after_a_good_sign_in(client, receptionist):
    response = _post_login(client, "rita", DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert _signed_in_user_id(client) == f"{receptionist.id}:{receptionist.auth_version}"


def test_it_follows_a_safe_next_after_sign_in(client, receptionist):
    response = client.post(
        "/login?next=/admin/users%3Fpage%3D2",
        data={"username": "rita", "password": DEFAULT_PASSWORD},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users?page=2"


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/login",
        "///evil.example",
        "/\\evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
        "/%09/evil.example",
    ],
)
def test_it_never_redirects_off_site_after_sign_in(client, receptionist, next_url):
    response = _post_login(client, "rita", DEFAULT_PASSWORD, next_url=next_url)

    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme
    assert not parts.netloc
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "evil.example" not in parts.netloc


def test_it_refuses_a_wrong_password_and_an_unknown_user_alike(client, receptionist):
    wrong_password = _post_login(client, "rita", "not the password at all")
    unknown_user = _post_login(client, "nobody-here", "not the password at all")

    assert wrong_password.status_code == 200
    assert unknown_user.status_code == 200
    assert WRONG_CREDENTIALS in wrong_password.get_data(as_text=True)
    assert WRONG_CREDENTIALS in unknown_user.get_data(as_text=True)
    assert _signed_in_user_id(client) is None
    assert client.get("/").status_code == 302


def test_it_does_not_sign_in_a_deactivated_user(client):
    UserFactory(username="gone", active=False)
    db.session.commit()

    response = _post_login(client, "gone", DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert WRONG_CREDENTIALS in response.get_data(as_text=True)
    assert _signed_in_user_id(client) is None


def test_it_treats_the_username_case_insensitively(client):
    user = UserFactory(username="AKhan")
    db.session.commit()

    response = _post_login(client, "akhan", DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert _signed_in_user_id(client) == f"{user.id}:{user.auth_version}"


def test_it_ignores_spaces_around_the_username(client, receptionist):
    response = _post_login(client, "  RITA ", DEFAULT_PASSWORD)

    assert response.status_code == 302


def test_it_records_the_last_sign_in_time(client, receptionist):
    assert receptionist.last_login_at is None

    sign_in(client, receptionist)

    user = db.session.get(User, receptionist.id)
    db.session.refresh(user)
    assert user.last_login_at is not None
    assert user.last_login_at.tzinfo is not None


def test_it_does_not_record_a_sign_in_time_for_a_failed_attempt(client, receptionist):
    _post_login(client, "rita", "not the password at all")

    db.session.refresh(receptionist)
    assert receptionist.last_login_at is None


def test_it_audits_a_sign_in(client, receptionist):
    sign_in(client, receptionist)

    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.login"))
    assert entry is not None
    assert entry.user_id == receptionist.id
    assert entry.ip_address == "127.0.0.1"


def test_it_audits_a_failed_sign_in_with_the_username_tried(client, receptionist):
    _post_login(client, "rita", "not the password at all")

    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.login_failed"))
    assert entry is not None
    assert entry.user_id is None
    assert entry.details == {"username": "rita"}
    assert "auth.login" not in _audit_actions()


def test_it_audits_a_sign_out(as_receptionist, receptionist):
    as_receptionist.post("/logout")

    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.logout"))
    assert entry is not None
    assert entry.user_id == receptionist.id


def test_it_signs_out_on_post(as_receptionist):
    response = as_receptionist.post("/logout")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert _signed_in_user_id(as_receptionist) is None
    assert as_receptionist.get("/").status_code == 302


def test_it_sends_an_anonymous_sign_out_to_the_sign_in_page(client):
    response = client.post("/logout")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_it_refuses_to_sign_out_on_get(as_receptionist):
    response = as_receptionist.get("/logout")

    assert response.status_code == 405
    assert _signed_in_user_id(as_receptionist) is not None
    assert as_receptionist.get("/").status_code == 200


def test_it_sends_a_signed_in_visitor_of_the_sign_in_page_to_the_dashboard(as_receptionist):
    response = as_receptionist.get("/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_it_starts_a_new_session_on_sign_in(client, receptionist):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"

    sign_in(client, receptionist)

    with client.session_transaction() as session:
        assert "planted" not in session


@pytest.mark.parametrize(
    "next_url",
    [
        "%0d%0aSet-Cookie:x",
        "/%0d%0aSet-Cookie:x",
        "/%0aSet-Cookie:x=1",
        "/queue%0d%0aLocation:%20https://evil.example",
        "/%0d/evil.example",
        "/%09/evil.example",
        "/%5cevil.example",
        "/%5c%5cevil.example",
        "%5c%5cevil.example",
        "//evil.example/%0a",
        "/%7f",
        "/%e2%80%8b/evil.example",
        "/%20/evil.example",
    ],
)
def test_it_never_fails_nor_leaves_the_site_on_control_characters_in_next(
    client, receptionist, next_url
):
    form = client.get(f"/login?next={next_url}")
    response = _post_login(client, "rita", DEFAULT_PASSWORD, next_url=next_url)

    assert form.status_code == 200
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Set-Cookie:x" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_it_audits_a_failed_sign_in_without_the_password(client, receptionist):
    _post_login(client, "rita", "my-secret-attempt-123")
    _post_login(client, "x" * 5000, "another-secret-attempt")

    entries = list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.action == "auth.login_failed").order_by(AuditLog.id)
        )
    )
    assert [entry.details for entry in entries] == [{"username": "rita"}, {"username": "x" * 64}]
    recorded = " ".join(f"{entry.summary} {entry.details}" for entry in entries)
    assert "secret-attempt" not in recorded
