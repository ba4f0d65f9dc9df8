"""GET /screens (admins): waiting-room screens with their health, webapp/api/screens.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import API, detail_fields, error_of
from tests.factories import DepartmentFactory
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.screens.services import record_sighting

LIST = f"{API}/screens"
FIELDS = {"id", "name", "department_id", "last_seen_at", "stale", "sound_started", "version"}


@pytest.fixture(params=["embedded", "redis"])
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    config: dict[str, Any] = {
        "LOGIN_LIMIT_PER_USERNAME": "100 per minute",
        "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
    }
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
        config["REDIS_URL"] = url
    return config


@pytest.fixture
def departments(app: Flask) -> tuple[Department, Department]:
    gm = DepartmentFactory(code="GM", name="General Medicine")
    ed = DepartmentFactory(code="ED", name="Emergency")
    db.session.commit()
    return gm, ed


def sighting(key: str, code: str, name: str, sound: bool, at: datetime | None = None) -> None:
    with time_machine.travel(at or datetime.now(UTC), tick=at is None):
        record_sighting(
            key=key, department_code=code, name=name, sound_started=sound, version="20261201.5-1.9"
        )
        db.session.commit()


def test_it_needs_a_token(client: FlaskClient) -> None:
    response = client.get(LIST)
    assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("persona", ["rita", "colin"])
def test_it_refuses_other_staff(
    client: FlaskClient, request: pytest.FixtureRequest, persona: str
) -> None:
    response = client.get(LIST, headers=request.getfixturevalue(persona))
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"


def test_it_lists_every_screen_with_its_health(
    client: FlaskClient, ada: dict[str, str], departments: tuple[Department, Department]
) -> None:
    gm, ed = departments
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    sighting("gm-main-hall", "GM", "Main hall", sound=True)
    sighting("gm-corridor-1", "GM", "Corridor", sound=False, at=long_ago)
    sighting("ed-triage-01", "ED", "Triage", sound=False)

    response = client.get(LIST, headers=ada)

    assert response.status_code == 200
    body = response.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 50)
    assert all(set(item) == FIELDS for item in body["items"])
    by_name = {item["name"]: item for item in body["items"]}
    # By department name, then screen name.
    assert [item["name"] for item in body["items"]] == ["Triage", "Corridor", "Main hall"]
    assert by_name["Main hall"]["stale"] is False and by_name["Main hall"]["sound_started"]
    assert by_name["Corridor"]["stale"] is True and not by_name["Corridor"]["sound_started"]
    assert by_name["Triage"]["department_id"] == ed.id
    assert by_name["Main hall"]["department_id"] == gm.id
    assert by_name["Main hall"]["version"] == "20261201.5-1.9"
    assert datetime.fromisoformat(by_name["Corridor"]["last_seen_at"]) == long_ago
    assert by_name["Corridor"]["last_seen_at"].endswith("+00:00")


def test_it_filters_by_department_and_pages(
    client: FlaskClient, ada: dict[str, str], departments: tuple[Department, Department]
) -> None:
    gm, _ed = departments
    for number in range(3):
        sighting(f"gm-screen-{number}", "GM", f"Screen {number}", sound=True)
    sighting("ed-triage-01", "ED", "Triage", sound=True)

    only_gm = client.get(f"{LIST}?department_id={gm.id}&per_page=2&page=2", headers=ada)

    body = only_gm.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 2, 2)
    assert [item["name"] for item in body["items"]] == ["Screen 2"]
    # An unknown department has no screens (as the other lists treat an unknown filter id).
    unknown = client.get(f"{LIST}?department_id=999999", headers=ada).get_json()
    assert unknown["items"] == [] and unknown["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("department_id=abc", "department_id"),
        ("department_id=0", "department_id"),
        ("department_id=99999999999", "department_id"),
        ("page=0", "page"),
        ("per_page=201", "per_page"),
    ],
)
def test_it_refuses_bad_query_values(
    client: FlaskClient, ada: dict[str, str], query: str, field: str
) -> None:
    response = client.get(f"{LIST}?{query}", headers=ada)
    assert response.status_code == 422
    assert field in detail_fields(response)


def test_it_is_documented(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    operation = document["paths"][LIST]["get"]
    schema_name = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_name.endswith("ScreenList")
