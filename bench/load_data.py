# ruff: noqa: S311, S603, S608
# (random makes test data; subprocess runs this checkout's flask; SQL is built from table names
# in this file, never from input.)
"""Bulk-load a realistic hospital into a PostgreSQL database for `make bench`.

Two parts:

* **History** (slow, kept between runs): 20 departments, 60 service points, the staff, 5,000
  patients and a million finished tickets over two years with their queue events and
  appointments, written with PostgreSQL COPY (psycopg 3). The secondary indexes and foreign
  keys of the big tables are dropped for the COPY and built again afterwards (one pass each
  instead of one update per row), then the tables are vacuumed and analysed. A marker table,
  ``bench_dataset``, records the parameters; a later run with the same ones skips this part.
* **The live day** (fast, redone on every run): whatever earlier runs added is deleted, and
  today gets a queue — about 40 waiting per busy department, rooms with a called or in-service
  patient, visits already finished this morning, and today's appointments.

The schema comes from the app's own migrations (``flask --app wsgi db upgrade``). The staff
accounts are made by the app (``create_user``, bcrypt at the configured cost) for the first
one; the others get the same password hash, so every bench account signs in with
``--password`` and loading them costs one bcrypt hash, not a hundred.

Times are UTC and the bench runs the app with HOSPITAL_TIMEZONE=UTC, so service days are UTC
dates. Every department is open at all hours, so the end-of-day close (23:30 by default) is
the only moment the worker would touch the live day by itself.

    python bench/load_data.py --database-url postgresql://postgres@127.0.0.1:5432/hq_bench
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
# Bump when the generated data changes shape, so an old database is loaded again.
LOADER_VERSION = 1
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 (the bench accounts' documented password)

# code, name, usual visit minutes. The first ten are the busy ones (more rooms, more patients).
DEPARTMENTS = [
    ("GM", "General Medicine", 15),
    ("PED", "Paediatrics", 15),
    ("LAB", "Laboratory", 5),
    ("PH", "Pharmacy", 5),
    ("RAD", "Radiology", 20),
    ("CARD", "Cardiology", 20),
    ("ORTH", "Orthopaedics", 20),
    ("ENT", "Ear, Nose and Throat", 15),
    ("OPH", "Ophthalmology", 15),
    ("DERM", "Dermatology", 15),
    ("NEUR", "Neurology", 25),
    ("GYN", "Gynaecology", 20),
    ("URO", "Urology", 20),
    ("ONC", "Oncology", 30),
    ("PHYS", "Physiotherapy", 30),
    ("DENT", "Dental", 20),
    ("PSY", "Psychiatry", 30),
    ("END", "Endocrinology", 20),
    ("GAST", "Gastroenterology", 20),
    ("RESP", "Respiratory Medicine", 20),
]
BUSY_DEPARTMENTS = 10
FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Xena",
    "Yusuf",
    "Zoe",
    "Aisha",
    "Bruno",
    "Carla",
    "Dmitri",
    "Eva",
    "Felix",
]
LAST_NAMES = [
    "Adams",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ibrahim",
    "Jones",
    "Khan",
    "Lopez",
    "Murphy",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Taylor",
    "Usman",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Novak",
    "Moreau",
]
# Arrivals per hour of the day (relative weights): a morning peak, a quiet evening.
ARRIVAL_WEIGHTS = {7: 5, 8: 10, 9: 12, 10: 11, 11: 8, 12: 5, 13: 4, 14: 4, 15: 3, 16: 3, 17: 2}
# Fewer patients at the weekend (Monday first).
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 0.95, 0.35, 0.2)
PRIORITIES = ("routine", "priority", "urgent")
PRIORITY_WEIGHTS = (90, 7, 3)
NO_SHOW_SHARE, CANCEL_SHARE, TRANSFER_SHARE = 0.05, 0.03, 0.02
BOOKED_SHARE = 0.3

# The big tables whose secondary indexes and foreign keys are rebuilt around the COPY.
BULK_TABLES = ("tickets", "queue_events", "appointments")
# Ticket columns that reference rows the live-day reset deletes, and have no index of their own.
TEMPORARY_INDEXES = ("transferred_from_id", "appointment_id")


@dataclass(frozen=True)
class Params:
    tickets: int
    years: float
    departments: int
    service_points: int
    patients: int
    clinicians: int
    receptionists: int
    admins: int
    seed: int
    password: str

    def marker(self) -> dict[str, Any]:
        # The password is not part of the data's identity: a different one reloads the users only
        # through --force; it is kept out of the marker so the marker holds no secret.
        values = {k: v for k, v in self.__dict__.items() if k != "password"}
        return {"loader_version": LOADER_VERSION, **values}


# ------------------------------------------------------------------ small helpers


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", flush=True)


def psycopg_url(url: str) -> str:
    """The same database as a URL libpq understands (no SQLAlchemy driver suffix)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + psycopg_url(url)[len("postgresql://") :]


