"""PATCH /api/v1/departments/{id} (webapp/api/departments.py), and the service targets that
GET /departments and POST /departments answer.

Only the fields sent change; ``wait_targets`` may name some priorities and the others keep
their value; a bad field is a 422 naming it, with nothing changed. Every test runs on
in-memory SQLite and on migrated PostgreSQL (where wait_targets is a JSON column).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import API, auth_header, detail_fields, error_of, token_pair
from tests.factories import DepartmentFactory
from tests.queue.test_targets import BACKENDS, app_on_backend
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.extensions import db

DEPARTMENTS = f"{API}/departments"
DEFAULTS = {"emergency": 0, "urgent": 15, "priority": 30, "routine": 60}
HOURS = {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "wed": [["09:00", "17:00"]]}


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[Flask]:
    yield from app_on_backend(request, app_config)


@pytest.fixture
def gm(app: Flask) -> Department:
    department = DepartmentFactory(
        code="GM",
        name="General Medicine",
        default_service_minutes=15,
        accepts_walk_ins=True,
        opening_hours=HOURS,
    )
    db.session.commit()
    return department


def _url(department: Department | int) -> str:
    return f"{DEPARTMENTS}/{department if isinstance(department, int) else department.id}"


def _stored(department: Department) -> Department:
    db.session.expire_all()
    again = db.session.get(Department, department.id)
    assert again is not None
    return again


def _snapshot(department: Department) -> dict[str, Any]:
    stored = _stored(department)
    return {
        "code": stored.code,
        "name": stored.name,
        "accepts_walk_ins": stored.accepts_walk_ins,
        "default_service_minutes": stored.default_service_minutes,
        "opening_hours": stored.opening_hours,
        "wait_targets": stored.wait_targets,
        "active": stored.active,
    }


def _updates(department: Department) -> list[AuditLog]:
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(AuditLog.action == "department.update", AuditLog.entity_id == department.id)
            .order_by(AuditLog.id)
        )
    )


def _listed(client: FlaskClient, headers: dict[str, str], department: Department) -> Any:
    response = client.get(DEPARTMENTS, headers=headers)
    assert response.status_code == 200
    [item] = [item for item in response.get_json() if item["id"] == department.id]
    return item


# ------------------------------------------------------------ who may


def test_it_wants_a_token(client: FlaskClient, gm: Department) -> None:
    before = _snapshot(gm)

    response = client.patch(_url(gm), json={"wait_targets": {"routine": 30}})

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert _snapshot(gm) == before


@pytest.mark.parametrize("persona", ["receptionist", "clinician"])
def test_it_lets_only_admins_change_a_department(
    client: FlaskClient, request: pytest.FixtureRequest, gm: Department, persona: str
) -> None:
    before = _snapshot(gm)
    token = token_pair(client, request.getfixturevalue(persona))["access_token"]

    response = client.patch(
        _url(gm),
        json={"name": "Taken over", "wait_targets": {"routine": 30}},
        headers=auth_header(token),
    )

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert _snapshot(gm) == before
    assert _updates(gm) == []


def test_a_wrong_role_is_refused_before_the_body_is_read(
    client: FlaskClient, gm: Department, rita: dict[str, str]
) -> None:
    response = client.patch(_url(gm), json={"wait_targets": {"routine": -1}}, headers=rita)

    assert response.status_code == 403


def test_it_answers_404_for_an_unknown_department(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    response = client.patch(_url(gm.id + 1000), json={"name": "Ghost"}, headers=ada)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# ------------------------------------------------------------ the defaults


@pytest.mark.parametrize("persona", ["receptionist", "clinician", "admin"])
def test_every_role_sees_each_departments_targets_in_the_list(
    client: FlaskClient, request: pytest.FixtureRequest, gm: Department, persona: str
) -> None:
    DepartmentFactory(code="ED", name="Emergency", wait_targets={"urgent": 10})
    db.session.commit()
    token = token_pair(client, request.getfixturevalue(persona))["access_token"]

    response = client.get(DEPARTMENTS, headers=auth_header(token))

    assert response.status_code == 200
    targets = {item["code"]: item["wait_targets"] for item in response.get_json()}
    assert targets == {"GM": DEFAULTS, "ED": {**DEFAULTS, "urgent": 10}}


def test_a_department_created_through_the_api_has_the_default_targets(
    client: FlaskClient, ada: dict[str, str]
) -> None:
    response = client.post(DEPARTMENTS, json={"code": "XR", "name": "Radiology"}, headers=ada)

    assert response.status_code == 201
    assert response.get_json()["wait_targets"] == DEFAULTS
    listed = client.get(DEPARTMENTS, headers=ada).get_json()
    assert [item["wait_targets"] for item in listed] == [DEFAULTS]


# ------------------------------------------------------------ the targets


def test_it_changes_one_target_and_keeps_the_others(
    client: FlaskClient, admin: User, gm: Department, ada: dict[str, str]
) -> None:
    response = client.patch(_url(gm), json={"wait_targets": {"routine": 45}}, headers=ada)

    assert response.status_code == 200
    expected = {**DEFAULTS, "routine": 45}
    assert response.get_json()["wait_targets"] == expected
    assert _stored(gm).wait_targets == expected
    assert _listed(client, ada, gm) == response.get_json()
    [entry] = _updates(gm)
    assert entry.user_id == admin.id
    assert entry.details == {"wait_targets": [DEFAULTS, expected]}


def test_a_second_partial_change_keeps_the_first(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    first = client.patch(_url(gm), json={"wait_targets": {"urgent": 10}}, headers=ada)
    second = client.patch(_url(gm), json={"wait_targets": {"routine": 90}}, headers=ada)

    assert first.status_code == second.status_code == 200
    expected = {**DEFAULTS, "urgent": 10, "routine": 90}
    assert second.get_json()["wait_targets"] == expected
    assert _stored(gm).wait_targets == expected
    assert len(_updates(gm)) == 2


def test_it_sets_every_target_at_once(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    targets = {"emergency": 5, "urgent": 20, "priority": 40, "routine": 120}

    response = client.patch(_url(gm), json={"wait_targets": targets}, headers=ada)

    assert response.status_code == 200
    assert response.get_json()["wait_targets"] == targets


@pytest.mark.parametrize("minutes", [0, 1440])
def test_it_accepts_the_limits(
    client: FlaskClient, gm: Department, ada: dict[str, str], minutes: int
) -> None:
    response = client.patch(_url(gm), json={"wait_targets": {"routine": minutes}}, headers=ada)

    assert response.status_code == 200
    assert response.get_json()["wait_targets"]["routine"] == minutes
    assert _stored(gm).wait_targets == {**DEFAULTS, "routine": minutes}


@pytest.mark.parametrize("body", [{"wait_targets": {}}, {"wait_targets": {"routine": 60}}, {}])
def test_sending_what_is_already_there_changes_nothing_and_is_not_audited(
    client: FlaskClient, gm: Department, ada: dict[str, str], body: dict[str, Any]
) -> None:
    before = _snapshot(gm)

    response = client.patch(_url(gm), json=body, headers=ada)

    assert response.status_code == 200
    assert response.get_json()["wait_targets"] == DEFAULTS
    assert _snapshot(gm) == before
    assert _updates(gm) == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (-1, "wait_targets.routine"),
        (1441, "wait_targets.routine"),
        (2.5, "wait_targets.routine"),
        ("15", "wait_targets.routine"),
        (True, "wait_targets.routine"),
        (None, "wait_targets.routine"),
        ([60], "wait_targets.routine"),
    ],
    ids=["-1", "1441", "2.5", "text", "true", "null", "list"],
)
def test_it_refuses_a_target_that_is_not_whole_minutes_from_0_to_1440(
    client: FlaskClient, gm: Department, ada: dict[str, str], value: Any, field: str
) -> None:
    before = _snapshot(gm)

    response = client.patch(
        _url(gm), json={"wait_targets": {"routine": value, "urgent": 5}}, headers=ada
    )

    assert response.status_code == 422, response.get_json()
    assert error_of(response)["code"] == "validation_error"
    assert detail_fields(response) == [field]
    assert _snapshot(gm) == before
    assert _updates(gm) == []


def test_it_refuses_an_unknown_priority(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    before = _snapshot(gm)

    response = client.patch(
        _url(gm), json={"wait_targets": {"triage_red": 5, "routine": 30}}, headers=ada
    )

    assert response.status_code == 422
    [field] = detail_fields(response)
    assert field in {"wait_targets", "wait_targets.triage_red"}
    assert _snapshot(gm) == before


@pytest.mark.parametrize("value", [None, [], "routine", 30])
def test_it_refuses_targets_that_are_not_an_object(
    client: FlaskClient, gm: Department, ada: dict[str, str], value: Any
) -> None:
    before = _snapshot(gm)

    response = client.patch(_url(gm), json={"wait_targets": value}, headers=ada)

    assert response.status_code == 422
    assert detail_fields(response) == ["wait_targets"]
    assert _snapshot(gm) == before


def test_a_bad_target_keeps_the_other_fields_of_the_body_from_changing(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    before = _snapshot(gm)

    response = client.patch(
        _url(gm),
        json={"name": "Renamed", "accepts_walk_ins": False, "wait_targets": {"urgent": 5000}},
        headers=ada,
    )

    assert response.status_code == 422
    assert detail_fields(response) == ["wait_targets.urgent"]
    assert _snapshot(gm) == before
    assert _updates(gm) == []


def test_it_names_every_bad_field_at_once(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    response = client.patch(
        _url(gm),
        json={
            "name": "   ",
            "opening_hours": {"tue": [["17:00", "08:00"]]},
            "wait_targets": {"routine": -1, "urgent": 1441},
        },
        headers=ada,
    )

    assert response.status_code == 422
    assert sorted(detail_fields(response)) == [
        "name",
        "opening_hours.tue",
        "wait_targets.routine",
        "wait_targets.urgent",
    ]


# ------------------------------------------------------------ the other settings


def test_it_changes_the_other_settings_and_audits_them_once(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    response = client.patch(
        _url(gm),
        json={
            "name": "  General Medicine East ",
            "accepts_walk_ins": False,
            "default_service_minutes": 30,
            "opening_hours": {"fri": [["13:00", "17:00"], ["08:00", "12:00"]]},
            "wait_targets": {"priority": 25},
        },
        headers=ada,
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["code"] == "GM"
    assert body["name"] == "General Medicine East"
    assert body["accepts_walk_ins"] is False
    assert body["default_service_minutes"] == 30
    assert body["opening_hours"] == {"fri": [["08:00", "12:00"], ["13:00", "17:00"]]}
    assert body["wait_targets"] == {**DEFAULTS, "priority": 25}
    stored = _snapshot(gm)
    assert stored["name"] == "General Medicine East" and stored["accepts_walk_ins"] is False
    assert stored["opening_hours"] == body["opening_hours"]
    [entry] = _updates(gm)
    assert entry.details is not None
    assert set(entry.details) == {
        "name",
        "accepts_walk_ins",
        "default_service_minutes",
        "opening_hours",
        "wait_targets",
    }


@pytest.mark.parametrize(
    ("change", "attribute", "value"),
    [
        ({"name": "Medicine"}, "name", "Medicine"),
        ({"accepts_walk_ins": False}, "accepts_walk_ins", False),
        ({"default_service_minutes": 1}, "default_service_minutes", 1),
        ({"default_service_minutes": 480}, "default_service_minutes", 480),
    ],
)
def test_it_changes_only_the_field_sent(
    client: FlaskClient,
    gm: Department,
    ada: dict[str, str],
    change: dict[str, Any],
    attribute: str,
    value: Any,
) -> None:
    before = _snapshot(gm)

    response = client.patch(_url(gm), json=change, headers=ada)

    assert response.status_code == 200
    assert _snapshot(gm) == {**before, attribute: value}
    [entry] = _updates(gm)
    assert entry.details == {attribute: [before[attribute], value]}


def test_null_opening_hours_mean_open_at_all_hours(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    response = client.patch(_url(gm), json={"opening_hours": None}, headers=ada)

    assert response.status_code == 200
    assert response.get_json()["opening_hours"] is None
    assert _stored(gm).opening_hours is None
    [entry] = _updates(gm)
    assert entry.details == {"opening_hours": [HOURS, None]}


def test_leaving_the_opening_hours_out_keeps_them(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    response = client.patch(_url(gm), json={"name": "Medicine"}, headers=ada)

    assert response.status_code == 200
    assert response.get_json()["opening_hours"] == HOURS
    assert _stored(gm).opening_hours == HOURS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": None}, "name"),
        ({"accepts_walk_ins": None}, "accepts_walk_ins"),
        ({"default_service_minutes": 0}, "default_service_minutes"),
        ({"default_service_minutes": 481}, "default_service_minutes"),
        ({"default_service_minutes": None}, "default_service_minutes"),
        ({"opening_hours": {"tue": [["17:00", "08:00"]]}}, "opening_hours.tue"),
        ({"opening_hours": {"monday": [["08:00", "17:00"]]}}, "opening_hours"),
        ({"opening_hours": {"sat": [["08:00", "12:00"], ["11:00", "14:00"]]}}, "opening_hours.sat"),
    ],
    ids=[
        "name-empty",
        "name-blank",
        "name-too-long",
        "name-null",
        "walk-ins-null",
        "minutes-0",
        "minutes-481",
        "minutes-null",
        "hours-backwards",
        "hours-unknown-day",
        "hours-overlap",
    ],
)
def test_it_validates_the_other_settings(
    client: FlaskClient, gm: Department, ada: dict[str, str], body: dict[str, Any], field: str
) -> None:
    before = _snapshot(gm)

    response = client.patch(_url(gm), json=body, headers=ada)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert detail_fields(response) == [field]
    assert _snapshot(gm) == before


def test_the_code_cannot_be_changed_here(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    # Like the other PATCH bodies, fields the operation does not know are ignored.
    alone = client.patch(_url(gm), json={"code": "XX"}, headers=ada)
    with_a_name = client.patch(_url(gm), json={"code": "XX", "name": "Medicine"}, headers=ada)

    assert alone.status_code == 200 and alone.get_json()["code"] == "GM"
    assert with_a_name.status_code == 200 and with_a_name.get_json()["code"] == "GM"
    assert _stored(gm).code == "GM" and _stored(gm).name == "Medicine"
    [entry] = _updates(gm)  # the name only
    assert entry.details == {"name": ["General Medicine", "Medicine"]}


def test_the_answer_has_the_listing_shape(
    client: FlaskClient, gm: Department, ada: dict[str, str]
) -> None:
    response = client.patch(_url(gm), json={"wait_targets": {"urgent": 12}}, headers=ada)

    assert response.status_code == 200
    assert set(response.get_json()) == {
        "id",
        "code",
        "name",
        "accepts_walk_ins",
        "default_service_minutes",
        "opening_hours",
        "active",
        "wait_targets",
        "service_points",
    }


def test_the_document_describes_the_patch_and_its_target_limits(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()

    operation = document["paths"]["/api/v1/departments/{id}"]["patch"]
    assert operation["security"]
    schemas = document["components"]["schemas"]
    targets = schemas["WaitTargetsBody"]["properties"]
    assert set(targets) == set(DEFAULTS)
    for priority in DEFAULTS:
        assert targets[priority]["minimum"] == 0 and targets[priority]["maximum"] == 1440
    assert schemas["WaitTargetsBody"].get("additionalProperties") is False
