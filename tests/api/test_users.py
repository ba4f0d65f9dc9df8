"""POST /users, GET /users, PATCH /users/{id}: staff accounts, admins only (webapp/api/users.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.api.conftest import API, auth_header, detail_fields, error_of, login, refresh, token_pair
from tests.factories import DEFAULT_PASSWORD, UserFactory
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.extensions import db

USERS = f"{API}/users"
ME = f"{API}/me"
NEW_USER = {
    "username": "nadia",
    "full_name": "Nadia Nurse",
    "role": "clinician",
    "password": "long enough password",
}
NEW_PASSWORD = "a brand new passphrase"


def _is_utc_iso(value: str) -> bool:
    moment = datetime.fromisoformat(value)
    return value.endswith("+00:00") and moment.utcoffset() == timedelta(0)


# ------------------------------------------------------------------ access


def _calls(user_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("post", USERS, NEW_USER),
        ("get", USERS, None),
        ("patch", f"{USERS}/{user_id}", {"full_name": "Changed Name"}),
    ]


@pytest.mark.parametrize("call", [0, 1, 2], ids=["create", "list", "update"])
def test_it_wants_a_token_for_every_user_endpoint(client, receptionist, call):
    method, path, body = _calls(receptionist.id)[call]

    response = getattr(client, method)(path, json=body)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("persona", ["receptionist", "clinician"])
@pytest.mark.parametrize("call", [0, 1, 2], ids=["create", "list", "update"])
def test_it_refuses_every_user_endpoint_to_non_admins(client, request, admin, persona, call):
    user = request.getfixturevalue(persona)
    token = token_pair(client, user)["access_token"]
    method, path, body = _calls(admin.id)[call]

    response = getattr(client, method)(path, json=body, headers=auth_header(token))

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.username == "nadia")) is None
    assert admin.full_name != "Changed Name"


@pytest.mark.parametrize(("call", "status"), [(0, 201), (1, 200), (2, 200)])
def test_it_lets_an_admin_use_every_user_endpoint(
    client, admin_headers, receptionist, call, status
):
    method, path, body = _calls(receptionist.id)[call]

    response = getattr(client, method)(path, json=body, headers=admin_headers)

    assert response.status_code == status


# ------------------------------------------------------------------ create


def test_it_creates_a_user(client, admin, admin_headers):
    response = client.post(USERS, json=NEW_USER, headers=admin_headers)

    assert response.status_code == 201
    body = response.get_json()
    assert {"id", "username", "full_name", "role", "active"} <= set(body)
    assert "password" not in body and "password_hash" not in body
    assert "long enough password" not in response.get_data(as_text=True)
    assert body["username"] == "nadia"
    assert body["full_name"] == "Nadia Nurse"
    assert body["role"] == "clinician"
    assert body["active"] is True
    assert _is_utc_iso(body["created_at"])
    assert body["last_login_at"] is None
    user = db.session.get(User, body["id"])
    assert user is not None and user.username == "nadia"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.create"))
    assert entry is not None and entry.user_id == admin.id


def test_it_lets_a_new_user_sign_in(client, admin_headers):
    client.post(USERS, json=NEW_USER, headers=admin_headers)

    response = login(client, "nadia", "long enough password")

    assert response.status_code == 200
    me = client.get(ME, headers=auth_header(response.get_json()["access_token"])).get_json()
    assert me["role"] == "clinician"


@pytest.mark.parametrize("username", ["rita", "RITA", "Rita"])
def test_it_refuses_a_duplicate_username_whatever_its_case(
    client, admin_headers, receptionist, username
):
    response = client.post(USERS, json={**NEW_USER, "username": username}, headers=admin_headers)

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict"
    assert detail_fields(response) == ["username"]
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.role == "clinician")) is None


def test_it_refuses_a_weak_password(client, admin_headers):
    response = client.post(USERS, json={**NEW_USER, "password": "123456789"}, headers=admin_headers)

    assert response.status_code == 422
    assert detail_fields(response) == ["password"]


def test_it_accepts_a_password_of_exactly_ten_characters(client, admin_headers):
    response = client.post(
        USERS, json={**NEW_USER, "password": "1234567890"}, headers=admin_headers
    )

    assert response.status_code == 201


def test_it_refuses_an_unknown_role(client, admin_headers):
    response = client.post(USERS, json={**NEW_USER, "role": "superuser"}, headers=admin_headers)

    assert response.status_code == 422
    assert detail_fields(response) == ["role"]


def test_it_refuses_a_malformed_username(client, admin_headers):
    response = client.post(
        USERS, json={**NEW_USER, "username": "has spaces"}, headers=admin_headers
    )

    assert response.status_code == 422
    assert detail_fields(response) == ["username"]


def test_it_lists_every_missing_field(client, admin_headers):
    response = client.post(USERS, json={}, headers=admin_headers)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert sorted(detail_fields(response)) == ["full_name", "password", "role", "username"]


def test_it_lists_the_one_missing_field(client, admin_headers):
    body = {key: value for key, value in NEW_USER.items() if key != "role"}

    response = client.post(USERS, json=body, headers=admin_headers)

    assert response.status_code == 422
    assert detail_fields(response) == ["role"]


# -------------------------------------------------------------------- list


def _usernames(response) -> list[str]:
    return [item["username"] for item in response.get_json()["items"]]


def test_it_lists_users_in_the_envelope(client, admin_headers, receptionist, clinician):
    response = client.get(USERS, headers=admin_headers)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {"items", "total", "page", "per_page"}
    assert body["total"] == 3
    assert body["page"] == 1
    assert body["per_page"] == 50
    assert _usernames(response) == ["ada", "colin", "rita"]
    first = body["items"][0]
    assert {"id", "username", "full_name", "role", "active"} <= set(first)
    assert "password_hash" not in first
    assert _is_utc_iso(first["created_at"])
    assert _is_utc_iso(first["last_login_at"])  # ada signed in to get the token


def test_it_orders_users_by_username_whatever_the_case(client, admin_headers):
    UserFactory(username="Bob")
    UserFactory(username="alice")
    UserFactory(username="Carl")
    db.session.commit()

    response = client.get(USERS, headers=admin_headers)

    assert _usernames(response) == ["ada", "alice", "Bob", "Carl"]


def test_it_pages_the_list(client, admin_headers, receptionist, clinician):
    response = client.get(f"{USERS}?per_page=1&page=2", headers=admin_headers)

    assert response.status_code == 200
    body = response.get_json()
    assert _usernames(response) == ["colin"]
    assert (body["total"], body["page"], body["per_page"]) == (3, 2, 1)


def test_it_answers_an_empty_page_past_the_end(client, admin_headers, receptionist):
    response = client.get(f"{USERS}?per_page=50&page=9", headers=admin_headers)

    assert response.status_code == 200
    assert response.get_json()["items"] == []
    assert response.get_json()["total"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=0", "per_page"),
        ("per_page=201", "per_page"),
        ("per_page=-1", "per_page"),
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page=abc", "page"),
        ("per_page=1.5", "per_page"),
    ],
)
def test_it_refuses_paging_out_of_bounds(client, admin_headers, query, field):
    response = client.get(f"{USERS}?{query}", headers=admin_headers)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert detail_fields(response) == [field]


@pytest.mark.parametrize("per_page", [1, 200])
def test_it_accepts_per_page_at_the_bounds(client, admin_headers, per_page):
    response = client.get(f"{USERS}?per_page={per_page}", headers=admin_headers)

    assert response.status_code == 200
    assert response.get_json()["per_page"] == per_page


# ------------------------------------------------------------------- patch


def test_it_changes_the_full_name_and_role(client, admin_headers, receptionist):
    response = client.patch(
        f"{USERS}/{receptionist.id}",
        json={"full_name": "Rita Renamed", "role": "clinician"},
        headers=admin_headers,
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == receptionist.id
    assert body["full_name"] == "Rita Renamed"
    assert body["role"] == "clinician"
    assert body["active"] is True
    assert _is_utc_iso(body["created_at"])
    db.session.expire_all()
    assert (receptionist.full_name, receptionist.role) == ("Rita Renamed", "clinician")


def test_it_gives_a_changed_role_to_existing_tokens(client, admin_headers, receptionist):
    token = token_pair(client, receptionist)["access_token"]
    assert client.get(USERS, headers=auth_header(token)).status_code == 403

    client.patch(f"{USERS}/{receptionist.id}", json={"role": "admin"}, headers=admin_headers)

    assert client.get(USERS, headers=auth_header(token)).status_code == 200


def test_it_leaves_what_a_patch_does_not_mention(client, admin_headers, receptionist):
    response = client.patch(f"{USERS}/{receptionist.id}", json={}, headers=admin_headers)

    assert response.status_code == 200
    assert response.get_json()["full_name"] == receptionist.full_name
    assert response.get_json()["role"] == "receptionist"


def test_it_revokes_the_tokens_of_a_deactivated_user(client, admin_headers, receptionist):
    pair = token_pair(client, receptionist)
    assert client.get(ME, headers=auth_header(pair["access_token"])).status_code == 200

    response = client.patch(
        f"{USERS}/{receptionist.id}", json={"active": False}, headers=admin_headers
    )

    assert response.status_code == 200
    assert response.get_json()["active"] is False
    assert client.get(ME, headers=auth_header(pair["access_token"])).status_code == 401
    assert refresh(client, pair["refresh_token"]).status_code == 401
    assert login(client, "rita").status_code == 401


def test_it_changes_the_password_and_revokes_old_tokens(client, admin_headers, receptionist):
    pair = token_pair(client, receptionist)

    response = client.patch(
        f"{USERS}/{receptionist.id}", json={"password": NEW_PASSWORD}, headers=admin_headers
    )

    assert response.status_code == 200
    assert NEW_PASSWORD not in response.get_data(as_text=True)
    assert client.get(ME, headers=auth_header(pair["access_token"])).status_code == 401
    assert refresh(client, pair["refresh_token"]).status_code == 401
    assert login(client, "rita", DEFAULT_PASSWORD).status_code == 401
    assert login(client, "rita", NEW_PASSWORD).status_code == 200


def test_it_refuses_a_weak_new_password(client, admin_headers, receptionist):
    pair = token_pair(client, receptionist)

    response = client.patch(
        f"{USERS}/{receptionist.id}", json={"password": "short"}, headers=admin_headers
    )

    assert response.status_code == 422
    assert detail_fields(response) == ["password"]
    assert client.get(ME, headers=auth_header(pair["access_token"])).status_code == 200


def test_it_refuses_an_unknown_role_in_a_patch(client, admin_headers, receptionist):
    response = client.patch(
        f"{USERS}/{receptionist.id}", json={"role": "boss"}, headers=admin_headers
    )

    assert response.status_code == 422
    assert detail_fields(response) == ["role"]


def test_it_refuses_an_admin_deactivating_themself(client, admin, admin_headers):
    response = client.patch(f"{USERS}/{admin.id}", json={"active": False}, headers=admin_headers)

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert detail_fields(response) == ["active"]
    db.session.expire_all()
    assert admin.active is True
    assert client.get(ME, headers=admin_headers).status_code == 200


def test_it_refuses_an_admin_dropping_their_own_admin_role(client, admin, admin_headers):
    response = client.patch(
        f"{USERS}/{admin.id}", json={"role": "clinician"}, headers=admin_headers
    )

    assert response.status_code == 409
    db.session.expire_all()
    assert admin.role == "admin"


def test_it_answers_404_for_an_unknown_user(client, admin_headers):
    response = client.patch(f"{USERS}/99999", json={"full_name": "X"}, headers=admin_headers)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_it_reactivates_a_user(client, admin_headers, receptionist):
    client.patch(f"{USERS}/{receptionist.id}", json={"active": False}, headers=admin_headers)

    response = client.patch(
        f"{USERS}/{receptionist.id}", json={"active": True}, headers=admin_headers
    )

    assert response.status_code == 200
    assert response.get_json()["active"] is True
    assert login(client, "rita").status_code == 200


@pytest.mark.postgres
def test_it_refuses_a_duplicate_username_whatever_its_case_on_postgres(pg_client, pg_admin_headers):
    first = pg_client.post(USERS, json=NEW_USER, headers=pg_admin_headers)
    second = pg_client.post(USERS, json={**NEW_USER, "username": "NADIA"}, headers=pg_admin_headers)

    assert first.status_code == 201
    assert _is_utc_iso(first.get_json()["created_at"])
    assert second.status_code == 409
    assert detail_fields(second) == ["username"]