_DAY_TEXT: dict[int, str] = {}


def ts(epoch: int) -> str:
    """An epoch second as COPY text for a timestamptz column (UTC)."""
    day, second = divmod(epoch, 86400)
    text = _DAY_TEXT.get(day)
    if text is None:
        text = _DAY_TEXT[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
    return f"{text} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00"


def field_text(value: object) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


class CopyBuffer:
    """Rows collected as COPY text and sent in large chunks."""

    def __init__(self, copy: Any, chunk: int = 1 << 20) -> None:
        self.copy = copy
        self.parts: list[str] = []
        self.size = 0
        self.chunk = chunk
        self.rows = 0

    def row(self, *values: object) -> None:
        line = "\t".join([field_text(value) for value in values]) + "\n"
        self.parts.append(line)
        self.size += len(line)
        self.rows += 1
        if self.size >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.copy.write("".join(self.parts))
            self.parts, self.size = [], 0


def run_migrations(url: str) -> None:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=sqlalchemy_url(url),
        APP_ENV="production",
        SECRET_KEY=env.get("SECRET_KEY") or "bench-migrations-only-secret-key",
    )
    env.pop("REDIS_URL", None)
    flask = Path(sys.executable).with_name("flask")
    subprocess.run(
        [str(flask), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def read_marker(conn: psycopg.Connection) -> dict[str, Any] | None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_dataset (key text PRIMARY KEY, value jsonb NOT NULL)"
    )
    row = conn.execute("SELECT value FROM bench_dataset WHERE key = 'dataset'").fetchone()
    conn.commit()
    return row[0] if row else None


def app_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename NOT IN ('alembic_version', 'bench_dataset') ORDER BY tablename"
    ).fetchall()
    return [name for (name,) in rows]


# ------------------------------------------------------------------ users (through the app)


def create_staff(url: str, params: Params) -> None:
    """The staff accounts. The first goes through the app's create_user (validation, audit,
    bcrypt at BCRYPT_ROUNDS); the rest copy its hash, so they share the bench password."""
    os.environ.update(
        DATABASE_URL=sqlalchemy_url(url),
        APP_ENV="production",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-loader-only-secret-key-0001",
    )
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    from webapp import create_app
    from webapp.auth.services import create_user
    from webapp.extensions import db

    app = create_app()
    with app.app_context():
        first = create_user(
            username="bench-admin-1",
            full_name="Bench Administrator 1",
            role="admin",
            password=params.password,
            actor=None,
        )
        db.session.commit()
        password_hash = first.password_hash
        first_id = first.id
        db.session.remove()
        db.engine.dispose()

    staff = [
        (f"bench-admin-{n}", f"Bench Administrator {n}", "admin")
        for n in range(2, params.admins + 1)
    ]
    staff += [
        (f"bench-clin-{n:02d}", f"Dr Bench Clinician {n:02d}", "clinician")
        for n in range(1, params.clinicians + 1)
    ]
    staff += [
        (f"bench-rec-{n:02d}", f"Bench Receptionist {n:02d}", "receptionist")
        for n in range(1, params.receptionists + 1)
    ]
    created = ts(int(time.time()) - 800 * 86400)
    with psycopg.connect(psycopg_url(url)) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY users (id, username, full_name, role, password_hash, active, auth_version, "
            "created_at) FROM STDIN"
        ) as copy:
            out = CopyBuffer(copy)
            for offset, (username, name, role) in enumerate(staff, start=1):
                out.row(first_id + offset, username, name, role, password_hash, True, 1, created)
            out.flush()
        cur.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), max(id)) FROM users")


# ------------------------------------------------------------------ the hospital


@dataclass
class Hospital:
    departments: list[tuple[int, str, str, int, bool]] = field(default_factory=list)
    points: dict[int, list[int]] = field(default_factory=dict)  # department -> point ids
    clinician_at: dict[int, int] = field(default_factory=dict)  # point -> clinician
    receptionists: list[int] = field(default_factory=list)
    patients: list[int] = field(default_factory=list)
    opt_in: set[int] = field(default_factory=set)


def load_hospital(conn: psycopg.Connection) -> Hospital:
    hospital = Hospital()
    for row in conn.execute(
        "SELECT id, code, name, default_service_minutes FROM departments ORDER BY id"
    ):
        busy = len(hospital.departments) < BUSY_DEPARTMENTS
        hospital.departments.append((row[0], row[1], row[2], row[3], busy))
        hospital.points[row[0]] = []
    clinicians = [
        uid
        for (uid,) in conn.execute(
            "SELECT id FROM users WHERE role = 'clinician' ORDER BY username"
        )
    ]
    for index, (point_id, department_id) in enumerate(
        conn.execute("SELECT id, department_id FROM service_points ORDER BY id").fetchall()
    ):
        hospital.points[department_id].append(point_id)
        if clinicians:
            hospital.clinician_at[point_id] = clinicians[index % len(clinicians)]
    hospital.receptionists = [
        uid
        for (uid,) in conn.execute(
            "SELECT id FROM users WHERE role = 'receptionist' ORDER BY username"
        )
    ]
    for pid, opt_in in conn.execute("SELECT id, sms_opt_in FROM patients ORDER BY id"):
        hospital.patients.append(pid)
        if opt_in:
            hospital.opt_in.add(pid)
    return hospital


