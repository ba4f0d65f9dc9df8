"""The department pages: create and edit departments, add and change their service points."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.admin.helpers import field_error, flashes, input_value, is_checked, page_text
from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory
from webapp.database import utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.queue.models import Ticket

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _department_form(**overrides: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {
        "code": "xr",
        "name": "Radiology",
        "default_service_minutes": "25",
        "accepts_walk_ins": "y",
        "active": "y",
        "mon": "08:00-12:00, 13:00-17:00",
        "tue": "8-12",
        "wed": "",
        "thu": "",
        "fri": "9:30-16",
        "sat": "closed",
        "sun": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _department_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Department)) or 0


@pytest.fixture
def general(admin: object) -> Department:
    department = DepartmentFactory(
        code="GM",
        name="General Medicine",
        default_service_minutes=15,
        accepts_walk_ins=True,
        opening_hours={
            "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
            "wed": [["09:00", "24:00"]],
        },
    )
    db.session.commit()
    return department


@pytest.fixture
def room(general: Department) -> ServicePoint:
    point = ServicePointFactory(department=general, name="Room 1")
    db.session.commit()
    return point


# ----------------------------------------------------------------- create


def test_it_creates_a_department_from_the_form(as_admin: FlaskClient) -> None:
    response = as_admin.post("/admin/departments/new", data=_department_form())

    assert response.status_code == 302
    department = db.session.scalar(select(Department).where(Department.code == "XR"))
    assert department is not None
    assert response.headers["Location"] == f"/admin/departments/{department.id}"
    assert department.name == "Radiology"
    assert department.default_service_minutes == 25
    assert department.accepts_walk_ins is True
    assert department.active is True
    assert department.opening_hours == {
        "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
        "tue": [["08:00", "12:00"]],
        "fri": [["09:30", "16:00"]],
    }
    assert any("Department XR created" in m for m in flashes(page_text(as_admin.get("/"))))


def test_it_stores_no_opening_hours_when_always_open_is_ticked(as_admin: FlaskClient) -> None:
    response = as_admin.post(
        "/admin/departments/new", data=_department_form(always_open="y", accepts_walk_ins=None)
    )

    assert response.status_code == 302
    department = db.session.scalar(select(Department).where(Department.code == "XR"))
    assert department is not None
    assert department.opening_hours is None
    assert department.accepts_walk_ins is False


def test_it_offers_sensible_defaults_on_the_new_department_page(as_admin: FlaskClient) -> None:
    body = as_admin.get("/admin/departments/new").get_data(as_text=True)

    assert input_value(body, "default_service_minutes") == "15"
    assert is_checked(body, "always_open")
    assert is_checked(body, "accepts_walk_ins")
    assert is_checked(body, "active")


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"code": "TOOLONG"}, "code", "1 to 4 capital letters"),
        ({"code": "G1"}, "code", "1 to 4 capital letters"),
        ({"code": ""}, "code", "Enter a code"),
        ({"name": "   "}, "name", "Enter the department's name."),
        ({"default_service_minutes": "0"}, "default_service_minutes", "from 1 to 480"),
        ({"default_service_minutes": "481"}, "default_service_minutes", "from 1 to 480"),
        ({"mon": "08:00-12:00, 11:00-13:00"}, "mon", "overlap"),
        ({"mon": "12:00-08:00"}, "mon", "must end after it starts"),
        ({"mon": "25:00-26:00"}, "mon", "HH:MM"),
        ({"thu": "9am to 5pm"}, "thu", "08:00-12:00, 13:00-17:00"),
    ],
    ids=[
        "code-too-long",
        "code-digit",
        "code-missing",
        "name-blank",
        "minutes-0",
        "minutes-481",
        "overlap",
        "end-before-start",
        "bad-time",
        "unreadable",
    ],
)
def test_it_refuses_a_bad_department_showing_the_error_by_the_field_and_keeping_input(
    as_admin: FlaskClient, overrides: dict[str, str], field: str, expected: str
) -> None:
    before = _department_count()
    data = _department_form(**overrides)

    response = as_admin.post("/admin/departments/new", data=data)

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    error = field_error(body, field)
    assert error is not None and expected in error, error
    assert (input_value(body, "code") or "") == data["code"].upper()
    assert (input_value(body, "name") or "") == data["name"].strip()
    assert input_value(body, "default_service_minutes") == data["default_service_minutes"]
    for day in WEEKDAYS:
        assert (input_value(body, day) or "") == data[day]
    assert not is_checked(body, "always_open")
    assert _department_count() == before


def test_it_refuses_a_duplicate_code_whatever_its_case(
    as_admin: FlaskClient, general: Department
) -> None:
    before = _department_count()

    response = as_admin.post("/admin/departments/new", data=_department_form(code="gm"))

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "The department code GM is already in use." in (field_error(body, "code") or "")
    assert input_value(body, "name") == "Radiology"
    assert _department_count() == before


@pytest.mark.parametrize(
    ("day", "text", "expected"),
    [
        ("tue", "08:00-12:00, 11:00-13:00", "overlap"),
        ("wed", "17:00-09:00", "must end after it starts"),
        ("sun", "25:00-26:00", "HH:MM"),
    ],
)
def test_it_shows_an_opening_hours_error_next_to_the_weekday_it_concerns(
    as_admin: FlaskClient, day: str, text: str, expected: str
) -> None:
    response = as_admin.post("/admin/departments/new", data=_department_form(**{day: text}))

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert expected in (field_error(body, day) or ""), "the error is not next to the day's field"
    assert field_error(body, "mon") is None, "Monday's (valid) hours are marked as wrong"


# ------------------------------------------------------------------ edit


def test_it_fills_the_edit_page_with_the_departments_values(
    as_admin: FlaskClient, general: Department
) -> None:
    body = as_admin.get(f"/admin/departments/{general.id}").get_data(as_text=True)

    assert input_value(body, "code") == "GM"
    assert input_value(body, "name") == "General Medicine"
    assert input_value(body, "default_service_minutes") == "15"
    assert input_value(body, "mon") == "08:00-12:00, 13:00-17:00"
    assert input_value(body, "wed") == "09:00-24:00"
    assert input_value(body, "tue") in (None, "")
    assert not is_checked(body, "always_open")
    assert is_checked(body, "accepts_walk_ins")


def test_it_ticks_always_open_on_the_edit_page_of_a_department_without_hours(
    as_admin: FlaskClient,
) -> None:
    department = DepartmentFactory(code="PH", opening_hours=None)
    db.session.commit()

    body = as_admin.get(f"/admin/departments/{department.id}").get_data(as_text=True)

    assert is_checked(body, "always_open")


def test_it_keeps_unchanged_values_when_the_edit_form_is_saved_as_shown(
    as_admin: FlaskClient, general: Department
) -> None:
    data = _department_form(
        code="GM",
        name="General Medicine",
        default_service_minutes="15",
        mon="08:00-12:00, 13:00-17:00",
        tue="",
        wed="09:00-24:00",
        fri="",
        sat="",
    )

    response = as_admin.post(f"/admin/departments/{general.id}", data=data)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/departments/{general.id}"
    db.session.expire_all()
    assert general.code == "GM" and general.name == "General Medicine"
    assert general.default_service_minutes == 15
    assert general.opening_hours == {
        "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
        "wed": [["09:00", "24:00"]],
    }


def test_it_changes_a_departments_values(as_admin: FlaskClient, general: Department) -> None:
    data = _department_form(
        code="gmx",
        name="General Medicine East",
        default_service_minutes="30",
        accepts_walk_ins=None,
        active=None,
    )

    response = as_admin.post(f"/admin/departments/{general.id}", data=data)

    assert response.status_code == 302
    db.session.expire_all()
    assert general.code == "GMX"
    assert general.name == "General Medicine East"
    assert general.default_service_minutes == 30
    assert general.accepts_walk_ins is False
    assert general.active is False
    assert general.opening_hours["tue"] == [["08:00", "12:00"]]
    body = as_admin.get(f"/admin/departments/{general.id}").get_data(as_text=True)
    assert input_value(body, "tue") == "08:00-12:00"
    assert input_value(body, "fri") == "09:30-16:00"


def test_it_clears_the_hours_when_always_open_is_ticked_on_edit(
    as_admin: FlaskClient, general: Department
) -> None:
    data = _department_form(code="GM", name="General Medicine", always_open="y")

    response = as_admin.post(f"/admin/departments/{general.id}", data=data)

    assert response.status_code == 302
    db.session.expire_all()
    assert general.opening_hours is None


def test_it_refuses_a_bad_edit_keeping_what_was_typed_and_changing_nothing(
    as_admin: FlaskClient, general: Department
) -> None:
    DepartmentFactory(code="LAB")
    db.session.commit()
    data = _department_form(code="lab", name="Renamed", mon="9am to 5pm")

    response = as_admin.post(f"/admin/departments/{general.id}", data=data)

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert field_error(body, "mon") is not None
    assert input_value(body, "mon") == "9am to 5pm"
    assert input_value(body, "name") == "Renamed"
    db.session.expire_all()
    assert general.code == "GM" and general.name == "General Medicine"


def test_it_refuses_to_take_another_departments_code_on_edit(
    as_admin: FlaskClient, general: Department
) -> None:
    DepartmentFactory(code="LAB")
    db.session.commit()

    response = as_admin.post(
        f"/admin/departments/{general.id}", data=_department_form(code="lab", name="Renamed")
    )

    assert response.status_code == 422
    assert "LAB is already in use" in (field_error(response.get_data(as_text=True), "code") or "")
    db.session.expire_all()
    assert general.code == "GM" and general.name == "General Medicine"


def test_it_lists_departments_with_their_hours_summary(
    as_admin: FlaskClient, general: Department
) -> None:
    DepartmentFactory(code="PH", name="Pharmacy", opening_hours=None)
    db.session.commit()

    body = page_text(as_admin.get("/admin/departments"))

    assert "General Medicine" in body and "Pharmacy" in body
    assert "2 days a week" in body and "All hours" in body


def test_it_returns_404_for_an_unknown_department(as_admin: FlaskClient) -> None:
    assert as_admin.get("/admin/departments/9999").status_code == 404


# --------------------------------------------------------- service points


def test_it_adds_a_service_point(as_admin: FlaskClient, general: Department) -> None:
    response = as_admin.post(
        f"/admin/departments/{general.id}/service-points", data={"new-name": "  Room 7 "}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/departments/{general.id}"
    names = db.session.scalars(
        select(ServicePoint.name).where(ServicePoint.department_id == general.id)
    ).all()
    assert names == ["Room 7"]
    assert 'value="Room 7"' in as_admin.get(f"/admin/departments/{general.id}").get_data(
        as_text=True
    )


def test_it_refuses_a_duplicate_service_point_name_in_the_same_department(
    as_admin: FlaskClient, general: Department, room: ServicePoint
) -> None:
    response = as_admin.post(
        f"/admin/departments/{general.id}/service-points", data={"new-name": "ROOM 1"}
    )

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "already has a service point called “ROOM 1”" in (field_error(body, "new-name") or "")
    assert input_value(body, "new-name") == "ROOM 1"
    assert input_value(body, "code") == "GM"  # the department form is still shown, filled in
    assert input_value(body, "mon") == "08:00-12:00, 13:00-17:00"
    count = db.session.scalar(
        select(func.count())
        .select_from(ServicePoint)
        .where(ServicePoint.department_id == general.id)
    )
    assert count == 1


def test_it_allows_the_same_service_point_name_in_another_department(
    as_admin: FlaskClient, room: ServicePoint
) -> None:
    other = DepartmentFactory(code="PED")
    db.session.commit()

    response = as_admin.post(
        f"/admin/departments/{other.id}/service-points", data={"new-name": "Room 1"}
    )

    assert response.status_code == 302
    assert (
        db.session.scalar(
            select(func.count()).select_from(ServicePoint).where(ServicePoint.name == "Room 1")
        )
        == 2
    )


def test_it_refuses_an_empty_service_point_name(as_admin: FlaskClient, general: Department) -> None:
    response = as_admin.post(
        f"/admin/departments/{general.id}/service-points", data={"new-name": "   "}
    )

    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "new-name") is not None
    assert not general.service_points


def test_it_renames_a_service_point(as_admin: FlaskClient, room: ServicePoint) -> None:
    response = as_admin.post(
        f"/admin/service-points/{room.id}", data={f"sp{room.id}-name": "Consulting Room 1"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/departments/{room.department_id}"
    db.session.expire_all()
    assert room.name == "Consulting Room 1"
    assert any("Renamed to Consulting Room 1" in m for m in flashes(page_text(as_admin.get("/"))))


def test_it_refuses_to_rename_a_service_point_to_a_taken_name(
    as_admin: FlaskClient, general: Department, room: ServicePoint
) -> None:
    second = ServicePointFactory(department=general, name="Room 2")
    db.session.commit()

    response = as_admin.post(
        f"/admin/service-points/{second.id}",
        data={f"sp{second.id}-name": "room 1"},
        follow_redirects=True,
    )

    assert "already has a service point called “room 1”" in " ".join(flashes(page_text(response)))
    db.session.expire_all()
    assert second.name == "Room 2"


def test_it_deactivates_and_reactivates_a_service_point(
    as_admin: FlaskClient, room: ServicePoint
) -> None:
    response = as_admin.post(f"/admin/service-points/{room.id}/deactivate")

    assert response.status_code == 302
    db.session.expire_all()
    assert room.active is False
    assert "Room 1 is now inactive" in " ".join(flashes(page_text(as_admin.get("/"))))

    response = as_admin.post(f"/admin/service-points/{room.id}/reactivate")

    assert response.status_code == 302
    db.session.expire_all()
    assert room.active is True


def test_it_signs_the_clinician_out_of_a_deactivated_service_point(
    as_admin: FlaskClient, room: ServicePoint, clinician: object
) -> None:
    room.clinician_id = clinician.id  # type: ignore[attr-defined]
    room.signed_in_at = utcnow()
    db.session.commit()

    as_admin.post(f"/admin/service-points/{room.id}/deactivate")

    db.session.expire_all()
    assert room.clinician_id is None and room.signed_in_at is None


@pytest.mark.parametrize("status", ["called", "in_service"])
def test_it_refuses_to_deactivate_a_service_point_serving_a_patient(
    as_admin: FlaskClient, general: Department, room: ServicePoint, status: str
) -> None:
    now = utcnow()
    db.session.add(
        Ticket(
            department_id=general.id,
            patient_id=PatientFactory().id,
            number="GM-001",
            sequence=1,
            service_day=now.date(),
            effective_at=now - timedelta(minutes=5),
            queue_key=(now - timedelta(minutes=5)).timestamp(),
            status_token=secrets.token_urlsafe(16),
            status=status,
            service_point_id=room.id,
            called_at=now,
        )
    )
    db.session.commit()

    response = as_admin.post(f"/admin/service-points/{room.id}/deactivate", follow_redirects=True)

    assert "Room 1 is serving a patient" in " ".join(flashes(page_text(response)))
    db.session.expire_all()
    assert room.active is True
