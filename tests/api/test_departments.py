"""POST /departments, GET /departments, POST /departments/{id}/service-points.

(webapp/api/departments.py)
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.api.conftest import API, auth_header, detail_fields, error_of, token_pair
from tests.factories import DepartmentFactory, ServicePointFactory
from webapp.audit.models import AuditLog
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db

DEPARTMENTS = f"{API}/departments"
GENERAL = {"code": "GM", "name": "General Medicine"}
WEEKDAY_HOURS = {"mon": [["08:00", "17:00"]], "tue": [["08:00", "12:00"], ["13:00", "17:00"]]}


def _points(department_id: int) -> str:
    return f"{DEPARTMENTS}/{department_id}/service-points"


def _department_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Department)) or 0


@pytest.fixture
def department(app):
    department = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    return department


# ---------------------------------------------------------- create: access


def test_it_wants_a_token_to_create_a_department(client):
    response = client.post(DEPARTMENTS, json=GENERAL)

    assert response.status_code == 401
    assert _department_count() == 0


@pytest.mark.parametrize("persona", ["receptionist", "clinician"])
def test_it_lets_only_admins_create_a_department(client, request, persona):
    token = token_pair(client, request.getfixturevalue(persona))["access_token"]

    response = client.post(DEPARTMENTS, json=GENERAL, headers=auth_header(token))

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert _department_count() == 0


# --------------------------------------------------------- create: content


def test_it_creates_a_department_with_the_defaults(client, admin, admin_headers):
    response = client.post(DEPARTMENTS, json=GENERAL, headers=admin_headers)

    assert response.status_code == 201
    body = response.get_json()
    assert body["code"] == "GM"
    assert body["name"] == "General Medicine"
    assert body["accepts_walk_ins"] is True
    assert body["default_service_minutes"] == 15
    assert body["opening_hours"] is None  # open at all hours
    assert body["service_points"] == []
    assert isinstance(body["id"], int)
    stored = db.session.get(Department, body["id"])
    assert stored is not None and stored.opening_hours is None
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "department.create"))
    assert entry is not None and entry.user_id == admin.id


def test_it_creates_a_department_with_every_field(client, admin_headers):
    response = client.post(
        DEPARTMENTS,
        json={
            **GENERAL,
            "accepts_walk_ins": False,
            "default_service_minutes": 30,
            "opening_hours": WEEKDAY_HOURS,
        },
        headers=admin_headers,
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["accepts_walk_ins"] is False
    assert body["default_service_minutes"] == 30
    assert body["opening_hours"] == WEEKDAY_HOURS


def test_it_treats_null_opening_hours_as_all_hours(client, admin_headers):
    response = client.post(
        DEPARTMENTS, json={**GENERAL, "opening_hours": None}, headers=admin_headers
    )

    assert response.status_code == 201
    assert response.get_json()["opening_hours"] is None


def test_it_sorts_opening_intervals_and_drops_closed_days(client, admin_headers):
    response = client.post(
        DEPARTMENTS,
        json={
            **GENERAL,
            "opening_hours": {"wed": [["13:00", "24:00"], ["08:00", "12:00"]], "sun": []},
        },
        headers=admin_headers,
    )

    assert response.status_code == 201
    assert response.get_json()["opening_hours"] == {"wed": [["08:00", "12:00"], ["13:00", "24:00"]]}


def test_it_refuses_a_duplicate_code(client, admin_headers, department):
    response = client.post(
        DEPARTMENTS, json={"code": "GM", "name": "Another"}, headers=admin_headers
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert detail_fields(response) == ["code"]
    assert _department_count() == 1


@pytest.mark.parametrize("code", ["gm", "GENER", "G1", "", "G M", "ÉM"])
def test_it_refuses_a_code_that_is_not_one_to_four_capitals(client, admin_headers, code):
    response = client.post(DEPARTMENTS, json={**GENERAL, "code": code}, headers=admin_headers)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert detail_fields(response) == ["code"]
    assert _department_count() == 0


@pytest.mark.parametrize("code", ["G", "ABCD"])
def test_it_accepts_codes_of_one_to_four_capitals(client, admin_headers, code):
    response = client.post(DEPARTMENTS, json={**GENERAL, "code": code}, headers=admin_headers)

    assert response.status_code == 201
    assert response.get_json()["code"] == code


@pytest.mark.parametrize("minutes", [0, 481, -5])
def test_it_refuses_a_service_time_out_of_range(client, admin_headers, minutes):
    response = client.post(
        DEPARTMENTS, json={**GENERAL, "default_service_minutes": minutes}, headers=admin_headers
    )

    assert response.status_code == 422
    assert detail_fields(response) == ["default_service_minutes"]


def test_it_lists_every_missing_field_of_a_department(client, admin_headers):
    response = client.post(DEPARTMENTS, json={}, headers=admin_headers)

    assert response.status_code == 422
    assert sorted(detail_fields(response)) == ["code", "name"]


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ({"tue": [["17:00", "08:00"]]}, "opening_hours.tue"),
        ({"tue": [["08:00", "08:00"]]}, "opening_hours.tue"),
        ({"mon": [["8:00", "17:00"]]}, "opening_hours.mon"),
        ({"mon": [["08:00", "25:00"]]}, "opening_hours.mon"),
        ({"fri": [["08:00"]]}, "opening_hours.fri"),
        ({"fri": "08:00-17:00"}, "opening_hours.fri"),
        ({"sat": [["08:00", "12:00"], ["11:00", "14:00"]]}, "opening_hours.sat"),
        ({"monday": [["08:00", "17:00"]]}, "opening_hours"),
        (["08:00", "17:00"], "opening_hours"),
        ("always", "opening_hours"),
    ],
    ids=[
        "ends-before-start",
        "empty-interval",
        "one-digit-hour",
        "hour-25",
        "one-time",
        "not-a-list",
        "overlap",
        "unknown-day",
        "a-list",
        "a-string",
    ],
)
def test_it_validates_the_opening_hours(client, admin_headers, hours, field):
    response = client.post(
        DEPARTMENTS, json={**GENERAL, "opening_hours": hours}, headers=admin_headers
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert detail_fields(response) == [field]
    assert _department_count() == 0


def test_it_reports_the_code_and_the_hours_together(client, admin_headers):
    response = client.post(
        DEPARTMENTS,
        json={"code": "gm", "name": "General", "opening_hours": {"tue": [["17:00", "08:00"]]}},
        headers=admin_headers,
    )

    assert response.status_code == 422
    assert sorted(detail_fields(response)) == ["code", "opening_hours.tue"]


# -------------------------------------------------------------------- list


def test_it_wants_a_token_to_list_departments(client, department):
    response = client.get(DEPARTMENTS)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("persona", ["receptionist", "clinician", "admin"])
def test_it_lists_departments_with_their_service_points(client, request, persona, department):
    room = ServicePointFactory(department=department, name="Room 1")
    DepartmentFactory(code="ED", name="Emergency")
    db.session.commit()
    token = token_pair(client, request.getfixturevalue(persona))["access_token"]

    response = client.get(DEPARTMENTS, headers=auth_header(token))

    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body, list)  # a plain list, not the paged envelope
    assert [item["code"] for item in body] == ["ED", "GM"]  # by name
    general = body[1]
    assert {"id", "code", "name", "accepts_walk_ins", "service_points"} <= set(general)
    assert general["id"] == department.id
    assert general["name"] == "General Medicine"
    assert general["accepts_walk_ins"] is True
    assert len(general["service_points"]) == 1
    assert {"id", "name"} <= set(general["service_points"][0])
    assert general["service_points"][0]["id"] == room.id
    assert general["service_points"][0]["name"] == "Room 1"
    assert body[0]["service_points"] == []


def test_it_lists_no_departments_as_an_empty_list(client, admin_headers):
    response = client.get(DEPARTMENTS, headers=admin_headers)

    assert response.status_code == 200
    assert response.get_json() == []


# ------------------------------------------------------------ service points


def test_it_wants_a_token_to_add_a_service_point(client, department):
    response = client.post(_points(department.id), json={"name": "Room 1"})

    assert response.status_code == 401


@pytest.mark.parametrize("persona", ["receptionist", "clinician"])
def test_it_lets_only_admins_add_a_service_point(client, request, persona, department):
    token = token_pair(client, request.getfixturevalue(persona))["access_token"]

    response = client.post(
        _points(department.id), json={"name": "Room 1"}, headers=auth_header(token)
    )

    assert response.status_code == 403
    db.session.expire_all()
    assert department.service_points == []


def test_it_adds_a_service_point(client, admin, admin_headers, department):
    response = client.post(_points(department.id), json={"name": " Room 1 "}, headers=admin_headers)

    assert response.status_code == 201
    body = response.get_json()
    assert {"id", "name", "department_id"} <= set(body)
    assert body["name"] == "Room 1"
    assert body["department_id"] == department.id
    point = db.session.get(ServicePoint, body["id"])
    assert point is not None and point.department_id == department.id
    listed = client.get(DEPARTMENTS, headers=admin_headers).get_json()
    assert listed[0]["service_points"][0]["id"] == body["id"]


def test_it_answers_404_for_service_points_of_an_unknown_department(client, admin_headers):
    response = client.post(_points(99999), json={"name": "Room 1"}, headers=admin_headers)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("name", ["Room 1", "room 1", "ROOM 1 "])
def test_it_refuses_a_duplicate_service_point_name(client, admin_headers, department, name):
    ServicePointFactory(department=department, name="Room 1")
    db.session.commit()

    response = client.post(_points(department.id), json={"name": name}, headers=admin_headers)

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert detail_fields(response) == ["name"]


def test_it_allows_one_name_in_two_departments(client, admin_headers, department):
    ServicePointFactory(department=department, name="Room 1")
    other = DepartmentFactory(code="ED", name="Emergency")
    db.session.commit()

    response = client.post(_points(other.id), json={"name": "Room 1"}, headers=admin_headers)

    assert response.status_code == 201


@pytest.mark.parametrize("name", ["", "   "])
def test_it_refuses_an_empty_service_point_name(client, admin_headers, department, name):
    response = client.post(_points(department.id), json={"name": name}, headers=admin_headers)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert detail_fields(response) == ["name"]


def test_it_wants_a_service_point_name(client, admin_headers, department):
    response = client.post(_points(department.id), json={}, headers=admin_headers)

    assert response.status_code == 422
    assert detail_fields(response) == ["name"]
