"""Flask CLI commands: create-user, seed-demo, demo-logins, worker and generate-vapid-keys."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

import click
from flask import Flask, current_app
from sqlalchemy import select

from webapp import clock, domain_events
from webapp.appointments.models import Appointment
from webapp.appointments.services import book_appointment
from webapp.auth.models import ROLES, User
from webapp.auth.services import create_user, find_user_by_username, password_matches
from webapp.database import utcnow
from webapp.demo_history import seed_history
from webapp.departments.models import Department
from webapp.departments.services import WEEKDAYS, add_service_point, create_department
from webapp.domain_errors import DomainError, ValidationFailed
from webapp.extensions import db
from webapp.patients.models import Patient


def init_commands(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(demo_logins_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(generate_vapid_keys_command)


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


@click.command("generate-vapid-keys")
def generate_vapid_keys_command() -> None:
    """Print a new key pair for Web Push, as lines for the environment file (.env)."""
    from webapp.notifications.providers.webpush import generate_vapid_keys

    public, private = generate_vapid_keys()
    click.echo(f"VAPID_PUBLIC_KEY={public}")
    click.echo(f"VAPID_PRIVATE_KEY={private}")
    # On stderr, so `flask generate-vapid-keys >> .env` writes the two lines only.
    click.echo(
        "Keep VAPID_PRIVATE_KEY secret. Set VAPID_SUBJECT to mailto:you@your-hospital or an "
        "https:// address. Changing the keys later stops every phone's notifications until "
        "the patient turns them on again.",
        err=True,
    )


# ---------------------------------------------------------------- demo data

DEMO_DATA_WARNING = "Demo passwords are for a local trial only; never seed a real installation."
DEMO_USERS = (
    ("reception", "Rosa Reyes", "receptionist", "reception-demo-1"),
    ("clinician", "Dr Chidi Okafor", "clinician", "clinician-demo-1"),
    ("admin", "Alex Admin", "admin", "admin-demo-123"),
)
# The departments whose past patients the demo clinician served (the history's, not today's).
_DEMO_CLINICIAN_HISTORY = ("GM", "PED")
# Staff who appear only in the demo history, so the served-per-clinician report has more than
# one bar: whoever calls patients at a lab or pharmacy counter is a clinician-role user too.
# Their passwords are random and never shown; an admin resets one to let that person sign in.
HISTORY_STAFF = (
    ("efua.mensah", "Dr Efua Mensah", "GM"),
    ("ingrid.halvorsen", "Nurse Ingrid Halvorsen", "GM"),
    ("kenji.tanaka", "Dr Kenji Tanaka", "PED"),
    ("ada.obi", "Nurse Ada Obi", "PED"),
    ("priya.nair", "Biomedical Scientist Priya Nair", "LAB"),
    ("tom.reilly", "Phlebotomist Tom Reilly", "LAB"),
    ("hannah.berg", "Pharmacist Hannah Berg", "PH"),
    ("omar.haddad", "Pharmacy Technician Omar Haddad", "PH"),
)
# Open every day until 23:00 — obviously a demo, so a trial in the evening still has a clinic
# day ahead of it. The end of the day is 23:00, not midnight, so the end-of-day close can run.
_DEMO_HOURS = {day: [["07:00", "23:00"]] for day in WEEKDAYS}
# The departments that get demo appointments, and whether the demo clinician sees them.
_DEMO_BOOKED = (("GM", True), ("PED", False))
# Per department and day: every second slot, at most this many appointments.
_DEMO_APPOINTMENTS_PER_DAY = 8
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
@click.option(
    "--logins/--no-logins",
    default=True,
    help="Print the demo logins afterwards (`make run` prints them itself on every start).",
)
@click.option(
    "--history/--no-history",
    default=True,
    help="Add four weeks of finished visits before today, and the staff who served them.",
)
def seed_demo_command(patient_count: int, logins: bool, history: bool) -> None:
    """Add demo departments, staff, patients and appointments from now on (safe to run twice)."""
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
        "past tickets": 0,
    }
    departments = _seed_departments(created)
    users = _seed_users(created)
    patients = _seed_patients(patient_count, created)
    # Demo bookings are not news: no "appointment booked" SMS to the fictional patients.
    with domain_events.muted():
        created["appointments"] = _seed_appointments(patients, departments, users["clinician"])
        if history:
            created["past tickets"] = seed_history(
                departments,
                patients,
                clinicians=_seed_history_staff(users["clinician"], created),
                receptionist=users["receptionist"],
            )
    db.session.commit()

    summary = ", ".join(f"{count} {what}" for what, count in created.items())
    click.echo(f"Demo data ready (added {summary}).")
    if logins:
        _echo_demo_logins()


@click.command("demo-logins")
def demo_logins_command() -> None:
    """Print the demo accounts' logins (development only; `make run` shows them on each start)."""
    if current_app.config["APP_ENV"] != "development":
        raise click.ClickException(
            "demo-logins prints only with APP_ENV=development: a real installation has no "
            "demo accounts."
        )
    _echo_demo_logins()


