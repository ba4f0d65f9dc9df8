"""Two sessions racing to insert the same unique key: PostgreSQL, not Python, picks the winner.

Each test opens two independent connections (outside Flask-SQLAlchemy's scoped
session) and, in two threads released together by a barrier, inserts rows that
collide on one unique constraint or index. Whichever INSERT reaches the index
first holds an uncommitted entry; the other INSERT must block on it (we watch it
wait in pg_locks) and, once the first commits, fail with a unique violation.
No application code runs between the two inserts, so only the database can
have refused the second row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg.errors
import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.db.helpers import SERVICE_DAY, new_ticket
from tests.factories import DepartmentFactory, PatientFactory
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue.models import Ticket

pytestmark = pytest.mark.postgres

JOIN_TIMEOUT = 30.0
WAIT_TIMEOUT = 10.0
RACERS = ("hq_race_a", "hq_race_b")


@dataclass
class Outcome:
    flushed: bool = False
    committed: bool = False
    error: BaseException | None = None


def race(
    engines: Callable[..., Engine], make_rows: Callable[[int], list[Any]]
) -> tuple[list[Outcome], bool]:
    """Insert ``make_rows(0)`` and ``make_rows(1)`` from two sessions at the same moment.

    Each racer flushes its INSERT, then commits once told to. The go-ahead comes
    when one racer's INSERT has gone through and the other is seen waiting for a
    lock (or after WAIT_TIMEOUT, if nothing ever waits: a missing constraint).
    Returns both outcomes and whether a racer was seen blocked on the other.
    """
    barrier = threading.Barrier(2, timeout=WAIT_TIMEOUT)
    may_commit = threading.Event()
    outcomes = [Outcome(), Outcome()]
    # One engine (so one connection, one backend) per racer, tagged for pg_stat_activity.
    racer_engines = [engines(application_name=name) for name in RACERS]
    for engine in racer_engines:  # connect before the barrier, so both start level
        with engine.connect():
            pass

    def run(index: int) -> None:
        outcome = outcomes[index]
        try:
            with Session(racer_engines[index]) as session:
                session.add_all(make_rows(index))
                barrier.wait()
                try:
                    session.flush()
                    outcome.flushed = True
                    if not may_commit.wait(WAIT_TIMEOUT * 2):
                        raise TimeoutError("never told to commit")
                    session.commit()
                    outcome.committed = True
                except BaseException:
                    session.rollback()
                    raise
        except BaseException as error:
            outcome.error = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in (0, 1)]
    for thread in threads:
        thread.start()

    monitor = engines(application_name="hq_race_monitor")
    blocked = False
    deadline = time.monotonic() + WAIT_TIMEOUT
    with monitor.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = ANY(:names) AND wait_event_type = 'Lock'"
                ),
                {"names": list(RACERS)},
            ).scalar_one()
            if waiting and any(outcome.flushed for outcome in outcomes):
                blocked = True
                break
            if any(outcome.error for outcome in outcomes):
                break
            if all(outcome.flushed for outcome in outcomes):
                break  # both inserted: nothing made one wait for the other
            time.sleep(0.01)
    may_commit.set()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return outcomes, blocked


def assert_one_winner(outcomes: list[Outcome], blocked: bool, constraint: str) -> None:
    committed = [outcome for outcome in outcomes if outcome.committed]
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    assert len(committed) == 1, [outcome.error for outcome in outcomes]
    assert len(failed) == 1
    error = failed[0].error
    assert isinstance(error, IntegrityError), repr(error)
    assert isinstance(error.orig, psycopg.errors.UniqueViolation)
    assert error.orig.diag.constraint_name == constraint
    # The loser's INSERT went through the index after the winner's and had to wait
    # for the winner's transaction: the database serialised the two.
    assert blocked, "the second INSERT never waited on the first"
    assert not failed[0].flushed


def row_count(engine: Engine, model: type, *criteria: Any) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*criteria)) or 0


def test_it_lets_one_of_two_racing_case_variant_usernames_in(
    pg_app: Flask, pg_engine: Callable[..., Engine]
) -> None:
    names = ("Sam", "sam")

    outcomes, blocked = race(
        pg_engine,
        lambda i: [User(username=names[i], full_name="Sam", role="clinician", password_hash="x")],
    )

    assert_one_winner(outcomes, blocked, "uq_users_username_lower")
    assert row_count(pg_engine(), User, func.lower(User.username) == "sam") == 1


def test_it_lets_one_of_two_racing_department_codes_in(
    pg_app: Flask, pg_engine: Callable[..., Engine]
) -> None:
    outcomes, blocked = race(
        pg_engine, lambda i: [Department(code="GM", name=f"General medicine {i}")]
    )

    assert_one_winner(outcomes, blocked, "uq_departments_code")
    assert row_count(pg_engine(), Department, Department.code == "GM") == 1


def test_it_lets_one_of_two_racing_mrns_in(pg_app: Flask, pg_engine: Callable[..., Engine]) -> None:
    outcomes, blocked = race(
        pg_engine,
        lambda i: [
            Patient(
                mrn="M000123",
                first_name=f"Twin{i}",
                last_name="Doe",
                date_of_birth=date(1990, 1, 1),
            )
        ],
    )

    assert_one_winner(outcomes, blocked, "uq_patients_mrn")
    assert row_count(pg_engine(), Patient, Patient.mrn == "M000123") == 1


def test_it_lets_one_of_two_racing_ticket_sequences_in(
    pg_app: Flask, pg_engine: Callable[..., Engine]
) -> None:
    department = DepartmentFactory()
    patients = [PatientFactory(), PatientFactory()]
    db.session.commit()
    department_id, patient_ids = department.id, [p.id for p in patients]

    # Different patients and numbers: only (department, service_day, sequence) collides.
    outcomes, blocked = race(
        pg_engine,
        lambda i: [
            new_ticket(
                department_id=department_id,
                patient_id=patient_ids[i],
                sequence=7,
                number=f"GM-007-{i}",
            )
        ],
    )

    assert_one_winner(outcomes, blocked, "uq_tickets_department_day_sequence")
    assert (
        row_count(
            pg_engine(),
            Ticket,
            Ticket.department_id == department_id,
            Ticket.service_day == SERVICE_DAY,
            Ticket.sequence == 7,
        )
        == 1
    )


def test_it_lets_one_of_two_racing_active_tickets_for_a_patient_in(
    pg_app: Flask, pg_engine: Callable[..., Engine]
) -> None:
    department, patient = DepartmentFactory(), PatientFactory()
    db.session.commit()
    department_id, patient_id = department.id, patient.id

    # Different sequences and numbers: only the partial one-active-ticket index collides.
    outcomes, blocked = race(
        pg_engine,
        lambda i: [new_ticket(department_id=department_id, patient_id=patient_id, sequence=i + 1)],
    )

    assert_one_winner(outcomes, blocked, "uq_tickets_one_active_per_patient_department")
    assert row_count(pg_engine(), Ticket, Ticket.patient_id == patient_id) == 1