def create_departments(conn: psycopg.Connection, params: Params, rng: random.Random) -> None:
    created = ts(int(time.time()) - 800 * 86400)
    chosen = DEPARTMENTS[: params.departments]
    with conn.cursor() as cur:
        with cur.copy(
            "COPY departments (id, code, name, default_service_minutes, opening_hours, "
            "accepts_walk_ins, active, created_at) FROM STDIN"
        ) as copy:
            out = CopyBuffer(copy)
            for index, (code, name, minutes) in enumerate(chosen, start=1):
                # Open at all hours (no opening_hours): the live day is never closed mid-run.
                out.row(index, code, name, minutes, None, True, True, created)
            out.flush()
        # Busy departments get twice the rooms of quiet ones.
        weights = [2 if i < BUSY_DEPARTMENTS else 1 for i in range(len(chosen))]
        counts = [max(1, params.service_points * w // sum(weights)) for w in weights]
        index = 0
        while sum(counts) < params.service_points:
            counts[index % len(counts)] += 1
            index += 1
        with cur.copy(
            "COPY service_points (id, department_id, name, active, created_at) FROM STDIN"
        ) as copy:
            out = CopyBuffer(copy)
            point_id = 0
            for department_id, count in enumerate(counts, start=1):
                label = "Counter" if chosen[department_id - 1][0] in ("LAB", "PH") else "Room"
                for n in range(1, count + 1):
                    point_id += 1
                    out.row(point_id, department_id, f"{label} {n}", True, created)
            out.flush()
        with cur.copy(
            "COPY patients (id, mrn, first_name, last_name, date_of_birth, sex, phone, email, "
            "sms_opt_in, notes, created_at, updated_at) FROM STDIN"
        ) as copy:
            out = CopyBuffer(copy)
            for pid in range(1, params.patients + 1):
                born = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 89))
                phone = f"+1202555{pid % 10000:04d}" if rng.random() < 0.8 else None
                out.row(
                    pid,
                    f"B{pid:07d}",
                    rng.choice(FIRST_NAMES),
                    rng.choice(LAST_NAMES),
                    born.isoformat(),
                    rng.choice(("female", "male", "female", "male", "other", "unknown")),
                    phone,
                    None,
                    phone is not None and rng.random() < 0.3,
                    "",
                    created,
                    created,
                )
            out.flush()
        for table in ("departments", "service_points", "patients"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )


# ------------------------------------------------------------------ history


@dataclass
class Writers:
    tickets: CopyBuffer
    events: CopyBuffer
    appointments: CopyBuffer
    next_ticket: int = 1
    next_event: int = 1
    next_appointment: int = 1


TICKET_COLUMNS = (
    "id, department_id, service_day, sequence, number, patient_id, appointment_id, priority, "
    "status, service_point_id, clinician_id, queue_key, effective_at, checked_in_at, called_at, "
    "started_at, ended_at, recall_count, skip_count, status_token, transferred_from_id, "
    "estimated_wait_at_check_in, updated_at"
)
EVENT_COLUMNS = (
    "id, ticket_id, department_id, action, from_status, to_status, user_id, service_point_id, "
    "reason, created_at"
)
APPOINTMENT_COLUMNS = (
    "id, patient_id, department_id, clinician_id, starts_at, duration_minutes, ends_at, reason, "
    "status, cancel_reason, created_by_id, created_at, updated_at"
)


def arrival_seconds(rng: random.Random) -> int:
    hour = rng.choices(list(ARRIVAL_WEIGHTS), weights=list(ARRIVAL_WEIGHTS.values()))[0]
    return hour * 3600 + rng.randrange(3600)


def day_allotments(params: Params, days: list[date], busy: list[bool]) -> Iterator[list[int]]:
    """How many tickets each department gets on each day: the total is params.tickets (less
    the follow-ups transfers open, which are added as they happen)."""
    dept_weights = [1.5 if b else 0.5 for b in busy]
    day_weights = [WEEKDAY_WEIGHTS[d.weekday()] for d in days]
    total = sum(day_weights) * sum(dept_weights)
    target = params.tickets / (1 + TRANSFER_SHARE)
    carry = 0.0
    for day_weight in day_weights:
        counts = []
        for dept_weight in dept_weights:
            exact = target * day_weight * dept_weight / total + carry
            count = int(exact)
            carry = exact - count
            counts.append(count)
        yield counts


