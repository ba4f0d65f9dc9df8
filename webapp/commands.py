"""Flask CLI commands: create-user, seed-demo and worker."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import click
from flask import Flask, current_app
from sqlalchemy import select

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.auth.models import ROLES, User
from webapp.auth.services import create_user, find_user_by_username
from webapp.departments.models import Department
from webapp.departments.services import add_service_point, create_department
from webapp.domain_errors import DomainError, ValidationFailed
from webapp.extensions import db
from webapp.patients.models import Patient


def init_commands(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(worker_command)


def _explain(error: DomainError) -> str:
    if isinstance(error, ValidationFailed):
        return "; ".join(f"{field}: {message}" for field, message in error.errors.items())
    return error.message


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--full-name", default=None, help="Defaults to the username.")
def create_user_command(username: str, role: str, password: str, full_name: str | None) -> None:
    """Create a staff account (the first admin of a new installation, for example)."""
    try:
        user = create_user(
            username=username,
            full_name=full_name or username,
            role=role,
            password=password,
            actor=None,
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(_explain(error)) from None
    click.echo(f"Created {user.role} {user.username} (id {user.id}).")


@click.command("worker")
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=None,
    help="Worker threads (default: WORKER_THREADS, 2).",
)
def worker_command(workers: int | None) -> None:
    """Run the task consumer (notifications, metrics) with its periodic tasks."""
    from webapp.tasks import run_worker

    run_worker(workers or current_app.config["WORKER_THREADS"])


# ---------------------------------------------------------------- demo data

DEMO_DATA_WARNING = "Demo passwords are for a local trial only; never seed a real installation."
DEMO_USERS = (
    ("reception", "Rosa Reyes", "receptionist", "reception-demo-1"),
    ("clinician", "Dr Chidi Okafor", "clinician", "clinician-demo-1"),
    ("admin", "Alex Admin", "admin", "admin-demo-123"),
)
_DEMO_HOURS = {
    day: [["07:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}
DEMO_DEPARTMENTS = (
    ("GM", "General Medicine", 15, _DEMO_HOURS, True, ("Room 1", "Room 2", "Room 3")),
    ("PED", "Paediatrics", 20, _DEMO_HOURS, True, ("Room 4", "Room 5")),
    ("LAB", "Laboratory", 10, None, True, ("Sample Counter A", "Sample Counter B")),
    ("PH", "Pharmacy", 5, None, True, ("Counter 1",)),
)
_FIRST_NAMES = (
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Luca",
    "Maya",
    "Nikhil",
    "Olga",
    "Pedro",
    "Quinn",
    "Rania",
    "Sami",
    "Tess",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zara",
    "Aiden",
    "Bea",
    "Caleb",
    "Dina",
    "Emil",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
)
_LAST_NAMES = (
    "Adeyemi",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Gupta",
    "Hughes",
    "Ito",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "O'Neill",
    "Petrov",
)
_SEXES = ("female", "male", "female", "male", "other", "unknown")


def _demo_patients(count: int) -> list[dict[str, object]]:
    """Deterministic, obviously fictional patients (phones in the 555-01xx fiction range)."""
    patients = []
    for index in range(count):
        patients.append(
            {
                "mrn": f"DEMO{index + 1:04d}",
                "first_name": _FIRST_NAMES[index % len(_FIRST_NAMES)],
                "last_name": _LAST_NAMES[(index * 7) % len(_LAST_NAMES)],
                "date_of_birth": date(
                    1940 + (index * 3) % 80, 1 + index % 12, 1 + (index * 5) % 28
                ),
                "sex": _SEXES[index % len(_SEXES)],
                "phone": f"+120155501{index % 100:02d}" if index % 4 else None,
                "sms_opt_in": index % 3 == 0 and index % 4 != 0,
            }
        )
    return patients


@click.command("seed-demo")
@click.option("--patients", "patient_count", type=click.IntRange(0, 500), default=36)
def seed_demo_command(patient_count: int) -> None:
    """Add demo departments, staff, patients and today's appointments (safe to run twice)."""
    if current_app.config["APP_ENV"] == "production":
        # Demo accounts with published passwords must never reach a real installation.
        raise click.ClickException(
            "seed-demo refuses to run with APP_ENV=production: its demo accounts have "
            "published passwords. Set APP_ENV=development for a local trial. Nothing was written."
        )
    created: dict[str, int] = {
        "departments": 0,
        "service points": 0,
        "users": 0,
        "patients": 0,
        "appointments": 0,
    }
    departments = _seed_departments(created)
    users = _seed_users(created)
    patients = _seed_patients(patient_count, created)
    created["appointments"] = _seed_todays_appointments(
        patients[: min(len(patients), 16)], departments, users["clinician"]
    )
    db.session.commit()

    summary = ", ".join(f"{count} {what}" for what, count in created.items())
    click.echo(f"Demo data ready (added {summary}).")
    click.echo("Demo logins (username / password):")
    for username, _, role, password in DEMO_USERS:
        click.echo(f"  {role:<13} {username} / {password}")
    click.echo(DEMO_DATA_WARNING)


