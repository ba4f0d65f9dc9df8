"""Departments and service points: opening hours, is_open_at and the creation rules."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory
from webapp.audit.models import AuditLog
from webapp.database import utcnow
from webapp.departments.models import Department
from webapp.departments.services import (
    add_service_point,
    create_department,
    is_open_at,
    normalise_opening_hours,
    update_department,
    update_service_point,
)
from webapp.domain_errors import Conflict, ValidationFailed
from webapp.extensions import db
from webapp.queue.models import Ticket

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "Europe/London"}


# ------------------------------------------------------ normalise_opening_hours


def test_it_accepts_valid_opening_hours_unchanged() -> None:
    hours = {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": [["09:00", "12:30"]]}

    assert normalise_opening_hours(hours) == hours


def test_it_reads_none_as_open_at_all_hours() -> None:
    assert normalise_opening_hours(None) is None


def test_it_accepts_tuples_and_returns_lists() -> None:
    assert normalise_opening_hours({"tue": [("08:00", "09:00")]}) == {"tue": [["08:00", "09:00"]]}


def test_it_sorts_the_intervals_of_a_day() -> None:
    result = normalise_opening_hours({"wed": [["13:00", "17:00"], ["08:00", "12:00"]]})

    assert result == {"wed": [["08:00", "12:00"], ["13:00", "17:00"]]}


def test_it_drops_a_day_with_no_intervals() -> None:
    assert normalise_opening_hours({"mon": [["08:00", "17:00"]], "sun": []}) == {
        "mon": [["08:00", "17:00"]]
    }


def test_it_accepts_24_00_as_the_end_of_the_day() -> None:
    assert normalise_opening_hours({"fri": [["20:00", "24:00"]]}) == {"fri": [["20:00", "24:00"]]}


def test_it_accepts_intervals_that_touch() -> None:
    hours = {"mon": [["08:00", "12:00"], ["12:00", "17:00"]]}

    assert normalise_opening_hours(hours) == hours


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ({"funday": [["08:00", "12:00"]]}, "Unknown weekday; use mon"),
        ({"Mon": [["08:00", "12:00"]]}, "Unknown weekday; use mon"),
        ({"mon": "08:00-12:00"}, "Monday: give a list of intervals."),
        ({"mon": [["25:00", "26:00"]]}, "Monday: write times as HH:MM"),
        ({"mon": [["08:00", "24:30"]]}, "Monday: write times as HH:MM"),
        ({"mon": [["24:00", "24:00"]]}, "Monday: 24:00–24:00 must end after it starts."),
        ({"tue": [["8:00", "12:00"]]}, "Tuesday: write times as HH:MM"),
        ({"tue": [["08:60", "12:00"]]}, "Tuesday: write times as HH:MM"),
        ({"tue": [["08:00"]]}, "Tuesday: write times as HH:MM"),
        ({"tue": [["08:00", "12:00", "13:00"]]}, "Tuesday: write times as HH:MM"),
        ({"tue": [[800, 1200]]}, "Tuesday: write times as HH:MM"),
        ({"wed": [["12:00", "08:00"]]}, "Wednesday: 12:00–08:00 must end after it starts."),
        ({"wed": [["12:00", "12:00"]]}, "must end after it starts"),
        (
            {"thu": [["13:00", "17:00"], ["08:00", "13:30"]]},
            "Thursday: 08:00–13:30 and 13:00–17:00 overlap.",
        ),
        ({"thu": [["08:00", "17:00"], ["09:00", "10:00"]]}, "overlap"),
        (["mon", "08:00", "17:00"], "Give opening hours per weekday"),
        ("always", "Give opening hours per weekday"),
    ],
)
def test_it_refuses_malformed_opening_hours(hours: Any, expected: str) -> None:
    with pytest.raises(ValidationFailed) as failure:
        normalise_opening_hours(hours)

    # Day-specific problems are keyed "opening_hours.<day>", the rest "opening_hours".
    assert any(expected in message for message in failure.value.errors.values())


def test_it_names_the_field_it_was_given() -> None:
    with pytest.raises(ValidationFailed) as failure:
        normalise_opening_hours({"xyz": []}, field="hours")

    assert set(failure.value.errors) == {"hours"}


# ------------------------------------------------------------------ is_open_at


def _london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def clinic(app: Flask) -> Department:
    department = DepartmentFactory(
        opening_hours={"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": [["22:00", "24:00"]]}
    )
    db.session.commit()
    return department


# 2025-07-07 is a Monday (summer time, UTC+1); 2025-01-06 is a Monday (UTC+0).
@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (_london(2025, 7, 7, 7, 59), False),
        (_london(2025, 7, 7, 8, 0), True),  # start inclusive
        (_london(2025, 7, 7, 11, 59), True),
        (_london(2025, 7, 7, 12, 0), False),  # end exclusive
        (_london(2025, 7, 7, 12, 30), False),  # lunch break
        (_london(2025, 7, 7, 13, 0), True),
        (_london(2025, 7, 7, 16, 59), True),
        (_london(2025, 7, 7, 17, 0), False),
        (_london(2025, 7, 8, 9, 0), False),  # Tuesday: closed
        (_london(2025, 1, 6, 8, 0), True),  # winter time
        (_london(2025, 7, 12, 23, 59), True),  # Saturday until 24:00
        (_london(2025, 7, 13, 0, 0), False),  # Sunday
    ],
    ids=lambda value: value.isoformat() if isinstance(value, datetime) else str(value),
)
def test_it_checks_opening_hours_in_the_hospital_time_zone(
    app: Flask, clinic: Department, moment: datetime, expected: bool
) -> None:
    utc_moment = moment.astimezone(UTC)

    assert is_open_at(clinic, utc_moment, app.config["HOSPITAL_TIMEZONE"]) is expected


def test_it_reads_the_weekday_in_the_hospital_time_zone_not_utc(
    app: Flask, clinic: Department
) -> None:
    # 07:30 UTC on a summer Monday is 08:30 in London: open there, but not at 07:30.
    moment = datetime(2025, 7, 7, 7, 30, tzinfo=UTC)

    assert is_open_at(clinic, moment, app.config["HOSPITAL_TIMEZONE"]) is True
    assert is_open_at(clinic, moment, "UTC") is False


def test_it_treats_a_department_without_hours_as_always_open(app: Flask) -> None:
    department = DepartmentFactory(opening_hours=None)
    timezone = app.config["HOSPITAL_TIMEZONE"]

    for moment in (_london(2025, 7, 7, 3, 0), _london(2025, 7, 13, 23, 59)):
        assert is_open_at(department, moment, timezone) is True


def test_it_treats_a_department_with_empty_hours_as_always_closed(app: Flask) -> None:
    department = DepartmentFactory(opening_hours={})

    assert is_open_at(department, _london(2025, 7, 7, 10, 0), "Europe/London") is False


# ------------------------------------------------------------ create_department


@pytest.mark.parametrize("code", ["", "gm", "G1", "TOOLONG", "ABCDE", "G M", "ÄB"])
def test_it_requires_a_code_of_one_to_four_capital_letters(app: Flask, code: str) -> None:
    with pytest.raises(ValidationFailed) as failure:
        create_department(code=code, name="Somewhere", actor=None)

    assert failure.value.errors["code"].startswith("Use 1 to 4 capital letters")
    assert db.session.query(Department).count() == 0


@pytest.mark.parametrize("code", ["G", "GM", "PED", "LABS"])
def test_it_accepts_codes_of_one_to_four_capital_letters(app: Flask, code: str) -> None:
    department = create_department(code=code, name="Somewhere", actor=None)

    assert department.id is not None and department.code == code


@pytest.mark.parametrize("name", ["", "   "])
def test_it_requires_a_department_name(app: Flask, name: str) -> None:
    with pytest.raises(ValidationFailed) as failure:
        create_department(code="GM", name=name, actor=None)

    assert failure.value.errors == {"name": "Enter the department's name."}


def test_it_refuses_a_name_over_120_characters(app: Flask) -> None:
    with pytest.raises(ValidationFailed) as failure:
        create_department(code="GM", name="x" * 121, actor=None)

    assert failure.value.errors["name"] == "Use at most 120 characters."


@pytest.mark.parametrize("minutes", [0, -5, 481])
def test_it_requires_default_minutes_from_1_to_480(app: Flask, minutes: int) -> None:
    with pytest.raises(ValidationFailed) as failure:
        create_department(code="GM", name="GM", default_service_minutes=minutes, actor=None)

    assert failure.value.errors["default_service_minutes"] == "Use a whole number from 1 to 480."


def test_it_reports_every_problem_at_once(app: Flask) -> None:
    with pytest.raises(ValidationFailed) as failure:
        create_department(
            code="g1", name="", default_service_minutes=0, opening_hours={"xx": []}, actor=None
        )

    assert set(failure.value.errors) == {"code", "name", "default_service_minutes", "opening_hours"}


def test_it_creates_a_department_with_normalised_hours_and_a_trimmed_name(app: Flask) -> None:
    department = create_department(
        code="XR",
        name="  Radiology ",
        default_service_minutes=480,
        opening_hours={"mon": [["13:00", "17:00"], ["08:00", "12:00"]], "tue": []},
        accepts_walk_ins=False,
        actor=None,
    )

    assert department.name == "Radiology"
    assert department.default_service_minutes == 480
    assert department.opening_hours == {"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}
    assert department.accepts_walk_ins is False


def test_it_refuses_a_duplicate_department_code(app: Flask) -> None:
    create_department(code="GM", name="General Medicine", actor=None)

    with pytest.raises(Conflict) as failure:
        create_department(code="GM", name="Another", actor=None)

    assert failure.value.field == "code"
    assert failure.value.message == "The department code GM is already in use."


def test_it_records_who_created_a_department(app: Flask) -> None:
    department = create_department(code="GM", name="General Medicine", actor=None)

    entry = db.session.query(AuditLog).one()
    assert (entry.action, entry.entity_type, entry.entity_id) == (
        "department.create",
        "department",
        department.id,
    )


# ------------------------------------------------------------ update_department


def test_it_changes_only_what_is_given(app: Flask) -> None:
    department = DepartmentFactory(code="GM", name="General", opening_hours={"mon": []})
    db.session.flush()

    update_department(department, actor=None, name="General Medicine")

    assert department.code == "GM" and department.name == "General Medicine"
    assert department.opening_hours == {"mon": []}


def test_it_clears_opening_hours_when_given_none(app: Flask) -> None:
    department = DepartmentFactory(opening_hours={"mon": [["08:00", "12:00"]]})
    db.session.flush()

    update_department(department, actor=None, opening_hours=None)

    assert department.opening_hours is None


def test_it_writes_no_audit_row_when_nothing_changes(app: Flask) -> None:
    department = DepartmentFactory(code="GM", name="General")
    db.session.flush()

    update_department(department, actor=None, code="GM", name="General")

    assert db.session.query(AuditLog).count() == 0


def test_it_refuses_to_take_another_departments_code(app: Flask) -> None:
    DepartmentFactory(code="LAB")
    department = DepartmentFactory(code="GM")
    db.session.flush()

    with pytest.raises(Conflict, match="LAB is already in use"):
        update_department(department, actor=None, code="LAB")
    assert department.code == "GM"


# --------------------------------------------------------------- service points


def test_it_refuses_a_service_point_name_taken_in_the_department_whatever_its_case(
    app: Flask,
) -> None:
    point = ServicePointFactory(name="Room 1")
    db.session.flush()

    with pytest.raises(Conflict, match="already has a service point called “room 1”"):
        add_service_point(point.department, name=" room 1 ", actor=None)


def test_it_allows_a_service_point_name_used_by_another_department(app: Flask) -> None:
    ServicePointFactory(name="Room 1")
    other = DepartmentFactory()
    db.session.flush()

    point = add_service_point(other, name="Room 1", actor=None)

    assert point.id is not None and point.department_id == other.id


@pytest.mark.parametrize(("name", "expected"), [("  ", "Enter the room"), ("x" * 61, "60")])
def test_it_requires_a_service_point_name_of_at_most_60_characters(
    app: Flask, name: str, expected: str
) -> None:
    department = DepartmentFactory()
    db.session.flush()

    with pytest.raises(ValidationFailed) as failure:
        add_service_point(department, name=name, actor=None)

    assert expected in failure.value.errors["name"]


def test_it_changes_nothing_when_deactivating_a_serving_service_point_is_refused(
    app: Flask,
) -> None:
    point = ServicePointFactory(name="Room 1")
    db.session.flush()
    now = utcnow()
    db.session.add(
        Ticket(
            department_id=point.department_id,
            patient_id=PatientFactory().id,
            number="X-001",
            sequence=1,
            service_day=now.date(),
            effective_at=now,
            queue_key=now.timestamp(),
            status_token=secrets.token_urlsafe(16),
            status="called",
            service_point_id=point.id,
        )
    )
    db.session.flush()

    with pytest.raises(Conflict, match="is serving a patient"):
        update_service_point(point, name="Room 1A", active=False, actor=None)

    assert point.active is True
    assert point.name == "Room 1", "a refused change must leave the service point as it was"


def test_it_lets_a_service_point_change_the_case_of_its_own_name(app: Flask) -> None:
    point = ServicePointFactory(name="room 1")
    db.session.flush()

    update_service_point(point, name="Room 1", actor=None)

    assert point.name == "Room 1"
