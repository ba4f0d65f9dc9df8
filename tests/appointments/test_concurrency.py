"""Double booking under real concurrency: two server processes booking at the same moment.

Each round, two child processes (each with its own app, engine and connection)
wait at a barrier and then book overlapping times for the same clinician (or the
same patient) on PostgreSQL. The booking service locks the clinician's and the
patient's rows before it checks for overlaps, so exactly one must succeed and
the other must get a Conflict, leaving exactly one appointment.
"""

from __future__ import annotations

import multiprocessing
import queue
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.factories import DepartmentFactory, PatientFactory, UserFactory
from webapp.appointments.models import Appointment
from webapp.database import utcnow
from webapp.extensions import db

pytestmark = pytest.mark.postgres

ROUNDS = 5
TIMEOUT = 60.0  # seconds for any one wait: a hang fails the test instead of blocking the run


def _racer(url: str, index: int, jobs: list[dict[str, Any]], barrier: Any, results: Any) -> None:
    """Child process: for each round, wait for the other racer, book, commit, report."""
    from tests.conftest import make_app
    from webapp.appointments.services import book_appointment
    from webapp.domain_errors import Conflict

    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        try:
            for round_number, job in enumerate(jobs):
                barrier.wait(timeout=TIMEOUT)
                try:
                    book_appointment(actor=None, **job)
                    db.session.commit()
                    outcome = "ok"
                except Conflict:
                    db.session.rollback()
                    outcome = "conflict"
                except Exception as error:  # reported, so the parent fails with the cause
                    db.session.rollback()
                    outcome = f"error: {error!r}"
                results.put((round_number, index, outcome))
        finally:
            db.session.remove()
            db.engine.dispose()


def race(url: str, jobs: list[list[dict[str, Any]]]) -> dict[int, list[str]]:
    """Run two racers, ``jobs[racer][round]``; return the outcomes of each round, sorted."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=_racer, args=(url, index, jobs[index], barrier, results))
        for index in range(2)
    ]
    for process in processes:
        process.start()
    outcomes: dict[int, list[str]] = {round_number: [] for round_number in range(ROUNDS)}
    try:
        for _ in range(2 * ROUNDS):
            try:
                round_number, _index, outcome = results.get(timeout=TIMEOUT)
            except queue.Empty:
                pytest.fail("a booking process hung (no result within the timeout)")
            outcomes[round_number].append(outcome)
    finally:
        for process in processes:
            process.join(timeout=TIMEOUT)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    assert all(process.exitcode == 0 for process in processes), "a booking process crashed"
    return {round_number: sorted(found) for round_number, found in outcomes.items()}


def appointments_at(start: Any, end: Any) -> int:
    db.session.expire_all()
    query = select(func.count()).where(Appointment.starts_at >= start, Appointment.starts_at < end)
    return db.session.scalar(query.select_from(Appointment)) or 0


def round_start(round_number: int) -> Any:
    base = (utcnow() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return base + timedelta(hours=round_number)


def test_two_processes_cannot_double_book_one_clinician(pg_app: Flask, postgres_url: str) -> None:
    department = DepartmentFactory(opening_hours=None)
    clinician = UserFactory(role="clinician", full_name="Dr Race")
    patients = [[PatientFactory() for _ in range(ROUNDS)] for _ in range(2)]
    db.session.commit()
    jobs = [
        [
            {
                "patient_id": patients[racer][round_number].id,
                "department_id": department.id,
                "clinician_id": clinician.id,
                # 09:00–09:20 against 09:10–09:30: the same clinician, overlapping.
                "starts_at": round_start(round_number) + timedelta(minutes=10 * racer),
                "duration_minutes": 20,
            }
            for round_number in range(ROUNDS)
        ]
        for racer in range(2)
    ]

    outcomes = race(postgres_url, jobs)

    for round_number, found in outcomes.items():
        assert found == ["conflict", "ok"], f"round {round_number}: {found}"
        start = round_start(round_number)
        assert appointments_at(start, start + timedelta(hours=1)) == 1, f"round {round_number}"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == ROUNDS


def test_two_processes_cannot_double_book_one_patient(pg_app: Flask, postgres_url: str) -> None:
    department = DepartmentFactory(opening_hours=None)
    clinicians = [UserFactory(role="clinician") for _ in range(2)]
    patients = [PatientFactory() for _ in range(ROUNDS)]
    db.session.commit()
    jobs = [
        [
            {
                "patient_id": patients[round_number].id,
                "department_id": department.id,
                "clinician_id": clinicians[racer].id,  # different clinicians, one patient
                "starts_at": round_start(round_number) + timedelta(minutes=10 * racer),
                "duration_minutes": 20,
            }
            for round_number in range(ROUNDS)
        ]
        for racer in range(2)
    ]

    outcomes = race(postgres_url, jobs)

    for round_number, found in outcomes.items():
        assert found == ["conflict", "ok"], f"round {round_number}: {found}"
        start = round_start(round_number)
        assert appointments_at(start, start + timedelta(hours=1)) == 1, f"round {round_number}"