def _seed_departments(created: dict[str, int]) -> dict[str, Department]:
    """The demo departments and their rooms, by code; missing ones are added."""
    departments = {}
    for code, name, minutes, hours, walk_ins, rooms in DEMO_DEPARTMENTS:
        department = db.session.scalar(select(Department).where(Department.code == code))
        if department is None:
            department = create_department(
                code=code,
                name=name,
                default_service_minutes=minutes,
                opening_hours=hours,
                accepts_walk_ins=walk_ins,
                actor=None,
            )
            created["departments"] += 1
        existing_rooms = {point.name for point in department.service_points}
        for room in rooms:
            if room not in existing_rooms:
                add_service_point(department, name=room, actor=None)
                created["service points"] += 1
        departments[code] = department
    return departments


def _seed_users(created: dict[str, int]) -> dict[str, User]:
    """The demo staff accounts, by role; missing ones are added."""
    users = {}
    for username, full_name, role, password in DEMO_USERS:
        user = find_user_by_username(username)
        if user is None:
            user = create_user(
                username=username, full_name=full_name, role=role, password=password, actor=None
            )
            created["users"] += 1
        users[role] = user
    return users


def _seed_patients(count: int, created: dict[str, int]) -> list[Patient]:
    """The first ``count`` demo patients; missing ones are added."""
    patients = []
    for values in _demo_patients(count):
        patient = db.session.scalar(select(Patient).where(Patient.mrn == values["mrn"]))
        if patient is None:
            patient = Patient(**values)
            db.session.add(patient)
            created["patients"] += 1
        patients.append(patient)
    db.session.flush()
    return patients


def _seed_todays_appointments(
    patients: list[Patient], departments: dict[str, Department], clinician: User
) -> int:
    """Today's appointments: GM every 20 minutes with the demo clinician, PED without one.

    A patient who already has an appointment today gets no second one, so the
    command can run again (even on a later day, when it books that day).
    """
    today = clock.today()
    day_start, day_end = clock.day_bounds(today)
    added = 0
    for index, patient in enumerate(patients):
        already = db.session.scalar(
            select(Appointment.id).where(
                Appointment.patient_id == patient.id,
                Appointment.starts_at >= day_start,
                Appointment.starts_at < day_end,
            )
        )
        if already is not None:
            continue
        in_gm = index % 2 == 0
        slot = index // 2
        starts_at = datetime.combine(today, time(8, 0), clock.hospital_zone()) + timedelta(
            minutes=20 * slot
        )
        if not in_gm:
            starts_at += timedelta(minutes=10)
        duration = 20 if in_gm else 30
        db.session.add(
            Appointment(
                patient_id=patient.id,
                department_id=departments["GM" if in_gm else "PED"].id,
                clinician_id=clinician.id if in_gm else None,
                starts_at=starts_at,
                duration_minutes=duration,
                ends_at=starts_at + timedelta(minutes=duration),
                reason="Follow-up" if index % 3 else "New complaint",
                status="booked",
            )
        )
        added += 1
    return added
