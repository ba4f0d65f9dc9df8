"""Throttling of POST /login, per username and per address (Flask-Limiter)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import DEFAULT_PASSWORD, UserFactory
from webapp.auth.models import User
from webapp.auth.throttle import MAX_USERNAME_KEY_LENGTH, username_key_for
from webapp.extensions import db, limiter

DEAD_REDIS = "redis://127.0.0.1:6390/0"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LOGIN_LIMIT_PER_USERNAME": "3 per minute", "LOGIN_LIMIT_PER_ADDRESS": "5 per minute"}


@pytest.fixture(autouse=True)
def _limiter_storage_alive() -> Iterator[None]:
    """The limiter is one object for every app: forget a dead storage seen by another test."""
    limiter._storage_dead = False
    yield
    limiter._storage_dead = False


def _fail(client: FlaskClient, username: str = "rita") -> int:
    return client.post(
        "/login", data={"username": username, "password": "not the password at all"}
    ).status_code


def _succeed(client: FlaskClient, username: str = "rita") -> int:
    status = client.post(
        "/login", data={"username": username, "password": DEFAULT_PASSWORD}
    ).status_code
    client.post("/logout")
    return status


def test_it_refuses_the_fourth_failed_attempt_for_one_username(client, receptionist):
    assert [_fail(client) for _ in range(3)] == [200, 200, 200]

    response = client.post("/login", data={"username": "rita", "password": DEFAULT_PASSWORD})

    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert "Too many" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_it_counts_the_username_whatever_its_case(client, receptionist):
    assert [_fail(client, name) for name in ("rita", "RITA", " Rita ")] == [200, 200, 200]

    assert _fail(client, "rItA") == 429


def test_it_lets_another_username_from_the_same_address_through(client, receptionist):
    for _ in range(3):
        _fail(client, "rita")
    assert _fail(client, "rita") == 429

    assert _fail(client, "someone-else") == 200


def test_it_refuses_every_username_once_the_address_limit_is_used_up(client, receptionist):
    statuses = [_fail(client, f"user-{n}") for n in range(5)]
    assert statuses == [200] * 5

    assert _fail(client, "user-6") == 429
    assert _succeed(client, "rita") == 429


def test_it_limits_each_address_separately(client, receptionist):
    for n in range(5):
        client.post(
            "/login",
            data={"username": f"user-{n}", "password": "wrong"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )

    response = client.post(
        "/login",
        data={"username": "rita", "password": DEFAULT_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )

    assert response.status_code == 302


def test_it_ignores_a_forged_forwarded_for_without_a_trusted_proxy(client, receptionist):
    for n in range(5):
        client.post(
            "/login",
            data={"username": f"user-{n}", "password": "wrong"},
            headers={"X-Forwarded-For": f"10.9.9.{n}"},
        )

    response = client.post(
        "/login",
        data={"username": "rita", "password": DEFAULT_PASSWORD},
        headers={"X-Forwarded-For": "10.9.9.99"},
    )

    assert response.status_code == 429


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "LOGIN_LIMIT_PER_USERNAME": "3 per minute",
            "LOGIN_LIMIT_PER_ADDRESS": "5 per minute",
            "TRUSTED_PROXY_COUNT": 1,
        }
    ],
)
def test_it_limits_by_the_forwarded_address_behind_a_trusted_proxy(client, receptionist):
    for n in range(5):
        client.post(
            "/login",
            data={"username": f"user-{n}", "password": "wrong"},
            headers={"X-Forwarded-For": "10.9.9.1"},
        )
    assert _fail(client, "user-6") == 200  # no X-Forwarded-For: the proxy's own address

    response = client.post(
        "/login",
        data={"username": "user-7", "password": "wrong"},
        headers={"X-Forwarded-For": "10.9.9.1"},
    )

    assert response.status_code == 429


def test_it_does_not_count_successful_sign_ins(client, receptionist):
    assert [_succeed(client) for _ in range(6)] == [302] * 6

    assert [_fail(client) for _ in range(3)] == [200, 200, 200]


def test_it_does_not_limit_showing_the_form(client):
    assert {client.get("/login").status_code for _ in range(8)} == {200}


@pytest.mark.redis
class TestWithRedis:
    @pytest.fixture
    def app_config(self, redis_url: str) -> dict[str, Any]:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        return {
            "LOGIN_LIMIT_PER_USERNAME": "3 per minute",
            "LOGIN_LIMIT_PER_ADDRESS": "5 per minute",
            "RATELIMIT_STORAGE_URI": redis_url,
        }

    def test_it_refuses_the_fourth_failed_attempt(self, client, receptionist, redis_url):
        import redis

        assert [_fail(client) for _ in range(3)] == [200, 200, 200]

        assert _fail(client) == 429
        keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
        assert any("username:rita" in key for key in keys), keys
        assert any("127.0.0.1" in key for key in keys), keys

    def test_it_shares_the_counters_between_app_instances(self, app, receptionist, redis_url):
        from tests.conftest import make_app

        for _ in range(3):
            assert _fail(app.test_client()) == 200
        other = make_app(
            LOGIN_LIMIT_PER_USERNAME="3 per minute",
            LOGIN_LIMIT_PER_ADDRESS="5 per minute",
            RATELIMIT_STORAGE_URI=redis_url,
        )
        with other.app_context():
            db.create_all()
            UserFactory(username="rita")
            db.session.commit()
            assert _fail(other.test_client()) == 429
            db.session.remove()
            db.drop_all()


class TestWithRedisDown:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {
            "LOGIN_LIMIT_PER_USERNAME": "3 per minute",
            "LOGIN_LIMIT_PER_ADDRESS": "5 per minute",
            "RATELIMIT_STORAGE_URI": DEAD_REDIS,
        }

    def test_it_still_limits_in_memory(self, client, receptionist):
        statuses = [_fail(client) for _ in range(4)]

        assert statuses == [200, 200, 200, 429]

    def test_it_still_signs_people_in(self, client, receptionist):
        assert _succeed(client) == 302


def test_it_cuts_very_long_usernames_before_they_become_limit_keys(client, receptionist):
    # Only the first 64 characters (the longest username there is) name the limit.
    stem = "a" * 64
    assert [_fail(client, stem + suffix) for suffix in ("1", "22", "x" * 10_000)] == [200] * 3

    assert _fail(client, stem.upper()) == 429


def test_it_never_makes_a_limit_key_longer_than_a_username():
    key = username_key_for("  " + "B" * 1_000_000 + "  ")

    assert key == "username:" + "b" * MAX_USERNAME_KEY_LENGTH
    assert User.__table__.c.username.type.length == MAX_USERNAME_KEY_LENGTH