def write_ticket(
    w: Writers,
    rng: random.Random,
    hospital: Hospital,
    dept: tuple[int, str, str, int, bool],
    day: date,
    day_epoch: int,
    sequence: int,
    patient: int,
    arrived: int,
    status: str,
    *,
    transferred_from: int | None = None,
    token: str | None = None,
    priority: str | None = None,
) -> tuple[int, int, str, str]:
    """One finished ticket with its events; returns (id, end time, token, priority)."""
    dept_id, code, _name, minutes, _busy = dept
    points = hospital.points[dept_id]
    point = rng.choice(points)
    server = hospital.clinician_at.get(point)
    if len(points) > 1 and rng.random() < 0.1:  # a colleague covering
        server = hospital.clinician_at.get(rng.choice(points), server)
    receptionist = rng.choice(hospital.receptionists) if hospital.receptionists else None
    ticket_id = w.next_ticket
    w.next_ticket += 1
    token = token or secrets.token_urlsafe(24)
    priority = priority or rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0]
    hour = (arrived - day_epoch) // 3600
    mean_wait = 28 if 8 <= hour < 12 else 14
    wait = int(60 * min(60.0, max(2.0, rng.gauss(mean_wait, mean_wait / 2))))
    estimate = max(0, round(wait / 60 + rng.gauss(0, wait / 240 + 2)))
    called = arrived + wait
    appointment_id = None
    effective = arrived
    events: list[tuple[Any, ...]] = []
    reason_in = f"Transferred from ticket {transferred_from}" if transferred_from else None
    events.append(("check_in", None, "waiting", receptionist, None, reason_in, arrived))
    called_at = started_at = None
    service_point = clinician = None
    recalls = 0
    if status == "cancelled":
        ended = arrived + int(wait * rng.uniform(0.3, 0.9))
        events.append(("cancel", "waiting", "cancelled", receptionist, None, "Patient left", ended))
    else:
        service_point, clinician, called_at = point, server, called
        events.append(("call", "waiting", "called", server, point, None, called))
        if status == "no_show":
            recalled = called + rng.randrange(120, 240)
            ended = recalled + rng.randrange(120, 240)
            recalls = 1
            events.append(("recall", "called", "called", server, point, None, recalled))
            events.append(("no_show", "called", "no_show", server, point, None, ended))
        else:
            started_at = called + rng.randrange(30, 180)
            ended = started_at + int(60 * max(1.5, rng.gauss(minutes, minutes * 0.3)))
            events.append(("start", "called", "in_service", server, point, None, started_at))
            if status == "completed":
                events.append(("complete", "in_service", "completed", server, point, None, ended))
            else:
                events.append(
                    ("transfer", "in_service", "transferred", server, point, "Sent on", ended)
                )
    if transferred_from is None and status != "transferred" and rng.random() < BOOKED_SHARE:
        appointment_id = w.next_appointment
        w.next_appointment += 1
        slot = 60 * minutes
        starts = day_epoch + ((arrived - day_epoch) // slot + 1) * slot
        effective = starts
        w.appointments.row(
            appointment_id,
            patient,
            dept_id,
            server,
            ts(starts),
            minutes,
            ts(starts + slot),
            "Follow-up" if rng.random() < 0.6 else "New complaint",
            status,
            "Patient left" if status == "cancelled" else None,
            receptionist,
            ts(starts - 86400 * rng.randint(1, 21)),
            ts(ended),
        )
    w.tickets.row(
        ticket_id,
        dept_id,
        day.isoformat(),
        sequence,
        f"{code}-{sequence:03d}",
        patient,
        appointment_id,
        priority,
        status,
        service_point,
        clinician,
        float(effective),
        ts(effective),
        ts(arrived),
        ts(called_at) if called_at else None,
        ts(started_at) if started_at else None,
        ts(ended),
        recalls,
        0,
        token,
        transferred_from,
        estimate,
        ts(ended),
    )
    for action, from_status, to_status, user, sp, reason, at in events:
        w.events.row(
            w.next_event,
            ticket_id,
            dept_id,
            action,
            from_status,
            to_status,
            user,
            sp,
            reason,
            ts(at),
        )
        w.next_event += 1
    return ticket_id, ended, token, priority


def outcome_of(rng: random.Random) -> str:
    draw = rng.random()
    if draw < NO_SHOW_SHARE:
        return "no_show"
    if draw < NO_SHOW_SHARE + CANCEL_SHARE:
        return "cancelled"
    if draw < NO_SHOW_SHARE + CANCEL_SHARE + TRANSFER_SHARE:
        return "transferred"
    return "completed"


def write_history_day(
    w: Writers, rng: random.Random, hospital: Hospital, day: date, counts: list[int]
) -> list[int]:
    """One day of every department; returns each department's last ticket number that day."""
    day_epoch = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    by_dept = hospital.departments
    seq = [0] * len(by_dept)
    for index, count in enumerate(counts):
        # Each patient at most once a day in a department while there are enough of them.
        visitors = rng.sample(hospital.patients, min(count, len(hospital.patients)))
        while len(visitors) < count:
            visitors.append(rng.choice(hospital.patients))
        for patient in visitors:
            seq[index] += 1
            status = outcome_of(rng)
            arrived = day_epoch + arrival_seconds(rng)
            source, ended, token, priority = write_ticket(
                w,
                rng,
                hospital,
                by_dept[index],
                day,
                day_epoch,
                seq[index],
                patient,
                arrived,
                status,
            )
            if status != "transferred":
                continue
            # The follow-up in another department: same patient, same ticket page, served.
            target = rng.choice([i for i in range(len(by_dept)) if i != index] or [index])
            seq[target] += 1
            write_ticket(
                w,
                rng,
                hospital,
                by_dept[target],
                day,
                day_epoch,
                seq[target],
                patient,
                ended,
                "completed",
                transferred_from=source,
                token=token,
                priority=priority,
            )
    return seq


def write_history(conn: psycopg.Connection, params: Params, hospital: Hospital) -> dict[str, Any]:
    rng = random.Random(params.seed)
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(round(params.years * 365), 0, -1)]
    busy = [d[4] for d in hospital.departments]
    sequences: list[tuple[int, str, int]] = []
    # One connection runs one COPY at a time: the events and appointments are spooled to
    # temporary files while the tickets stream, then copied in turn.
    spool_dir = Path(tempfile.mkdtemp(prefix="hq-bench-"))
    events_path = spool_dir / "events.copy"
    appointments_path = spool_dir / "appointments.copy"
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY tickets ({TICKET_COLUMNS}) FROM STDIN") as tcopy,
        open(events_path, "w", buffering=1 << 20) as efile,
        open(appointments_path, "w", buffering=1 << 20) as afile,
    ):
        w = Writers(CopyBuffer(tcopy), CopyBuffer(efile), CopyBuffer(afile))
        for day, counts in zip(days, day_allotments(params, days, busy), strict=True):
            last = write_history_day(w, rng, hospital, day, counts)
            sequences += [
                (dept[0], day.isoformat(), n)
                for dept, n in zip(hospital.departments, last, strict=True)
                if n
            ]
            if day.day == 1:
                log(f"  {day:%Y-%m}: {w.tickets.rows:,} tickets, {w.events.rows:,} events")
        for buffer in (w.tickets, w.events, w.appointments):
            buffer.flush()
    counts: dict[str, Any] = {
        "tickets": w.tickets.rows,
        "queue_events": w.events.rows,
        "appointments": w.appointments.rows,
    }
    log(f"  tickets copied; copying {counts['queue_events']:,} events and appointments")
    with conn.cursor() as cur:
        for table, columns, path in (
            ("queue_events", EVENT_COLUMNS, events_path),
            ("appointments", APPOINTMENT_COLUMNS, appointments_path),
        ):
            with open(path) as spool, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                while chunk := spool.read(1 << 22):
                    copy.write(chunk)
            path.unlink()
        copy_sequences(cur, sequences)
    spool_dir.rmdir()
    counts["last_day"] = days[-1].isoformat() if days else None
    return counts


