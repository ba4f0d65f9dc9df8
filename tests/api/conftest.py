"""Fixtures for the JSON API: bearer tokens for the personas and a generous login limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import GENEROUS_LOGIN_LIMITS
from tests.factories import DEFAULT_PASSWORD
from webapp.auth.models import User

API = "/api/v1"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(GENEROUS_LOGIN_LIMITS)


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: FlaskClient, username: str, password: str = DEFAULT_PASSWORD) -> Any:
    """POST /auth/login; the whole response."""
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


def token_pair(client: FlaskClient, user: User, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    """A fresh access and refresh token for ``user`` (the login must succeed)."""
    response = login(client, user.username, password)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body: dict[str, Any] = response.get_json()
    return body


def refresh(client: FlaskClient, refresh_token: str) -> Any:
    return client.post(f"{API}/auth/refresh", json={"refresh_token": refresh_token})


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of an API error response, after checking the envelope's shape."""
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    return error


def detail_fields(response: Any) -> list[str]:
    return [detail["field"] for detail in error_of(response)["details"]]


@pytest.fixture
def get_token(client: FlaskClient) -> Callable[[User], str]:
    """``get_token(user)`` → a fresh access token for that user."""

    def _get(user: User, password: str = DEFAULT_PASSWORD) -> str:
        return str(token_pair(client, user, password)["access_token"])

    return _get


@pytest.fixture
def receptionist_token(get_token: Callable[[User], str], receptionist: User) -> str:
    return get_token(receptionist)


@pytest.fixture
def clinician_token(get_token: Callable[[User], str], clinician: User) -> str:
    return get_token(clinician)


@pytest.fixture
def admin_token(get_token: Callable[[User], str], admin: User) -> str:
    return get_token(admin)


# The personas' bearer headers, named after their usernames in tests/conftest.py.


@pytest.fixture
def rita(receptionist_token: str) -> dict[str, str]:
    """The receptionist's Authorization header."""
    return auth_header(receptionist_token)


@pytest.fixture
def colin(clinician_token: str) -> dict[str, str]:
    """The clinician's Authorization header."""
    return auth_header(clinician_token)


@pytest.fixture
def admin_headers(admin_token: str) -> dict[str, str]:
    """The admin's Authorization header (also available as ``ada``)."""
    return auth_header(admin_token)


@pytest.fixture
def ada(admin_headers: dict[str, str]) -> dict[str, str]:
    return admin_headers


# ------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_client(pg_app: Any) -> FlaskClient:
    """A client of the app on a migrated PostgreSQL database (tests marked ``postgres``)."""
    client: FlaskClient = pg_app.test_client()
    return client


@pytest.fixture
def pg_admin_headers(pg_client: FlaskClient) -> dict[str, str]:
    from tests.factories import UserFactory
    from webapp.extensions import db

    admin = UserFactory(username="pg-admin", role="admin", full_name="Admin on PostgreSQL")
    db.session.commit()
    return auth_header(str(token_pair(pg_client, admin)["access_token"]))
