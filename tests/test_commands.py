"""The Flask CLI: create-user and seed-demo."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from tests.factories import UserFactory
from webapp.appointments.models import Appointment
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.auth.services import authenticate, find_user_by_username
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.patients.models import Patient

DEMO_LOGINS = [
    ("receptionist", "reception", "reception-demo-1"),
    ("clinician", "clinician", "clinician-demo-1"),
    ("admin", "admin", "admin-demo-123"),
]


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "Europe/London"}


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _table_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in db.metadata.sorted_tables
    }


# ------------------------------------------------------------------ create-user


def test_it_creates_a_user_from_the_command_line(app: Flask) -> None:
    result = run(
        app,
        "create-user",
        "bob",
        "--role",
        "clinician",
        "--password",
        "longpassword1",
        "--full-name",
        "Bob B",
    )

    assert result.exit_code == 0, result.output
    assert "Created clinician bob" in result.output
    db.session.expire_all()
    user = find_user_by_username("bob")
    assert user is not None
    assert (user.full_name, user.role, user.active) == ("Bob B", "clinician", True)
    assert authenticate("bob", "longpassword1") is user
    entry = db.session.scalars(select(AuditLog)).one()
    assert (entry.action, entry.user_id, entry.ip_address) == ("user.create", None, None)


def test_it_uses_the_username_as_the_full_name_by_default(app: Flask) -> None:
    result = run(app, "create-user", "carol", "--role", "admin", "--password", "longpassword1")

    assert result.exit_code == 0, result.output
    user = find_user_by_username("carol")
    assert user is not None and user.full_name == "carol" and user.role == "admin"


def test_it_refuses_a_short_password_and_creates_nothing(app: Flask) -> None:
    result = run(app, "create-user", "bob", "--role", "clinician", "--password", "short")

    assert result.exit_code != 0
    assert "10 characters" in result.output
    assert _count(User) == 0
    assert _count(AuditLog) == 0


def test_it_refuses_a_duplicate_username_whatever_its_case(app: Flask) -> None:
    UserFactory(username="bob")
    db.session.commit()

    result = run(app, "create-user", "BOB", "--role", "admin", "--password", "longpassword1")

    assert result.exit_code != 0
    assert "already taken" in result.output
    assert _count(User) == 1


def test_it_refuses_an_unknown_role(app: Flask) -> None:
    result = run(app, "create-user", "bob", "--role", "janitor", "--password", "longpassword1")

    assert result.exit_code != 0
    assert _count(User) == 0


def test_it_refuses_a_bad_username(app: Flask) -> None:
    result = run(app, "create-user", "bad name", "--role", "admin", "--password", "longpassword1")

    assert result.exit_code != 0
    assert "username" in result.output
    assert _count(User) == 0


# -------------------------------------------------------------------- seed-demo


def test_it_refuses_to_seed_demo_data_in_production(app: Flask) -> None:
    app.config["APP_ENV"] = "production"

    result = run(app, "seed-demo")

    assert result.exit_code != 0
    assert "refuses to run with APP_ENV=production" in result.output
    assert "Demo logins" not in result.output
    db.session.expire_all()
    assert set(_table_counts().values()) == {0}


def test_it_seeds_the_demo_data_and_prints_the_logins(app: Flask) -> None:
    result = run(app, "seed-demo")

    assert result.exit_code == 0, result.output
    for role, username, password in DEMO_LOGINS:
        assert any(
            role in line and f"{username} / {password}" in line
            for line in result.output.splitlines()
        ), f"{role} login not printed"
    assert sorted(db.session.scalars(select(Department.code))) == ["GM", "LAB", "PED", "PH"]
    assert _count(ServicePoint) == 8
    assert {(u.username, u.role) for u in db.session.scalars(select(User))} == {
        ("reception", "receptionist"),
        ("clinician", "clinician"),
        ("admin", "admin"),
    }
    assert _count(Patient) == 36
    assert "added 4 departments, 8 service points, 3 users, 36 patients, 16 appointments" in (
        result.output
    )


def test_it_books_the_demo_appointments_for_today(app: Flask) -> None:
    run(app, "seed-demo")

    tz = ZoneInfo(app.config["HOSPITAL_TIMEZONE"])
    today = datetime.now(tz).date()
    day_start = datetime.combine(today, time.min, tz)
    appointments = list(db.session.scalars(select(Appointment)))
    assert len(appointments) == 16
    for appointment in appointments:
        assert day_start <= appointment.starts_at < day_start + timedelta(days=1)
        assert appointment.status == "booked"
        assert appointment.ends_at == appointment.starts_at + timedelta(
            minutes=appointment.duration_minutes
        )
    codes = {appointment.department_id for appointment in appointments}
    assert len(codes) == 2


def test_it_adds_nothing_when_seeded_twice(app: Flask) -> None:
    run(app, "seed-demo")
    before = _table_counts()

    result = run(app, "seed-demo")

    assert result.exit_code == 0, result.output
    assert _table_counts() == before
    assert "added 0 departments, 0 service points, 0 users, 0 patients, 0 appointments" in (
        result.output
    )
    assert "admin / admin-demo-123" in result.output


@pytest.mark.parametrize(("role", "username", "password"), DEMO_LOGINS)
def test_it_gives_demo_logins_that_work(
    app: Flask, role: str, username: str, password: str
) -> None:
    run(app, "seed-demo")
    client = app.test_client()

    response = client.post("/login", data={"username": username, "password": password})

    assert response.status_code == 302
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert f"({role.title() if role != 'admin' else 'Administrator'})" in dashboard.get_data(
        as_text=True
    )
