"""The API's error envelope, for every status it answers with (webapp/api/errors.py, guard.py)."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, auth_header, detail_fields, error_of, login
from tests.factories import DepartmentFactory
from webapp.auth import services as accounts
from webapp.extensions import db

USERS = f"{API}/users"
DEPARTMENTS = f"{API}/departments"
A_GOOD_USER = {
    "username": "newbie",
    "full_name": "New Bie",
    "role": "clinician",
    "password": "long enough password",
}
# Distinctive values that must never come back in a 422 (they could be a patient's details).
SECRET_PHONE = "+1 415 555 0199 ZQX"
SECRET_NAME = "Zebediah Quuxley-Secret"


# ---------------------------------------------------------------------- 400


def test_it_answers_400_to_malformed_json(client, receptionist):
    response = client.post(f"{API}/auth/login", data="{bad", content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_it_answers_400_to_malformed_json_on_an_authenticated_endpoint(client, admin_headers):
    response = client.post(
        USERS, data='{"username": "x",', content_type="application/json", headers=admin_headers
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("username=rita&password=x", "application/x-www-form-urlencoded"),
        ('{"username": "rita", "password": "x"}', "text/plain"),
    ],
)
def test_it_answers_400_to_a_body_that_is_not_declared_json(
    client, receptionist, data, content_type
):
    response = client.post(f"{API}/auth/login", data=data, content_type=content_type)

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_it_reads_json_with_a_charset_parameter(client, receptionist):
    response = client.post(
        f"{API}/auth/login",
        data='{"username": "rita", "password": "correct horse battery"}',
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 200


# ---------------------------------------------------------------------- 401


def test_it_answers_401_with_a_bearer_challenge(client):
    response = client.get(USERS)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_it_answers_401_to_bad_credentials_in_the_envelope(client, receptionist):
    response = login(client, "rita", "wrong password!")

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ["login", "refresh"])
def test_it_sends_a_bearer_challenge_with_every_401(client, receptionist, endpoint):
    # RFC 9110 §15.5.2: a 401 response MUST carry WWW-Authenticate, wherever it comes from.
    if endpoint == "login":
        response = login(client, "rita", "wrong password!")
    else:
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": "garbage"})

    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate") == "Bearer"


# ---------------------------------------------------------------------- 403


def test_it_answers_403_to_a_forbidden_role(client, receptionist_token):
    response = client.get(USERS, headers=auth_header(receptionist_token))

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


# ---------------------------------------------------------------------- 404


@pytest.mark.parametrize("path", [f"{API}/nope", f"{API}/users/1/nope", "/api/nope"])
def test_it_answers_404_to_an_unknown_api_path_without_a_token(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_it_answers_404_to_an_unknown_api_path_with_a_token(client, admin_headers):
    response = client.get(f"{API}/nope", headers=admin_headers)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_it_answers_404_to_an_unknown_id(client, admin_headers):
    response = client.patch(f"{USERS}/99999", json={"full_name": "X"}, headers=admin_headers)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_it_answers_404_to_a_non_numeric_id(client, admin_headers):
    response = client.patch(f"{USERS}/abc", json={"full_name": "X"}, headers=admin_headers)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# ---------------------------------------------------------------------- 405


@pytest.mark.parametrize("with_token", [False, True])
def test_it_answers_405_with_the_allowed_methods(client, admin_headers, with_token):
    response = client.delete(USERS, headers=admin_headers if with_token else {})

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


# ---------------------------------------------------------------------- 409


def test_it_answers_409_to_a_duplicate(client, admin_headers):
    assert client.post(USERS, json=A_GOOD_USER, headers=admin_headers).status_code == 201

    response = client.post(USERS, json=A_GOOD_USER, headers=admin_headers)

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict"
    assert [detail["field"] for detail in error["details"]] == ["username"]


# ---------------------------------------------------------------------- 422


def test_it_lists_each_bad_field_once(client, admin_headers):
    response = client.post(
        USERS,
        json={"username": 5, "full_name": ["x"], "role": None, "password": 3},
        headers=admin_headers,
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert sorted(detail_fields(response)) == ["full_name", "password", "role", "username"]


def test_it_names_a_bad_query_parameter(client, admin_headers):
    response = client.get(f"{USERS}?per_page=0&page=abc", headers=admin_headers)

    assert response.status_code == 422
    assert sorted(detail_fields(response)) == ["page", "per_page"]


def test_it_lists_each_rule_broken_in_a_service(client, admin_headers):
    response = client.post(
        USERS,
        json={**A_GOOD_USER, "role": "boss", "password": "short"},
        headers=admin_headers,
    )

    assert response.status_code == 422
    assert sorted(detail_fields(response)) == ["password", "role"]


def test_it_names_a_bad_weekday_of_the_opening_hours(client, admin_headers):
    response = client.post(
        DEPARTMENTS,
        json={"code": "GM", "name": "General", "opening_hours": {"tue": [["17:00", "08:00"]]}},
        headers=admin_headers,
    )

    assert response.status_code == 422
    assert detail_fields(response) == ["opening_hours.tue"]


def test_it_names_every_bad_weekday_of_the_opening_hours(client, admin_headers):
    response = client.post(
        DEPARTMENTS,
        json={
            "code": "GM",
            "name": "General",
            "opening_hours": {"tue": [["17:00", "08:00"]], "wed": "all day"},
        },
        headers=admin_headers,
    )

    assert response.status_code == 422
    assert sorted(detail_fields(response)) == ["opening_hours.tue", "opening_hours.wed"]


def test_it_answers_422_to_a_body_that_is_not_an_object(client, admin_headers):
    response = client.post(USERS, json=[A_GOOD_USER], headers=admin_headers)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {**A_GOOD_USER, "full_name": {"phone": SECRET_PHONE, "name": SECRET_NAME}},
        {**A_GOOD_USER, "full_name": [SECRET_NAME, SECRET_PHONE]},
        {**A_GOOD_USER, "role": SECRET_NAME + SECRET_PHONE},
        {**A_GOOD_USER, "username": SECRET_NAME + SECRET_PHONE},
        {**A_GOOD_USER, "password": "Zebediah9"},  # 9 characters: too short
        {**A_GOOD_USER, "full_name": SECRET_NAME * 20},
    ],
    ids=["object", "list", "bad-role", "bad-username", "short-password", "too-long"],
)
def test_it_never_echoes_the_submitted_values_in_a_422(client, admin_headers, body):
    response = client.post(USERS, json=body, headers=admin_headers)

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert SECRET_NAME not in text
    assert SECRET_PHONE not in text
    assert "Zebediah" not in text


def test_it_never_echoes_an_unknown_weekday_in_a_422(client, admin_headers):
    response = client.post(
        DEPARTMENTS,
        json={"code": "GM", "name": "General", "opening_hours": {SECRET_NAME: []}},
        headers=admin_headers,
    )

    assert response.status_code == 422
    assert detail_fields(response) == ["opening_hours"]
    assert "Zebediah" not in response.get_data(as_text=True)


# ---------------------------------------------------------------------- 429


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ADDRESS": "2 per minute"}])
def test_it_answers_429_in_the_envelope(client):
    for n in range(2):
        assert login(client, f"nobody-{n}", "wrong password!").status_code == 401

    response = login(client, "nobody-3", "wrong password!")

    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert response.headers["Retry-After"] == "60"


# ------------------------------------------------------------------- order


def test_it_checks_the_token_before_the_body(client, admin):
    invalid = client.post(USERS, json={"username": 5})
    malformed = client.post(USERS, data="{bad", content_type="application/json")

    assert invalid.status_code == 401
    assert malformed.status_code == 401
    assert error_of(invalid)["code"] == "unauthorized"


def test_it_checks_the_role_before_the_body(client, clinician_token):
    invalid = client.post(USERS, json={"username": 5}, headers=auth_header(clinician_token))
    malformed = client.post(
        USERS, data="{bad", content_type="application/json", headers=auth_header(clinician_token)
    )

    assert invalid.status_code == 403
    assert malformed.status_code == 403
    assert error_of(invalid)["code"] == "forbidden"


def test_it_checks_the_role_before_the_id(client, clinician_token):
    response = client.patch(
        f"{USERS}/99999", json={"full_name": "X"}, headers=auth_header(clinician_token)
    )

    assert response.status_code == 403


def test_it_checks_the_token_before_the_query(client):
    response = client.get(f"{USERS}?per_page=0")

    assert response.status_code == 401


# -------------------------------------------------------------- HTML pages


def test_it_keeps_html_error_pages_for_html_paths(client):
    response = client.get("/nope")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert '"error"' not in response.get_data(as_text=True)


# ---------------------------------------------------------------------- 500


def test_it_answers_500_in_the_envelope_when_a_view_breaks(client, admin_headers, monkeypatch):
    def broken() -> None:
        raise RuntimeError("database exploded: secret internals")

    monkeypatch.setattr(accounts, "users_query", broken)

    response = client.get(USERS, headers=admin_headers)

    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert error_of(response)["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)


def test_it_rolls_back_what_a_broken_view_wrote(client, admin_headers, monkeypatch):
    from webapp.departments import services as departments

    real_add = departments.add_service_point
    department = DepartmentFactory(code="GM")
    db.session.commit()

    def add_then_break(*args, **kwargs):
        real_add(*args, **kwargs)
        raise RuntimeError("after the insert")

    monkeypatch.setattr(departments, "add_service_point", add_then_break)

    response = client.post(
        f"{DEPARTMENTS}/{department.id}/service-points",
        json={"name": "Room 1"},
        headers=admin_headers,
    )

    assert response.status_code == 500
    db.session.expire_all()
    assert department.service_points == []


# ------------------------------------------------------- never a 5xx (bugs)


def test_it_answers_400_to_deeply_nested_json(client, receptionist):
    body = "[" * 100_000 + "]" * 100_000

    response = client.post(f"{API}/auth/login", data=body, content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


@pytest.mark.parametrize("huge_id", [2**31, 2**63, 10**20])
def test_it_answers_404_to_an_id_beyond_the_database_range(client, admin_headers, huge_id):
    user = client.patch(f"{USERS}/{huge_id}", json={"full_name": "X"}, headers=admin_headers)
    points = client.post(
        f"{DEPARTMENTS}/{huge_id}/service-points", json={"name": "Room 1"}, headers=admin_headers
    )

    assert (user.status_code, points.status_code) == (404, 404)
    assert error_of(user)["code"] == error_of(points)["code"] == "not_found"


def test_it_never_answers_500_to_a_huge_page_number(client, admin_headers):
    response = client.get(f"{USERS}?page={10**20}", headers=admin_headers)

    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.get_json()["items"] == []
    else:
        assert detail_fields(response) == ["page"]


@pytest.mark.postgres
@pytest.mark.parametrize("huge_id", [2**31, 10**20])
def test_it_answers_404_to_an_id_beyond_the_postgres_integer_range(
    pg_client, pg_admin_headers, huge_id
):
    user = pg_client.patch(f"{USERS}/{huge_id}", json={"full_name": "X"}, headers=pg_admin_headers)
    points = pg_client.post(
        f"{DEPARTMENTS}/{huge_id}/service-points", json={"name": "Room 1"}, headers=pg_admin_headers
    )

    assert (user.status_code, points.status_code) == (404, 404)


@pytest.mark.postgres
def test_it_never_answers_500_to_a_huge_page_number_on_postgres(pg_client, pg_admin_headers):
    response = pg_client.get(f"{USERS}?page={10**20}", headers=pg_admin_headers)

    assert response.status_code in (200, 422)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        # NUL is refused before anything else looks at the request: 400 bad_request.
        (f"{API}/auth/login", {"username": "a\x00b", "password": "whatever it is"}, 400),
        (f"{API}/auth/login", {"username": "pg-admin", "password": "a\x00b"}, 400),
        (USERS, {**A_GOOD_USER, "full_name": "Nul\x00Name"}, 400),
        (USERS, {**A_GOOD_USER, "username": "nul\x00name"}, 400),
        (DEPARTMENTS, {"code": "GM", "name": "Nul\x00Name"}, 400),
    ],
    ids=["login-username", "login-password", "user-full-name", "user-username", "department"],
)
def test_it_refuses_a_nul_character_without_a_500(
    pg_client, pg_admin_headers, path, body, expected
):
    response = pg_client.post(path, json=body, headers=pg_admin_headers)

    assert response.status_code == expected
    assert response.status_code != 500


@pytest.mark.postgres
def test_it_refuses_a_nul_character_in_a_patch_or_service_point(pg_client, pg_admin_headers):
    me = pg_client.get(f"{API}/me", headers=pg_admin_headers).get_json()
    department = pg_client.post(
        DEPARTMENTS, json={"code": "GM", "name": "General"}, headers=pg_admin_headers
    ).get_json()

    patch = pg_client.patch(
        f"{USERS}/{me['id']}", json={"full_name": "Nul\x00Name"}, headers=pg_admin_headers
    )
    point = pg_client.post(
        f"{DEPARTMENTS}/{department['id']}/service-points",
        json={"name": "Room\x001"},
        headers=pg_admin_headers,
    )

    assert (patch.status_code, point.status_code) == (400, 400)
