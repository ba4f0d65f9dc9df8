"""Shared fixtures: the app on SQLite, the three staff personas, PostgreSQL and Redis.

Unit tests run on an in-memory SQLite database. Tests marked ``postgres`` or
``redis`` use TEST_DATABASE_URL / TEST_REDIS_URL (REDIS_URL also works); they
are skipped when those are unset, unless REQUIRE_SERVICES=1 (as in CI), where a
missing service fails the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tests.factories import DEFAULT_PASSWORD, UserFactory
from webapp import create_app
from webapp.auth.models import User
from webapp.extensions import db

# Tests never need production's SECRET_KEY requirement or a stray DATABASE_URL.
os.environ.setdefault("APP_ENV", "development")
for _name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(_name, None)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

BASE_TEST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "SQLALCHEMY_DATABASE_URI": "sqlite://",
    "WTF_CSRF_ENABLED": False,
    "BCRYPT_ROUNDS": 4,
    "SESSION_COOKIE_SECURE": False,
    "RATELIMIT_STORAGE_URI": "memory://",
    "REDIS_URL": None,
    "HUEY_IMMEDIATE": True,
}

# For test packages whose tests sign in over and over, or fail to on purpose: the
# sign-in throttle stays out of their way (tests/auth and tests/api/test_auth.py test it).
GENEROUS_LOGIN_LIMITS: dict[str, Any] = {
    "LOGIN_LIMIT_PER_USERNAME": "100 per minute",
    "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
}


def make_app(**overrides: Any) -> Flask:
    return create_app({**BASE_TEST_CONFIG, **overrides})


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change the app's settings."""
    return {}


def _clear_request_globals(sender: Flask, **extra: Any) -> None:
    """Give every test request an empty ``g``, as a real server does.

    The ``app`` fixture keeps one app context pushed for the whole test and
    Flask reuses it for each test request, so ``g`` (where Flask-Login caches
    the signed-in user) would otherwise leak from one test client to the next.
    """
    for name in list(g):
        g.pop(name, None)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    yield from running_app(**app_config)


def running_app(**config: Any) -> Iterator[Flask]:
    """An app with ``config`` on a fresh in-memory database, in its app context, for a
    fixture to yield from (the ``app`` fixture and tests that need other settings)."""
    application = make_app(**config)
    request_started.connect(_clear_request_globals, application)
    with application.app_context():
        db.create_all()
        yield application
        db.session.remove()
        # The in-memory database disappears with its only connection; no drop_all
        # (which SQLite's self-referencing tickets.transferred_from_id key would refuse).
        db.engine.dispose()
    request_started.disconnect(_clear_request_globals, application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _persona(role: str, username: str) -> User:
    user = UserFactory(username=username, role=role, full_name=f"{role.title()} Persona")
    db.session.commit()
    return user


@pytest.fixture
def receptionist(app: Flask) -> User:
    return _persona("receptionist", "rita")


@pytest.fixture
def clinician(app: Flask) -> User:
    return _persona("clinician", "colin")


@pytest.fixture
def admin(app: Flask) -> User:
    return _persona("admin", "ada")


def sign_in(client: FlaskClient, user: User, password: str = DEFAULT_PASSWORD) -> None:
    response = client.post("/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture
def as_receptionist(client: FlaskClient, receptionist: User) -> FlaskClient:
    sign_in(client, receptionist)
    return client


@pytest.fixture
def as_clinician(client: FlaskClient, clinician: User) -> FlaskClient:
    sign_in(client, clinician)
    return client


@pytest.fixture
def as_admin(client: FlaskClient, admin: User) -> FlaskClient:
    sign_in(client, admin)
    return client


# ------------------------------------------------------------- real services


def _service_unavailable(message: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (REQUIRE_SERVICES=1, so this test may not be skipped)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        _service_unavailable("TEST_DATABASE_URL is not set; PostgreSQL tests skipped")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        _service_unavailable(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {error}")
    return url


def reset_postgres_schema(url: str) -> None:
    """Drop everything in the test database's public schema."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def pg_app(postgres_url: str) -> Iterator[Flask]:
    """The app on a freshly migrated PostgreSQL database (migrations, not create_all)."""
    from flask_migrate import upgrade

    reset_postgres_schema(postgres_url)
    application = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    request_started.connect(_clear_request_globals, application)
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_TEST_URL") or ""
    if not url:
        _service_unavailable("TEST_REDIS_URL is not set; Redis tests skipped")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as error:
        _service_unavailable(f"Redis at TEST_REDIS_URL is not reachable: {error}")
    return url
