"""The service targets on the admin's department form (webapp/admin/forms.py, views.py,
templates/admin/department_form.html): the defaults on a new department, the current values
on the edit page, a target left empty keeping its value, and a bad one shown next to its field
with what was typed, nothing saved.

Every test runs on in-memory SQLite and on migrated PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.admin.helpers import field_error, flashes, input_value, page_text
from tests.factories import DepartmentFactory
from tests.queue.test_targets import BACKENDS, app_on_backend
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.departments.targets import wait_targets_of
from webapp.extensions import db

DEFAULTS = {"emergency": 0, "urgent": 15, "priority": 30, "routine": 60}
TARGET_IDS = {priority: f"target_{priority}" for priority in DEFAULTS}


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[Flask]:
    yield from app_on_backend(request, app_config)


@pytest.fixture
def general(admin: User) -> Department:
    department = DepartmentFactory(
        code="GM",
        name="General Medicine",
        default_service_minutes=15,
        opening_hours=None,
        wait_targets={**DEFAULTS, "urgent": 20},
    )
    db.session.commit()
    return department


def _form(**overrides: str | None) -> dict[str, str]:
    """The department form as the edit page of ``general`` shows it, with ``overrides``
    (None leaves a field out, as an unticked box)."""
    data: dict[str, str | None] = {
        "code": "GM",
        "name": "General Medicine",
        "default_service_minutes": "15",
        "accepts_walk_ins": "y",
        "active": "y",
        "always_open": "y",
        **{day: "" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "target_emergency": "0",
        "target_urgent": "20",
        "target_priority": "30",
        "target_routine": "60",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _new_form(**overrides: str | None) -> dict[str, str]:
    """The new-department form with every target left empty, then ``overrides``."""
    empty_targets: dict[str, str | None] = {name: "" for name in TARGET_IDS.values()}
    return _form(code="XR", name="Radiology", **{**empty_targets, **overrides})


def _stored(department: Department) -> Department:
    db.session.expire_all()
    again = db.session.get(Department, department.id)
    assert again is not None
    return again


def _updates(department: Department) -> list[AuditLog]:
    return list(
        db.session.scalars(
            select(AuditLog).where(
                AuditLog.action == "department.update", AuditLog.entity_id == department.id
            )
        )
    )


def _shown_targets(body: str) -> dict[str, str | None]:
    return {priority: input_value(body, field_id) for priority, field_id in TARGET_IDS.items()}


# ------------------------------------------------------------ who may


@pytest.mark.parametrize("path", ["/admin/departments/new", "/admin/departments/{id}"])
def test_anonymous_visitors_are_sent_to_sign_in(
    client: FlaskClient, general: Department, path: str
) -> None:
    url = path.format(id=general.id)
    for response in (client.get(url), client.post(url, data=_form(target_routine="1"))):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert wait_targets_of(_stored(general))["routine"] == 60


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician"])
def test_other_staff_may_not_change_the_targets(
    request: pytest.FixtureRequest, general: Department, persona: str
) -> None:
    staff: FlaskClient = request.getfixturevalue(persona)
    url = f"/admin/departments/{general.id}"

    assert staff.get(url).status_code == 403
    assert staff.post(url, data=_form(target_routine="1")).status_code == 403
    assert wait_targets_of(_stored(general))["routine"] == 60
    assert _updates(general) == []


# ------------------------------------------------------------ a new department


def test_the_new_department_page_offers_the_default_targets(as_admin: FlaskClient) -> None:
    response = as_admin.get("/admin/departments/new")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert _shown_targets(body) == {
        "emergency": "0",
        "urgent": "15",
        "priority": "30",
        "routine": "60",
    }
    text = page_text(response)
    assert "Service targets (minutes from check-in to call)" in text
    for label in ("Emergency (min)", "Urgent (min)", "Priority (min)", "Routine (min)"):
        assert label in text
    tag = re.search(r'<input[^>]*id="target_routine"[^>]*>', body)
    assert tag is not None and 'min="0"' in tag.group(0) and 'max="1440"' in tag.group(0)
    assert re.search(r'<label for="target_routine">', body)


def test_a_department_created_with_the_targets_shown_has_the_defaults(
    as_admin: FlaskClient,
) -> None:
    data = _new_form(**{field: str(DEFAULTS[p]) for p, field in TARGET_IDS.items()})

    response = as_admin.post("/admin/departments/new", data=data)

    assert response.status_code == 302
    department = db.session.scalar(select(Department).where(Department.code == "XR"))
    assert department is not None and wait_targets_of(department) == DEFAULTS


def test_a_department_created_with_the_targets_left_empty_has_the_defaults(
    as_admin: FlaskClient,
) -> None:
    response = as_admin.post("/admin/departments/new", data=_new_form())

    assert response.status_code == 302
    department = db.session.scalar(select(Department).where(Department.code == "XR"))
    assert department is not None and wait_targets_of(department) == DEFAULTS
    body = as_admin.get(f"/admin/departments/{department.id}").get_data(as_text=True)
    assert _shown_targets(body) == {p: str(m) for p, m in DEFAULTS.items()}


def test_a_department_is_created_with_the_targets_typed(as_admin: FlaskClient) -> None:
    response = as_admin.post(
        "/admin/departments/new", data=_new_form(target_routine="90", target_emergency="5")
    )

    assert response.status_code == 302
    department = db.session.scalar(select(Department).where(Department.code == "XR"))
    assert department is not None
    assert wait_targets_of(department) == {**DEFAULTS, "routine": 90, "emergency": 5}


def test_a_new_department_with_a_bad_target_is_not_created(as_admin: FlaskClient) -> None:
    response = as_admin.post("/admin/departments/new", data=_new_form(target_urgent="1441"))

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "from 0 to 1440" in (field_error(body, "target_urgent") or "")
    assert input_value(body, "target_urgent") == "1441"
    assert input_value(body, "name") == "Radiology"
    assert db.session.scalar(select(Department).where(Department.code == "XR")) is None


# ------------------------------------------------------------ editing


def test_the_edit_page_shows_the_departments_targets(
    as_admin: FlaskClient, general: Department
) -> None:
    body = as_admin.get(f"/admin/departments/{general.id}").get_data(as_text=True)

    assert _shown_targets(body) == {
        "emergency": "0",
        "urgent": "20",
        "priority": "30",
        "routine": "60",
    }


def test_the_edit_page_of_a_department_never_given_targets_shows_the_defaults(
    as_admin: FlaskClient,
) -> None:
    department = DepartmentFactory(code="PH", wait_targets=None)
    db.session.commit()

    body = as_admin.get(f"/admin/departments/{department.id}").get_data(as_text=True)

    assert _shown_targets(body) == {p: str(m) for p, m in DEFAULTS.items()}


def test_it_saves_a_changed_target_and_audits_it_once(
    as_admin: FlaskClient, admin: User, general: Department
) -> None:
    response = as_admin.post(f"/admin/departments/{general.id}", data=_form(target_routine="45"))

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/departments/{general.id}"
    expected = {**DEFAULTS, "urgent": 20, "routine": 45}
    assert _stored(general).wait_targets == expected
    [entry] = _updates(general)
    assert entry.user_id == admin.id
    assert entry.details == {"wait_targets": [{**DEFAULTS, "urgent": 20}, expected]}
    page = as_admin.get(f"/admin/departments/{general.id}")
    assert any("Saved department GM" in message for message in flashes(page_text(page)))
    assert input_value(page.get_data(as_text=True), "target_routine") == "45"


def test_a_target_left_empty_keeps_its_value(as_admin: FlaskClient, general: Department) -> None:
    data = _form(target_emergency="", target_urgent="", target_priority="", target_routine="45")

    response = as_admin.post(f"/admin/departments/{general.id}", data=data)

    assert response.status_code == 302
    assert wait_targets_of(_stored(general)) == {**DEFAULTS, "urgent": 20, "routine": 45}


def test_targets_not_sent_at_all_keep_their_values(
    as_admin: FlaskClient, general: Department
) -> None:
    # A post without the target fields (a page opened before they existed, a script): the
    # department's own targets stay; they are not put back to the house defaults.
    data = {k: v for k, v in _form(name="Medicine").items() if not k.startswith("target_")}

    response = as_admin.post(f"/admin/departments/{general.id}", data=data)

    assert response.status_code == 302
    stored = _stored(general)
    assert stored.name == "Medicine"
    assert wait_targets_of(stored) == {**DEFAULTS, "urgent": 20}


def test_saving_the_form_as_shown_changes_and_audits_nothing(
    as_admin: FlaskClient, general: Department
) -> None:
    response = as_admin.post(f"/admin/departments/{general.id}", data=_form())

    assert response.status_code == 302
    assert _stored(general).wait_targets == {**DEFAULTS, "urgent": 20}
    assert _updates(general) == []


@pytest.mark.parametrize("minutes", ["0", "1440"])
def test_it_accepts_the_limits(as_admin: FlaskClient, general: Department, minutes: str) -> None:
    response = as_admin.post(f"/admin/departments/{general.id}", data=_form(target_routine=minutes))

    assert response.status_code == 302
    assert wait_targets_of(_stored(general))["routine"] == int(minutes)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "Use a whole number of minutes from 0 to 1440."),
        ("1441", "Use a whole number of minutes from 0 to 1440."),
        ("2.5", "Not a valid integer value."),
        ("soon", "Not a valid integer value."),
    ],
)
def test_a_bad_target_is_shown_next_to_its_field_keeping_what_was_typed(
    as_admin: FlaskClient, general: Department, typed: str, message: str
) -> None:
    data = _form(name="Renamed", target_routine=typed, target_priority="25")

    response = as_admin.post(f"/admin/departments/{general.id}", data=data)

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in (field_error(body, "target_routine") or ""), field_error(
        body, "target_routine"
    )
    for other in ("target_emergency", "target_urgent", "target_priority", "name"):
        assert field_error(body, other) is None
    # What was typed is kept, in this field and the others.
    assert input_value(body, "target_routine") == typed
    assert input_value(body, "target_priority") == "25"
    assert input_value(body, "name") == "Renamed"
    tag = re.search(r'<input[^>]*id="target_routine"[^>]*>', body)
    assert tag is not None and 'aria-invalid="true"' in tag.group(0)
    assert 'aria-describedby="target_routine-error"' in tag.group(0)
    # Nothing was saved.
    stored = _stored(general)
    assert stored.name == "General Medicine"
    assert stored.wait_targets == {**DEFAULTS, "urgent": 20}
    assert _updates(general) == []


def test_every_bad_target_is_shown_at_once(as_admin: FlaskClient, general: Department) -> None:
    data = _form(target_emergency="-5", target_urgent="9999", target_routine="abc")

    response = as_admin.post(f"/admin/departments/{general.id}", data=data)

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    # The form's own check ("abc") comes first; once it passes, the service's range check.
    assert field_error(body, "target_routine") is not None
    data = _form(target_emergency="-5", target_urgent="9999")
    body = as_admin.post(f"/admin/departments/{general.id}", data=data).get_data(as_text=True)
    assert field_error(body, "target_emergency") is not None
    assert field_error(body, "target_urgent") is not None
    assert field_error(body, "target_routine") is None
