"""The Flask CLI: create-user, seed-demo, demo-logins and generate-vapid-keys."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import Result
from flask import Flask
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from tests.factories import UserFactory
from tests.notifications.push_service import PUSH_PATH, FakeBrowser, push_requests, vapid_claims
from webapp.appointments.models import Appointment
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.auth.services import authenticate, find_user_by_username, hash_password
from webapp.commands import HISTORY_STAFF
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.notifications.providers.base import OutgoingMessage
from webapp.notifications.providers.webpush import WebPushProvider, vapid_key_problem
from webapp.patients.models import Patient

LONDON = ZoneInfo("Europe/London")
# A Tuesday well away from the clock changes.
TRIAL_DAY = date(2026, 3, 10)

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
    # The three demo logins, and the clinicians who served the history (tests/test_demo_history.py).
    assert {(u.username, u.role) for u in db.session.scalars(select(User))} == {
        ("reception", "receptionist"),
        ("clinician", "clinician"),
        ("admin", "admin"),
    } | {(username, "clinician") for username, _, _ in HISTORY_STAFF}
    assert _count(Patient) == 36
    users = 3 + len(HISTORY_STAFF)
    assert f"added 4 departments, 8 service points, {users} users, 36 patients" in result.output


def test_it_texts_no_demo_patient_about_the_demo_bookings(app: Flask) -> None:
    result = run(app, "seed-demo")

    assert result.exit_code == 0, result.output
    assert _count(Appointment) > 0
    assert any(p.sms_opt_in and p.phone for p in db.session.scalars(select(Patient)))
    assert _count(Notification) == 0


def _at(hour: int, minute: int, day: date = TRIAL_DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON)


def _booked() -> dict[tuple[str, date], list[tuple[str, int]]]:
    """The appointments as {(department code, local day): [(local start "HH:MM", minutes)]}."""
    booked: dict[tuple[str, date], list[tuple[str, int]]] = {}
    for appointment in db.session.scalars(select(Appointment).order_by(Appointment.starts_at)):
        local = appointment.starts_at.astimezone(LONDON)
        booked.setdefault((appointment.department.code, local.date()), []).append(
            (local.strftime("%H:%M"), appointment.duration_minutes)
        )
    return booked


def _seed_at(app: Flask, moment: datetime) -> Result:
    # These tests are about the bookings from now on; tests/test_demo_history.py covers the past.
    with time_machine.travel(moment, tick=False):
        result = run(app, "seed-demo", "--no-history")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result


TOMORROW = TRIAL_DAY + timedelta(days=1)
TOMORROW_GM = [(f"{7 + n // 2:02d}:{30 * (n % 2):02d}", 15) for n in range(8)]
TOMORROW_PED = [(f"{(7 * 60 + 40 * n) // 60:02d}:{(40 * n) % 60:02d}", 20) for n in range(8)]


def test_it_books_the_demo_day_from_the_next_slot_after_8_in_the_morning(app: Flask) -> None:
    _seed_at(app, _at(8, 0))

    booked = _booked()
    # Every second slot from the first one after now (GM: 15-minute slots, PED: 20-minute).
    assert booked[("GM", TRIAL_DAY)] == [
        ("08:15", 15),
        ("08:45", 15),
        ("09:15", 15),
        ("09:45", 15),
        ("10:15", 15),
        ("10:45", 15),
        ("11:15", 15),
        ("11:45", 15),
    ]
    assert booked[("PED", TRIAL_DAY)][:3] == [("08:20", 20), ("09:00", 20), ("09:40", 20)]
    assert len(booked[("PED", TRIAL_DAY)]) == 8
    assert booked[("GM", TOMORROW)] == TOMORROW_GM
    assert booked[("PED", TOMORROW)] == TOMORROW_PED
    assert set(booked) == {
        ("GM", TRIAL_DAY),
        ("PED", TRIAL_DAY),
        ("GM", TOMORROW),
        ("PED", TOMORROW),
    }


def test_it_books_the_rest_of_the_evening_at_19_45_and_nothing_in_the_past(app: Flask) -> None:
    _seed_at(app, _at(19, 45))

    booked = _booked()
    # Through the end of the demo opening hours (23:00): the last visit ends by then.
    assert booked[("GM", TRIAL_DAY)] == [
        ("20:00", 15),
        ("20:30", 15),
        ("21:00", 15),
        ("21:30", 15),
        ("22:00", 15),
        ("22:30", 15),
    ]
    assert booked[("PED", TRIAL_DAY)] == [
        ("20:00", 20),
        ("20:40", 20),
        ("21:20", 20),
        ("22:00", 20),
        ("22:40", 20),
    ]
    assert booked[("GM", TOMORROW)] == TOMORROW_GM
    assert booked[("PED", TOMORROW)] == TOMORROW_PED


def test_it_books_tomorrow_when_seeded_at_23_50(app: Flask) -> None:
    result = _seed_at(app, _at(23, 50))

    booked = _booked()
    assert set(booked) == {("GM", TOMORROW), ("PED", TOMORROW)}
    assert booked[("GM", TOMORROW)] == TOMORROW_GM
    assert booked[("PED", TOMORROW)] == TOMORROW_PED
    assert "16 appointments" in result.output


def test_it_books_valid_appointments_for_different_patients(app: Flask) -> None:
    _seed_at(app, _at(8, 0))

    appointments = list(db.session.scalars(select(Appointment)))
    assert len(appointments) == 32
    # Each patient at most once; the demo clinician sees General Medicine only.
    assert len({appointment.patient_id for appointment in appointments}) == 32
    for appointment in appointments:
        assert appointment.status == "booked"
        assert appointment.starts_at > _at(8, 0)
        assert appointment.ends_at == appointment.starts_at + timedelta(
            minutes=appointment.duration_minutes
        )
        has_clinician = appointment.clinician_id is not None
        assert has_clinician == (appointment.department.code == "GM")
    # Booked through the appointment service: each one is on the audit trail.
    assert (
        db.session.scalar(select(func.count()).where(AuditLog.action == "appointment.book")) == 32
    )


@pytest.mark.parametrize(("hour", "minute"), [(8, 0), (19, 45), (23, 50)])
def test_it_adds_nothing_when_seeded_again_later_the_same_day(
    app: Flask, hour: int, minute: int
) -> None:
    _seed_at(app, _at(hour, minute))
    before = _table_counts()

    result = _seed_at(app, _at(hour, minute) + timedelta(minutes=5))

    assert _table_counts() == before
    assert "0 appointments" in result.output


def test_it_books_only_the_new_tomorrow_when_seeded_again_the_next_day(app: Flask) -> None:
    _seed_at(app, _at(8, 0))
    before = _booked()

    _seed_at(app, _at(9, 0, TOMORROW))

    booked = _booked()
    day_after = TOMORROW + timedelta(days=1)
    # Yesterday's and today's days stay as they were; the day after tomorrow is added.
    assert {key: value for key, value in booked.items() if key[1] != day_after} == before
    assert booked[("GM", day_after)] == TOMORROW_GM
    # The new day goes to patients without an appointment that day (the first ones again).
    patients = {
        appointment.patient.mrn
        for appointment in db.session.scalars(select(Appointment))
        if appointment.starts_at.astimezone(LONDON).date() == day_after
    }
    assert len(patients) == 16


def test_it_books_no_more_appointments_than_there_are_patients(app: Flask) -> None:
    with time_machine.travel(_at(8, 0), tick=False):
        result = run(app, "seed-demo", "--patients", "5", "--no-history")

    assert result.exit_code == 0, result.output
    assert _count(Appointment) == 5
    assert len({a.patient_id for a in db.session.scalars(select(Appointment))}) == 5


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


# ------------------------------------------------------------------ demo-logins


def test_it_prints_the_demo_logins_in_development(app: Flask) -> None:
    run(app, "seed-demo")
    app.config["APP_ENV"] = "development"

    result = run(app, "demo-logins")

    assert result.exit_code == 0, result.output
    for role, username, password in DEMO_LOGINS:
        assert any(
            role in line and f"{username} / {password}" in line
            for line in result.output.splitlines()
        ), f"{role} login not printed"


def test_it_prints_the_same_logins_as_seed_demo(app: Flask) -> None:
    seeded = run(app, "seed-demo").output

    printed = run(app, "demo-logins").output

    assert printed.strip() in seeded


def test_it_never_prints_a_password_that_is_no_longer_the_demo_one(app: Flask) -> None:
    run(app, "seed-demo")
    admin = find_user_by_username("admin")
    assert admin is not None
    admin.password_hash = hash_password("a-real-secret-1")
    db.session.commit()

    result = run(app, "demo-logins")

    assert result.exit_code == 0, result.output
    assert "admin-demo-123" not in result.output
    assert "a-real-secret-1" not in result.output
    assert "admin: password changed" in result.output
    assert "reception / reception-demo-1" in result.output


def test_it_says_when_the_demo_accounts_are_not_there_yet(app: Flask) -> None:
    result = run(app, "demo-logins")

    assert result.exit_code == 0, result.output
    assert "-demo-" not in result.output
    assert "reception: not created yet" in result.output


def test_it_refuses_to_print_demo_logins_in_production(app: Flask) -> None:
    run(app, "seed-demo")
    app.config["APP_ENV"] = "production"

    result = run(app, "demo-logins")

    assert result.exit_code != 0
    assert "-demo-" not in result.output


@pytest.mark.postgres
def test_it_seeds_the_demo_day_once_on_postgresql(pg_app: Flask) -> None:
    pg_app.config["HOSPITAL_TIMEZONE"] = "Europe/London"
    _seed_at(pg_app, _at(19, 45))
    before = _table_counts()

    result = _seed_at(pg_app, _at(19, 50))

    assert _table_counts() == before
    assert "0 appointments" in result.output
    booked = _booked()
    assert booked[("GM", TRIAL_DAY)][0] == ("20:00", 15)
    assert booked[("GM", TOMORROW)] == TOMORROW_GM


# ------------------------------------------------------------------ generate-vapid-keys


def _printed_keys(result: Result) -> dict[str, str]:
    lines = result.stdout.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"]
    return dict(line.split("=", 1) for line in lines)


def test_it_prints_a_vapid_key_pair_for_the_environment_file(app: Flask) -> None:
    result = run(app, "generate-vapid-keys")

    assert result.exit_code == 0, result.output
    keys = _printed_keys(result)
    assert vapid_key_problem(keys["VAPID_PUBLIC_KEY"], keys["VAPID_PRIVATE_KEY"]) is None
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", value) for value in keys.values())
    # The advice goes to stderr, so `flask generate-vapid-keys >> .env` adds the two lines only.
    assert "Keep VAPID_PRIVATE_KEY secret" in result.stderr
    assert keys["VAPID_PRIVATE_KEY"] not in result.stderr
    assert _printed_keys(run(app, "generate-vapid-keys")) != keys


def test_its_vapid_keys_send_a_push_the_push_service_accepts(
    app: Flask, httpserver: HTTPServer
) -> None:
    keys = _printed_keys(run(app, "generate-vapid-keys"))
    httpserver.expect_request(PUSH_PATH, method="POST").respond_with_data("", status=201)
    browser = FakeBrowser(endpoint=httpserver.url_for(PUSH_PATH))
    provider = WebPushProvider.from_config({**app.config, **keys})

    provider.send(
        OutgoingMessage(
            notification_id=1,
            channel="push",
            body="Please go to Room 3.",
            subscription=browser.subscription(),
        )
    )

    (request,) = push_requests(httpserver)
    vapid_claims(request, keys["VAPID_PUBLIC_KEY"])  # signed with the printed private key
    assert browser.decrypt(request)["body"] == "Please go to Room 3."
    assert provider.subject == "mailto:admin@localhost"