def _echo_demo_logins() -> None:
    """The fixed demo accounts' logins, each only while it still works with its demo password.

    Only the published demo passwords of ``DEMO_USERS`` are ever printed: an account that is
    missing, deactivated or whose password was changed is named without one.
    """
    click.echo("Demo logins (username / password):")
    for username, _, role, password in DEMO_USERS:
        user = find_user_by_username(username)
        if user is None:
            click.echo(f"  {role:<13} {username}: not created yet (run: make seed)")
        elif user.role != role or not user.active:
            click.echo(f"  {role:<13} {username}: changed since the demo was seeded")
        elif not password_matches(password, user.password_hash):
            click.echo(f"  {role:<13} {username}: password changed since the demo was seeded")
        else:
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


def _seed_history_staff(demo_clinician: User, created: dict[str, int]) -> dict[str, list[User]]:
    """The clinicians who served each department's history, by code; missing ones are added.

    Found again by username, so a second run adds nobody (and keeps a password an admin set).
    """
    staff: dict[str, list[User]] = {code: [demo_clinician] for code in _DEMO_CLINICIAN_HISTORY}
    for username, full_name, code in HISTORY_STAFF:
        user = find_user_by_username(username)
        if user is None:
            user = create_user(
                username=username,
                full_name=full_name,
                role="clinician",
                # Never printed: these accounts are names in the reports, not demo logins.
                password=secrets.token_urlsafe(24),
                actor=None,
            )
            created["users"] += 1
        staff.setdefault(code, []).append(user)
    return staff


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


def _seed_appointments(
    patients: list[Patient], departments: dict[str, Department], clinician: User
) -> int:
    """Appointments from the next slot after now through the rest of today, and tomorrow's.

    In each booked demo department, every second slot (the department's slot length,
    counted from its opening time) from the first one after now, up to
    ``_DEMO_APPOINTMENTS_PER_DAY`` a day; tomorrow's from its opening. A department that
    already has an appointment on a day gets none added that day, so running the command
    again books nothing twice (on a later day it books that day's tomorrow). Each patient
    gets at most one appointment per run, and none on a day they already have one.
    They are booked through the appointment service, so each is a valid booking.
    """
    now = utcnow()
    today = clock.today()
    used: set[int] = set()
    added = 0
    for day in (today, today + timedelta(days=1)):
        day_start, day_end = clock.day_bounds(day)
        busy = set(
            db.session.scalars(
                select(Appointment.patient_id).where(
                    Appointment.starts_at >= day_start, Appointment.starts_at < day_end
                )
            )
        )
        for code, with_clinician in _DEMO_BOOKED:
            department = departments[code]
            if _has_appointments(department, day_start, day_end):
                continue
            free = (p for p in patients if p.id not in used and p.id not in busy)
            for starts_at, patient in zip(_demo_slots(department, day, now), free, strict=False):
                book_appointment(
                    patient_id=patient.id,
                    department_id=department.id,
                    starts_at=starts_at,
                    duration_minutes=department.default_service_minutes,
                    clinician_id=clinician.id if with_clinician else None,
                    reason="Follow-up" if added % 3 else "New complaint",
                    actor=None,
                )
                used.add(patient.id)
                added += 1
    return added


def _has_appointments(department: Department, day_start: datetime, day_end: datetime) -> bool:
    return (
        db.session.scalar(
            select(Appointment.id)
            .where(
                Appointment.department_id == department.id,
                Appointment.starts_at >= day_start,
                Appointment.starts_at < day_end,
            )
            .limit(1)
        )
        is not None
    )


def _demo_slots(department: Department, day: date, after: datetime) -> list[datetime]:
    """Every second slot of ``day``'s opening hours that starts after ``after`` (capped).

    A department open at all hours counts its slots from midnight. Wall-clock times that do
    not exist on that day (clocks going forward) are skipped.
    """
    minutes = department.default_service_minutes
    if department.opening_hours is None:
        intervals = [["00:00", "24:00"]]
    else:
        intervals = department.opening_hours.get(WEEKDAYS[day.weekday()], [])
    slots: list[datetime] = []
    for opens, closes in intervals:
        wall = datetime.combine(day, time.fromisoformat(opens))
        # "24:00" is the end of the day, which time() cannot hold.
        end = datetime.combine(day, time.min) + timedelta(
            hours=int(closes[:2]), minutes=int(closes[3:])
        )
        ahead: list[datetime] = []
        while wall + timedelta(minutes=minutes) <= end:
            moment = clock.from_local(wall)
            if moment is not None and moment > after:
                ahead.append(moment)
            wall += timedelta(minutes=minutes)
        slots.extend(ahead[::2])
    return slots[:_DEMO_APPOINTMENTS_PER_DAY]