def copy_sequences(cur: psycopg.Cursor[Any], rows: list[tuple[int, str, int]]) -> None:
    """The ticket number counters, raised past the numbers written."""
    with cur.copy(
        "COPY ticket_sequences (department_id, service_day, last_value) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


# ------------------------------------------------------------------ index and key rebuild


def drop_secondary_structures(conn: psycopg.Connection) -> list[str]:
    """Drop the big tables' foreign keys and non-primary indexes; return the DDL that rebuilds
    them, read from the catalogue (so it follows whatever the migrations made)."""
    tables = list(BULK_TABLES)
    rebuild_indexes: list[str] = []
    rebuild_keys: list[str] = []
    drops: list[str] = []
    for table, name, definition in conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND (conrelid::regclass::text = ANY(%s) "
        "OR confrelid::regclass::text = ANY(%s))",
        (tables, tables),
    ).fetchall():
        drops.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        rebuild_keys.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for table, index, definition, constraint in conn.execute(
        "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, "
        "pg_get_indexdef(i.indexrelid), c.conname "
        "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
        "AND c.conrelid = i.indrelid AND c.contype = 'u' "
        "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary",
        (tables,),
    ).fetchall():
        if constraint:
            cdef = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s "
                "AND conrelid = %s::regclass",
                (constraint, table),
            ).fetchone()
            drops.append(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            rebuild_indexes.append(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {cdef[0]}')
        else:
            drops.append(f"DROP INDEX {index}")
            rebuild_indexes.append(definition)
    for statement in drops:
        conn.execute(statement)
    return rebuild_indexes + rebuild_keys


# ------------------------------------------------------------------ the live day


@dataclass(frozen=True)
class LiveDay:
    waiting_busy: int = 40
    waiting_quiet: int = 10
    done_busy: int = 25
    done_quiet: int = 8
    booked_busy: int = 12
    booked_quiet: int = 4


def reset_live_day(
    conn: psycopg.Connection, marker: dict[str, Any], live: LiveDay, seed: int
) -> dict[str, int]:
    """Delete what earlier runs added after the history, then give today a live queue."""
    high = marker["high_water"]
    delete_earlier_runs(conn, marker)
    hospital = load_hospital(conn)
    seat_clinicians(conn, hospital)
    today = datetime.now(UTC).date()
    buffers = {name: io.StringIO() for name in ("tickets", "events", "appointments")}
    w = Writers(
        CopyBuffer(buffers["tickets"]),
        CopyBuffer(buffers["events"]),
        CopyBuffer(buffers["appointments"]),
        next_ticket=high["tickets"] + 1,
        next_event=high["queue_events"] + 1,
        next_appointment=high["appointments"] + 1,
    )
    day = LiveDayWriter(w, random.Random(f"{seed}-{today.isoformat()}"), hospital, live, today)
    sequences = [
        (dept[0], today.isoformat(), day.department(dept)) for dept in hospital.departments
    ]
    for buffer in (w.tickets, w.events, w.appointments):
        buffer.flush()
    with conn.cursor() as cur:
        for table, columns, data in (
            ("appointments", APPOINTMENT_COLUMNS, buffers["appointments"]),
            ("tickets", TICKET_COLUMNS, buffers["tickets"]),
            ("queue_events", EVENT_COLUMNS, buffers["events"]),
        ):
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(data.getvalue())
        reset_id_sequences(cur, ("appointments", "tickets", "queue_events"))
        copy_sequences(cur, sequences)
        bump_queue_versions(cur)
    conn.commit()
    conn.autocommit = True
    for table in ("tickets", "queue_events", "appointments", "service_points", "ticket_sequences"):
        conn.execute(f"ANALYZE {table}")
    conn.autocommit = False
    return day.counts


def reset_id_sequences(cur: psycopg.Cursor[Any], tables: tuple[str, ...]) -> None:
    for table in tables:
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"greatest(coalesce(max(id), 0), 1), max(id) IS NOT NULL) FROM {table}"
        )


def delete_earlier_runs(conn: psycopg.Connection, marker: dict[str, Any]) -> None:
    """Everything past the history's high-water marks: earlier live days and what runs did."""
    high = marker["high_water"]
    with conn.cursor() as cur:
        for table in ("notifications", "push_subscriptions", "staff_sessions", "refresh_tokens"):
            cur.execute(f"DELETE FROM {table}")
        # Deleting a ticket or an appointment checks that no ticket still points at it, through
        # tickets.transferred_from_id and tickets.appointment_id, which have no index: a scan of
        # a million rows per deleted row (minutes). Temporary indexes, dropped again below, so
        # the app is measured with its own schema.
        for column in TEMPORARY_INDEXES:
            cur.execute(f"CREATE INDEX IF NOT EXISTS bench_tmp_{column} ON tickets ({column})")
        for table in ("queue_events", "tickets", "appointments", "audit_log"):
            cur.execute(f"DELETE FROM {table} WHERE id > %s", (high[table],))
        for column in TEMPORARY_INDEXES:
            cur.execute(f"DROP INDEX bench_tmp_{column}")
        for table in ("ticket_sequences", "daily_metrics"):
            cur.execute(f"DELETE FROM {table} WHERE service_day > %s", (marker["last_day"],))
        reset_id_sequences(cur, ("tickets", "queue_events", "appointments", "audit_log"))


def seat_clinicians(conn: psycopg.Connection, hospital: Hospital) -> None:
    """Each room's clinician is signed in at its workstation (one room per clinician)."""
    with conn.cursor() as cur:
        cur.execute("UPDATE service_points SET clinician_id = NULL, signed_in_at = NULL")
        for point, clinician in hospital.clinician_at.items():
            cur.execute(
                "UPDATE service_points SET clinician_id = %s, signed_in_at = now() WHERE id = %s",
                (clinician, point),
            )


def bump_queue_versions(cur: psycopg.Cursor[Any]) -> None:
    """The queue changed behind the app's back: move every version on as the app does (the time
    in microseconds, or one more than before when that is larger), so nothing cached for an
    earlier run's queue can match. Row 0 counts the list of departments."""
    if cur.execute("SELECT to_regclass('queue_versions')").fetchone()[0] is None:
        return
    cur.execute(
        "INSERT INTO queue_versions (department_id, version, changed_at) "
        "SELECT id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, now() "
        "FROM (SELECT id FROM departments UNION SELECT 0) AS ids "
        "ON CONFLICT (department_id) DO UPDATE SET "
        "version = greatest(queue_versions.version + 1, excluded.version), changed_at = now()"
    )


class LiveDayWriter:
    """Today's rows, department by department."""

    def __init__(
        self, w: Writers, rng: random.Random, hospital: Hospital, live: LiveDay, today: date
    ) -> None:
        self.w, self.rng, self.hospital, self.live, self.today = w, rng, hospital, live, today
        self.now = int(time.time())
        self.day_epoch = int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp())
        # The live queue arrived within the last three hours (or since midnight).
        self.since = max(self.day_epoch + 60, self.now - 3 * 3600)
        self.counts = {"waiting": 0, "called": 0, "in_service": 0, "completed_today": 0}
        self.counts["booked"] = 0

    def department(self, dept: tuple[int, str, str, int, bool]) -> int:
        """Write one department's day; returns its last ticket number."""
        live, rng = self.live, self.rng
        busy = dept[4]
        waiting = live.waiting_busy if busy else live.waiting_quiet
        done = live.done_busy if busy else live.done_quiet
        booked = live.booked_busy if busy else live.booked_quiet
        points = self.hospital.points[dept[0]]
        wanted = waiting + len(points) + done + booked
        people = rng.sample(self.hospital.patients, min(len(self.hospital.patients), wanted))
        active, others = people[: waiting + len(points)], people[waiting + len(points) :]
        sequence = 0
        # This morning's finished visits, before the live queue arrived.
        for patient in others[:done]:
            sequence += 1
            arrived = rng.randrange(self.day_epoch, max(self.day_epoch + 1, self.since - 1800))
            write_ticket(
                self.w, rng, self.hospital, dept, self.today, self.day_epoch, sequence, patient,
                arrived, "completed",
            )  # fmt: skip
            self.counts["completed_today"] += 1
        # Rooms: a called or in-service patient in three of four; the rest are free.
        serving = [
            (point, state)
            for point in points
            if (state := rng.choices(("in_service", "called", None), weights=(2, 1, 1))[0])
        ]
        arrivals = sorted(
            rng.randrange(self.since, self.now) for _ in range(waiting + len(serving))
        )
        booked_waiting = set(rng.sample(range(waiting), waiting // 5))
        for index, arrived in enumerate(arrivals):
            sequence += 1
            seat = serving[index] if index < len(serving) else None
            booking = seat is None and index - len(serving) in booked_waiting
            self.active_ticket(dept, sequence, active[index], arrived, seat, booking)
        # Still to come today: bookings in the next slots.
        for n, patient in enumerate((active[len(arrivals) :] + others[done:])[:booked]):
            self.booking(dept, patient, n)
        return sequence

    def booking(self, dept: tuple[int, str, str, int, bool], patient: int, n: int) -> None:
        minutes = dept[3]
        slot = 60 * minutes
        starts = self.now - self.now % slot + slot * (n + 1)
        made = ts(self.now - 86400 * 3)
        self.w.appointments.row(
            self.w.next_appointment, patient, dept[0], None, ts(starts), minutes,
            ts(starts + slot), "New complaint", "booked", None, None, made, made,
        )  # fmt: skip
        self.w.next_appointment += 1
        self.counts["booked"] += 1

    def active_ticket(
        self,
        dept: tuple[int, str, str, int, bool],
        sequence: int,
        patient: int,
        arrived: int,
        seat: tuple[int, str] | None,
        booking: bool,
    ) -> None:
        w, rng = self.w, self.rng
        dept_id, code, _name, minutes, _busy = dept
        ticket_id = w.next_ticket
        w.next_ticket += 1
        receptionist = (
            rng.choice(self.hospital.receptionists) if self.hospital.receptionists else None
        )
        appointment_id = None
        effective = arrived
        status, point, clinician = "waiting", None, None
        called_at = started_at = None
        events = [("check_in", None, "waiting", receptionist, None, arrived)]
        if seat is not None:
            point, status = seat
            clinician = self.hospital.clinician_at.get(point)
            called_at = max(arrived + 1, min(self.now - 30, arrived + rng.randrange(300, 1800)))
            events.append(("call", "waiting", "called", clinician, point, called_at))
            if status == "in_service":
                started_at = max(
                    called_at + 1, min(self.now - 5, called_at + rng.randrange(30, 180))
                )
                events.append(("start", "called", "in_service", clinician, point, started_at))
        elif booking:
            # Checked in for a booking in the next slot: served from its booked time.
            appointment_id = w.next_appointment
            w.next_appointment += 1
            slot = 60 * minutes
            effective = max(self.day_epoch, arrived - arrived % slot + slot)
            w.appointments.row(
                appointment_id, patient, dept_id, None, ts(effective), minutes,
                ts(effective + slot), "Follow-up", "checked_in", None, receptionist,
                ts(effective - 86400 * 7), ts(arrived),
            )  # fmt: skip
        self.counts[status] += 1
        w.tickets.row(
            ticket_id, dept_id, self.today.isoformat(), sequence, f"{code}-{sequence:03d}",
            patient, appointment_id, rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0],
            status, point, clinician, float(effective), ts(effective), ts(arrived),
            ts(called_at) if called_at else None, ts(started_at) if started_at else None, None,
            0, 0, secrets.token_urlsafe(24), None, rng.randrange(5, 60), ts(events[-1][-1]),
        )  # fmt: skip
        for action, from_status, to_status, user, sp, at in events:
            w.events.row(
                w.next_event, ticket_id, dept_id, action, from_status, to_status, user, sp, None,
                ts(at),
            )  # fmt: skip
            w.next_event += 1


# ------------------------------------------------------------------ main


def load(
    url: str, params: Params, *, force: bool = False, live: LiveDay | None = None
) -> dict[str, Any]:
    """Make sure the database holds the history for ``params``, then reset the live day.
    Returns the dataset's description (the marker, with the live day's counts)."""
    started = time.monotonic()
    log("applying the app's migrations (flask db upgrade)")
    run_migrations(url)
    with psycopg.connect(psycopg_url(url)) as conn:
        marker = read_marker(conn)
        loaded_now = force or marker is None or marker.get("params") != params.marker()
        if loaded_now:
            if marker is not None:
                log("the loaded data has other parameters (or --force): loading again")
            marker = load_history(conn, url, params)
        else:
            log(
                f"history already loaded ({marker['counts']['tickets']:,} tickets, "
                f"loaded {marker['loaded_at']}): skipping the bulk load"
            )
        counts = reset_live_day(conn, marker, live or LiveDay(), params.seed)
    log(f"live day ready: {counts}")
    return {
        **marker,
        "loaded_now": loaded_now,
        "live_day": counts,
        "prepare_seconds": round(time.monotonic() - started, 1),
    }


def load_history(conn: psycopg.Connection, url: str, params: Params) -> dict[str, Any]:
    started = time.monotonic()
    tables = app_tables(conn)
    conn.execute("DELETE FROM bench_dataset")
    conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    conn.commit()
    log("creating the staff accounts (one bcrypt hash through the app)")
    create_staff(url, params)
    rng = random.Random(params.seed)
    create_departments(conn, params, rng)
    conn.commit()
    hospital = load_hospital(conn)
    conn.execute("SET maintenance_work_mem = '256MB'")
    rebuild = drop_secondary_structures(conn)
    log(f"writing {params.tickets:,} tickets over {params.years} years with COPY")
    counts = write_history(conn, params, hospital)
    log(f"rebuilding {len(rebuild)} indexes and foreign keys")
    for statement in rebuild:
        conn.execute(statement)
    for table in ("tickets", "queue_events", "appointments"):
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"greatest(coalesce(max(id), 0), 1), max(id) IS NOT NULL) FROM {table}"
        )
    high = {
        table: conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        for table in ("tickets", "queue_events", "appointments", "audit_log")
    }
    marker = {
        "params": params.marker(),
        "counts": counts,
        "high_water": high,
        "last_day": counts.pop("last_day"),
        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    marker["load_seconds"] = round(time.monotonic() - started, 1)
    conn.execute(
        "INSERT INTO bench_dataset (key, value) VALUES ('dataset', %s)",
        (json.dumps(marker),),
    )
    conn.commit()
    log("VACUUM ANALYZE")
    conn.autocommit = True
    for table in (
        "tickets",
        "queue_events",
        "appointments",
        "patients",
        "users",
        "ticket_sequences",
    ):
        conn.execute(f"VACUUM (ANALYZE) {table}")
    conn.autocommit = False
    marker["load_seconds"] = round(time.monotonic() - started, 1)
    conn.execute("UPDATE bench_dataset SET value = %s WHERE key = 'dataset'", (json.dumps(marker),))
    conn.commit()
    log(f"history loaded in {marker['load_seconds']} s: {counts}")
    return marker


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tickets", type=int, default=1_000_000, help="historical tickets")
    parser.add_argument("--years", type=float, default=2.0, help="years of history")
    parser.add_argument("--departments", type=int, default=20, choices=range(1, 21), metavar="1-20")
    parser.add_argument("--service-points", type=int, default=60)
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--clinicians", type=int, default=60)
    parser.add_argument("--receptionists", type=int, default=60)
    parser.add_argument("--admins", type=int, default=3)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--password", default=BENCH_PASSWORD, help="every bench account's password")
    parser.add_argument("--waiting-busy", type=int, default=40, help="waiting per busy department")
    parser.add_argument(
        "--waiting-quiet", type=int, default=10, help="waiting per quiet department"
    )
    parser.add_argument(
        "--force-load", action="store_true", help="load the history even if present"
    )


def params_from(args: argparse.Namespace) -> Params:
    return Params(
        tickets=args.tickets,
        years=args.years,
        departments=args.departments,
        service_points=max(args.service_points, args.departments),
        patients=args.patients,
        clinicians=args.clinicians,
        receptionists=args.receptionists,
        admins=max(1, args.admins),
        seed=args.seed,
        password=args.password,
    )


def live_from(args: argparse.Namespace) -> LiveDay:
    return LiveDay(waiting_busy=args.waiting_busy, waiting_quiet=args.waiting_quiet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hq_bench"
        ),
    )
    add_arguments(parser)
    args = parser.parse_args()
    result = load(args.database_url, params_from(args), force=args.force_load, live=live_from(args))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
