"""POST /api/v1/auth/login, POST /api/v1/auth/refresh and GET /api/v1/me (webapp/api/auth.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import time_machine
from sqlalchemy import select

from tests.api.conftest import (
    API,
    auth_header,
    detail_fields,
    error_of,
    login,
    refresh,
    token_pair,
)
from tests.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, UserFactory
from webapp.audit.models import AuditLog
from webapp.auth import services as accounts
from webapp.auth.models import RefreshToken
from webapp.extensions import db

ME = f"{API}/me"
NEW_PASSWORD = "a brand new passphrase"


def _audit_actions(action: str) -> list[AuditLog]:
    """Audit rows as the request left them (an error response rolls back what it did not keep)."""
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def _me_status(client, token: str) -> int:
    return client.get(ME, headers=auth_header(token)).status_code


def _assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


# ------------------------------------------------------------------ login


def test_it_gives_a_token_pair_for_good_credentials(client, receptionist):
    response = login(client, "rita")

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert isinstance(body["refresh_token"], str) and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert _me_status(client, body["access_token"]) == 200


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "ACCESS_TOKEN_MINUTES": 5,
            "LOGIN_LIMIT_PER_USERNAME": "100 per minute",
            "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
        }
    ],
)
def test_it_takes_the_access_token_lifetime_from_the_config(client, receptionist):
    body = token_pair(client, receptionist)

    assert body["expires_in"] == 300
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        assert _me_status(client, body["access_token"]) == 401


def test_it_refuses_a_wrong_password(client, receptionist):
    response = login(client, "rita", "not the password at all")

    _assert_unauthorized(response)
    assert "access_token" not in response.get_data(as_text=True)


def test_it_refuses_an_unknown_user(client, receptionist):
    response = login(client, "nobody-here")

    _assert_unauthorized(response)


def test_it_refuses_a_deactivated_user_with_the_right_password(client, receptionist):
    receptionist.active = False
    db.session.commit()

    response = login(client, "rita")

    _assert_unauthorized(response)


def test_it_gives_the_same_answer_for_an_unknown_user_and_a_wrong_password(client, receptionist):
    unknown = login(client, "nobody-here")
    wrong = login(client, "rita", "not the password at all")

    assert error_of(unknown) == error_of(wrong)


def test_it_reads_the_username_whatever_its_case(client, receptionist):
    response = login(client, "RiTa")

    assert response.status_code == 200
    me = client.get(ME, headers=auth_header(response.get_json()["access_token"])).get_json()
    assert me["username"] == "rita"


def test_it_wants_a_username_and_a_password(client):
    response = client.post(f"{API}/auth/login", json={})

    assert response.status_code == 422
    assert sorted(detail_fields(response)) == ["password", "username"]


def test_it_records_a_failed_login_in_the_audit_log(client, receptionist):
    response = login(client, "rita", "not the password at all")

    assert response.status_code == 401
    [entry] = _audit_actions("api.login_failed")
    assert entry.user_id is None
    assert entry.details == {"username": "rita"}


def test_it_records_the_username_of_a_failed_login_but_never_the_password(client, receptionist):
    login(client, "rita", "my-secret-attempt-123")
    login(client, "nobody-here", "another-secret-attempt")

    entries = _audit_actions("api.login_failed")
    assert sorted(entry.details["username"] for entry in entries) == ["nobody-here", "rita"]
    assert "secret-attempt" not in " ".join(f"{e.summary} {e.details}" for e in entries)


def test_it_records_a_login_in_the_audit_log(client, receptionist):
    token_pair(client, receptionist)

    [entry] = _audit_actions("api.login")
    assert entry.user_id == receptionist.id
    assert entry.entity_type == "user"
    assert entry.entity_id == receptionist.id
    assert _audit_actions("api.login_failed") == []


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_USERNAME": "3 per minute"}])
def test_it_refuses_the_fourth_failed_login_for_one_username(client, receptionist):
    statuses = [login(client, "rita", "wrong password!").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]

    response = login(client, "rita")  # even the right password: the username is throttled

    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert "access_token" not in response.get_json()


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_USERNAME": "3 per minute"}])
def test_it_counts_failed_logins_whatever_the_username_case(client, receptionist):
    for name in ("rita", "RITA", " Rita "):
        assert login(client, name, "wrong password!").status_code == 401

    assert login(client, "rItA", "wrong password!").status_code == 429


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_USERNAME": "3 per minute"}])
def test_it_does_not_count_successful_logins(client, receptionist):
    assert [login(client, "rita").status_code for _ in range(5)] == [200] * 5

    statuses = [login(client, "rita", "wrong password!").status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_USERNAME": "3 per minute"}])
def test_it_lets_the_username_in_again_a_minute_later(client, receptionist):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            login(client, "rita", "wrong password!")
        assert login(client, "rita").status_code == 429
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert login(client, "rita").status_code == 200


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_USERNAME": "3 per minute"}])
def test_it_shares_the_username_limit_with_the_html_sign_in(client, receptionist):
    # One allowance per username, whichever door is knocked on: otherwise each door doubles it.
    for _ in range(3):
        html = client.post("/login", data={"username": "rita", "password": "wrong password!"})
        assert html.status_code == 200

    response = login(client, "rita", "wrong password!")

    assert response.status_code == 429


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ADDRESS": "3 per minute"}])
def test_it_shares_the_address_limit_with_the_html_sign_in(client, receptionist):
    for n in range(3):
        html = client.post("/login", data={"username": f"user-{n}", "password": "wrong password!"})
        assert html.status_code == 200

    response = login(client, "someone-else", "wrong password!")

    assert response.status_code == 429


@pytest.mark.redis
class TestLoginLimitWithRedis:
    @pytest.fixture
    def app_config(self, redis_url: str) -> dict[str, Any]:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        return {"LOGIN_LIMIT_PER_USERNAME": "3 per minute", "RATELIMIT_STORAGE_URI": redis_url}

    def test_it_refuses_the_fourth_failed_login(self, client, receptionist, redis_url):
        import redis

        statuses = [login(client, "rita", "wrong password!").status_code for _ in range(4)]

        assert statuses == [401, 401, 401, 429]
        keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
        assert any("username:rita" in key for key in keys), keys


# ---------------------------------------------------------------- refresh


def test_it_exchanges_a_refresh_token_for_a_new_pair(client, receptionist):
    first = token_pair(client, receptionist)

    response = refresh(client, first["refresh_token"])

    assert response.status_code == 200
    second = response.get_json()
    assert second["token_type"] == "bearer"
    assert second["expires_in"] == 900
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert _me_status(client, second["access_token"]) == 200
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_it_refuses_a_refresh_token_once_it_was_used(client, receptionist):
    first = token_pair(client, receptionist)
    assert refresh(client, first["refresh_token"]).status_code == 200

    response = refresh(client, first["refresh_token"])

    _assert_unauthorized(response)


def test_it_revokes_the_whole_family_when_a_used_refresh_token_comes_back(client, receptionist):
    first = token_pair(client, receptionist)
    second = refresh(client, first["refresh_token"]).get_json()
    third = refresh(client, second["refresh_token"]).get_json()

    reuse = refresh(client, first["refresh_token"])  # a thief replays a copied token

    _assert_unauthorized(reuse)
    # The newest token of the family, never used, is dead too: the revocation was committed.
    _assert_unauthorized(refresh(client, third["refresh_token"]))
    db.session.expire_all()
    rows = db.session.scalars(select(RefreshToken).where(RefreshToken.user_id == receptionist.id))
    assert all(row.revoked_at is not None for row in rows)
    [entry] = _audit_actions("api.refresh_token_reused")
    assert entry.user_id == receptionist.id


def test_it_stops_the_familys_access_tokens_at_once_when_a_refresh_token_is_reused(
    client, receptionist
):
    first = token_pair(client, receptionist)
    second = refresh(client, first["refresh_token"]).get_json()
    assert _me_status(client, second["access_token"]) == 200
    assert _me_status(client, first["access_token"]) == 200  # rotation alone revokes nothing

    reuse = refresh(client, first["refresh_token"])

    _assert_unauthorized(reuse)
    for token in (second["access_token"], first["access_token"]):
        response = client.get(ME, headers=auth_header(token))
        _assert_unauthorized(response)
        assert "revoked" in error_of(response)["message"]


def test_it_keeps_the_access_tokens_of_other_families_working(client, receptionist):
    laptop = token_pair(client, receptionist)
    kiosk = token_pair(client, receptionist)
    assert refresh(client, laptop["refresh_token"]).status_code == 200

    assert refresh(client, laptop["refresh_token"]).status_code == 401

    assert _me_status(client, kiosk["access_token"]) == 200


def test_it_names_the_family_in_the_access_token(client, receptionist):
    pair = token_pair(client, receptionist)

    access = jwt.decode(pair["access_token"], options={"verify_signature": False})
    refresh_claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    assert access["fam"] == refresh_claims["fam"]
    assert db.session.scalar(select(RefreshToken.id).where(RefreshToken.family_id == access["fam"]))


def test_it_refuses_an_access_token_without_a_family(client, receptionist):
    claims = jwt.decode(
        token_pair(client, receptionist)["access_token"], options={"verify_signature": False}
    )
    del claims["fam"]
    familyless = jwt.encode(claims, "test-secret-key-not-for-production", algorithm="HS256")

    _assert_unauthorized(client.get(ME, headers=auth_header(familyless)))


def test_it_keeps_other_login_families_alive_when_one_is_revoked(client, receptionist):
    laptop = token_pair(client, receptionist)
    kiosk = token_pair(client, receptionist)
    assert refresh(client, laptop["refresh_token"]).status_code == 200
    assert refresh(client, laptop["refresh_token"]).status_code == 401  # laptop family revoked

    response = refresh(client, kiosk["refresh_token"])

    assert response.status_code == 200


def test_it_refuses_an_access_token_as_a_refresh_token(client, receptionist):
    pair = token_pair(client, receptionist)

    _assert_unauthorized(refresh(client, pair["access_token"]))


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", ""])
def test_it_refuses_a_garbage_refresh_token(client, receptionist, garbage):
    _assert_unauthorized(refresh(client, garbage))


def test_it_refuses_an_expired_refresh_token(client, receptionist):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        pair = token_pair(client, receptionist)
    with time_machine.travel(start + timedelta(days=7, minutes=1), tick=False):
        response = refresh(client, pair["refresh_token"])

    _assert_unauthorized(response)


def test_it_accepts_a_refresh_token_until_it_expires(client, receptionist):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        pair = token_pair(client, receptionist)
    with time_machine.travel(start + timedelta(days=6, hours=23), tick=False):
        assert refresh(client, pair["refresh_token"]).status_code == 200


def test_it_refuses_a_refresh_token_signed_with_another_key(client, receptionist):
    pair = token_pair(client, receptionist)
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "another-key-entirely-not-ours-32b", algorithm="HS256")

    _assert_unauthorized(refresh(client, forged))


# --------------------------------------------------------------------- me


@pytest.mark.parametrize("persona", ["receptionist", "clinician", "admin"])
def test_it_says_who_the_token_belongs_to(client, request, persona):
    user = request.getfixturevalue(persona)
    token = token_pair(client, user)["access_token"]

    response = client.get(ME, headers=auth_header(token))

    assert response.status_code == 200
    assert response.get_json() == {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": persona,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token x"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Basic cml0YTpjb3JyZWN0IGhvcnNlIGJhdHRlcnk="},
    ],
    ids=["none", "token-scheme", "bearer-alone", "bearer-blank", "garbage", "basic"],
)
def test_it_refuses_me_without_a_valid_bearer_token(client, receptionist, headers):
    response = client.get(ME, headers=headers)

    _assert_unauthorized(response)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_it_refuses_an_expired_access_token(client, receptionist):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        token = token_pair(client, receptionist)["access_token"]
        assert _me_status(client, token) == 200
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        response = client.get(ME, headers=auth_header(token))

    _assert_unauthorized(response)
    assert "expired" in error_of(response)["message"]


def test_it_refuses_a_refresh_token_as_an_access_token(client, receptionist):
    pair = token_pair(client, receptionist)

    _assert_unauthorized(client.get(ME, headers=auth_header(pair["refresh_token"])))


def test_it_refuses_an_access_token_signed_with_another_key(client, receptionist):
    now = datetime.now(UTC)
    forged = jwt.encode(
        {
            "sub": str(receptionist.id),
            "ver": receptionist.auth_version,
            "typ": "access",
            "jti": "0123456789abcdef",
            "iat": now,
            "exp": now + timedelta(minutes=15),
        },
        "another-key-entirely-not-ours-32b",
        algorithm="HS256",
    )

    _assert_unauthorized(client.get(ME, headers=auth_header(forged)))


def test_it_refuses_an_unsigned_access_token(client, receptionist):
    claims = jwt.decode(
        token_pair(client, receptionist)["access_token"], options={"verify_signature": False}
    )
    unsigned = jwt.encode(claims, None, algorithm="none")

    _assert_unauthorized(client.get(ME, headers=auth_header(unsigned)))


def test_it_revokes_every_token_when_an_admin_deactivates_the_user(client, receptionist, admin):
    pair = token_pair(client, receptionist)
    admin_token = token_pair(client, admin)["access_token"]

    response = client.patch(
        f"{API}/users/{receptionist.id}", json={"active": False}, headers=auth_header(admin_token)
    )

    assert response.status_code == 200
    _assert_unauthorized(client.get(ME, headers=auth_header(pair["access_token"])))
    _assert_unauthorized(refresh(client, pair["refresh_token"]))


def test_it_revokes_every_token_when_the_service_deactivates_the_user(client, receptionist):
    pair = token_pair(client, receptionist)
    accounts.update_user(receptionist, actor=None, active=False)
    db.session.commit()

    _assert_unauthorized(client.get(ME, headers=auth_header(pair["access_token"])))
    _assert_unauthorized(refresh(client, pair["refresh_token"]))


def test_it_keeps_tokens_dead_after_the_user_is_reactivated(client, receptionist):
    pair = token_pair(client, receptionist)
    accounts.update_user(receptionist, actor=None, active=False)
    accounts.update_user(receptionist, actor=None, active=True)
    db.session.commit()

    _assert_unauthorized(client.get(ME, headers=auth_header(pair["access_token"])))
    _assert_unauthorized(refresh(client, pair["refresh_token"]))
    assert login(client, "rita").status_code == 200


def test_it_revokes_every_token_when_the_password_changes(client, receptionist):
    pair = token_pair(client, receptionist)
    accounts.update_user(receptionist, actor=None, password=NEW_PASSWORD)
    db.session.commit()

    _assert_unauthorized(client.get(ME, headers=auth_header(pair["access_token"])))
    _assert_unauthorized(refresh(client, pair["refresh_token"]))
    assert login(client, "rita", DEFAULT_PASSWORD).status_code == 401
    assert login(client, "rita", NEW_PASSWORD).status_code == 200


def test_it_refuses_a_token_of_a_deleted_user(client):
    user = UserFactory(username="ghost")
    db.session.commit()
    pair = token_pair(client, user)
    db.session.delete(user)
    db.session.commit()

    _assert_unauthorized(client.get(ME, headers=auth_header(pair["access_token"])))
    _assert_unauthorized(refresh(client, pair["refresh_token"]))


# ------------------------------------------------- no session, no CSRF


def test_it_ignores_the_session_cookie_of_an_html_sign_in(client, receptionist):
    sign_in(client, receptionist)
    assert client.get("/").status_code == 200  # the HTML session works

    response = client.get(ME)

    _assert_unauthorized(response)


def test_it_acts_as_the_bearer_not_as_the_session_user(client, admin, receptionist):
    sign_in(client, admin)
    token = token_pair(client, receptionist)["access_token"]

    me = client.get(ME, headers=auth_header(token))
    users = client.get(f"{API}/users", headers=auth_header(token))
    unauthenticated = client.get(f"{API}/users")

    assert me.get_json()["username"] == "rita"
    assert users.status_code == 403
    assert unauthenticated.status_code == 401


def test_it_does_not_reissue_the_cookie_of_an_html_session(client, receptionist):
    # The HTML sign-in makes the session permanent; Flask re-sends such a cookie on every
    # response (SESSION_REFRESH_EACH_REQUEST) unless the API opts out.
    sign_in(client, receptionist)
    token = token_pair(client, receptionist)["access_token"]

    response = client.get(ME, headers=auth_header(token))

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_it_sets_no_session_cookie(client, receptionist):
    login_response = login(client, "rita")
    token = login_response.get_json()["access_token"]
    refresh_response = refresh(client, login_response.get_json()["refresh_token"])
    me_response = client.get(ME, headers=auth_header(token))
    failed_response = login(client, "rita", "wrong password!")

    for response in (login_response, refresh_response, me_response, failed_response):
        assert "Set-Cookie" not in response.headers
    assert client.get_cookie("session") is None


def test_it_sends_no_store_on_token_responses(client, receptionist):
    response = login(client, "rita")

    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "WTF_CSRF_ENABLED": True,
            "LOGIN_LIMIT_PER_USERNAME": "100 per minute",
            "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
        }
    ],
)
def test_it_needs_no_csrf_token(client, receptionist, admin):
    assert client.post("/login", data={"username": "rita", "password": "x"}).status_code == 400

    pair = token_pair(client, admin)
    assert refresh(client, pair["refresh_token"]).status_code == 200
    created = client.post(
        f"{API}/users",
        json={
            "username": "newbie",
            "full_name": "New Bie",
            "role": "clinician",
            "password": "long enough password",
        },
        headers=auth_header(pair["access_token"]),
    )
    assert created.status_code == 201


# ------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_it_keeps_the_family_revocation_and_the_audit_on_postgres(pg_client):
    user = UserFactory(username="pg-rita", role="receptionist")
    db.session.commit()
    user_id = user.id
    first = token_pair(pg_client, user)
    second = refresh(pg_client, first["refresh_token"]).get_json()

    reuse = refresh(pg_client, first["refresh_token"])

    _assert_unauthorized(reuse)
    _assert_unauthorized(refresh(pg_client, second["refresh_token"]))
    db.session.remove()
    rows = db.session.scalars(select(RefreshToken).where(RefreshToken.user_id == user_id)).all()
    assert len(rows) == 2
    assert all(row.revoked_at is not None for row in rows)
    assert len(_audit_actions("api.refresh_token_reused")) == 1


@pytest.mark.postgres
def test_it_stops_the_familys_access_tokens_on_postgres(pg_client):
    user = UserFactory(username="pg-rita", role="receptionist")
    db.session.commit()
    first = token_pair(pg_client, user)
    second = refresh(pg_client, first["refresh_token"]).get_json()

    _assert_unauthorized(refresh(pg_client, first["refresh_token"]))

    _assert_unauthorized(pg_client.get(ME, headers=auth_header(second["access_token"])))


@pytest.mark.postgres
def test_it_keeps_the_failed_login_audit_on_postgres(pg_client):
    UserFactory(username="pg-rita", role="receptionist")
    db.session.commit()

    response = login(pg_client, "PG-Rita", "wrong password!")

    _assert_unauthorized(response)
    db.session.remove()
    [entry] = _audit_actions("api.login_failed")
    assert entry.details == {"username": "PG-Rita"}
    assert login(pg_client, "PG-Rita").status_code == 200
