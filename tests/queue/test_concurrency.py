"""Concurrency on PostgreSQL: several server processes calling the queue services at once.

Each child process builds its own app (its own engine and connections) on the migrated
test database, waits at a Barrier so all of them act at the same moment, calls a service
inside an app context, commits, and reports through a Queue. Every wait has a timeout,
so a deadlock or a hang fails the test instead of blocking the run.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory, UserFactory
from webapp.extensions import db
from webapp.queue import moves
from webapp.queue.models import QueueEvent, Ticket

pytestmark = pytest.mark.postgres

CTX = multiprocessing.get_context("spawn")
WORKERS = 10
BARRIER_SIZES = (20, 10, 5, 2)
BARRIER_TIMEOUT = 20
RESULT_TIMEOUT = 60
STARTUP_TIMEOUT = 150  # each worker imports and builds the app: slow on a busy machine
IDLE_TIMEOUT = 600


# ------------------------------------------------------------ in the children


def _worker(url: str, barriers: dict[int, Any], tasks: Any, results: Any) -> None:
    """A long-lived child: builds its app once, then runs tasks until told to stop."""
    from tests.conftest import make_app

    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    results.put(("ready", None))
    while True:
        try:
            task = tasks.get(timeout=IDLE_TIMEOUT)
        except queue.Empty:
            return  # the parent went away
        if task is None:
            # Skip the interpreter's slow shutdown (some library's native thread keeps
            # it ~10 s); everything this process reported has been read already.
            results.close()
            results.join_thread()
            os._exit(0)
        name, size, args = task
        try:
            with app.app_context():
                try:
                    results.put(("ok", globals()[name](barriers[size], *args)))
                finally:
                    db.session.remove()
                    db.engine.dispose()  # the parent recreates the schema between tests
        except BaseException:  # report everything, including a broken barrier
            results.put(("error", traceback.format_exc()))


def _call_next_once(barrier: Any, service_point_id: int, actor_id: int | None) -> Any:
    from webapp.auth.models import User

    actor = db.session.get(User, actor_id) if actor_id else None
    db.session.commit()  # start the race without an open transaction
    barrier.wait(BARRIER_TIMEOUT)
    ticket = moves.call_next(service_point_id=service_point_id, actor=actor)
    result = (service_point_id, ticket.id if ticket else None)
    db.session.commit()
    return result


def _call_next(barrier: Any, seats: list[tuple[int, int | None]]) -> list[Any]:
    """Each seat (service point, clinician) calls from its own thread and app context, so
    its own session and connection."""
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    results: list[Any] = []
    errors: list[str] = []

    def seat(point_id: int, actor_id: int | None) -> None:
        try:
            with app.app_context():
                try:
                    results.append(_call_next_once(barrier, point_id, actor_id))
                finally:
                    db.session.remove()
        except BaseException:
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=seat, args=pair) for pair in seats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT + 30)
    if errors or any(thread.is_alive() for thread in threads):
        raise RuntimeError("\n".join(errors) or "a call-next thread hung")
    return results


def _call_next_as(barrier: Any, service_point_id: int, actor_id: int) -> list[Any]:
    """One room calls next for ``actor_id``; report "called" or "conflict" (never a crash)."""
    from webapp.auth.models import User
    from webapp.domain_errors import Conflict

    actor = db.session.get(User, actor_id)
    db.session.commit()
    barrier.wait(BARRIER_TIMEOUT)
    try:
        ticket = moves.call_next(service_point_id=service_point_id, actor=actor)
        db.session.commit()
        return [(service_point_id, "called" if ticket else "nobody")]
    except Conflict:
        db.session.rollback()
        return [(service_point_id, "conflict")]


def _check_in_many(barrier: Any, department_id: int, patient_ids: list[int]) -> list[Any]:
    barrier.wait(BARRIER_TIMEOUT)
    numbers = []
    for patient_id in patient_ids:
        ticket = moves.check_in(actor=None, patient_id=patient_id, department_id=department_id)
        numbers.append(ticket.number)
        db.session.commit()
    return numbers


def _check_in_same_patients(barrier: Any, department_id: int, patient_ids: list[int]) -> list[Any]:
    from webapp.domain_errors import Conflict

    outcomes = []
    for patient_id in patient_ids:
        barrier.wait(BARRIER_TIMEOUT)  # one round per patient, both processes together
        try:
            ticket = moves.check_in(actor=None, patient_id=patient_id, department_id=department_id)
            db.session.commit()
            outcomes.append((patient_id, ticket.number))
        except Conflict:
            db.session.rollback()
            outcomes.append((patient_id, "conflict"))
    return outcomes


# --------------------------------------------------------------- in the parent


class Workers:
    """WORKERS spawned processes, started once for the module (starting one costs seconds)."""

    def __init__(self, url: str) -> None:
        self.barriers = {size: CTX.Barrier(size) for size in BARRIER_SIZES}
        self.results = CTX.Queue()
        self.tasks = [CTX.Queue() for _ in range(WORKERS)]
        self.processes = [
            CTX.Process(target=_worker, args=(url, self.barriers, tasks, self.results), daemon=True)
            for tasks in self.tasks
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            status, payload = self.results.get(timeout=STARTUP_TIMEOUT)
            assert status == "ready", payload

    def run(self, work: Callable[..., Any], size: int, argument_lists: list[tuple]) -> list:
        """Run ``work`` in one process per argument tuple; ``size`` parties meet at the barrier."""
        assert len(argument_lists) <= WORKERS
        self.barriers[size].reset()
        for tasks, args in zip(self.tasks, argument_lists, strict=False):
            tasks.put((work.__name__, size, args))
        collected: list[Any] = []
        errors: list[str] = []
        for _ in argument_lists:
            status, payload = self.results.get(timeout=RESULT_TIMEOUT)
            if status == "ok":
                collected.extend(payload)
            else:
                errors.append(payload)
        assert not errors, "\n\n".join(errors)
        return collected

    def stop(self) -> None:
        for tasks in self.tasks:
            tasks.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)


@pytest.fixture(scope="module")
def workers(postgres_url: str) -> Iterator[Workers]:
    pool = Workers(postgres_url)
    yield pool
    pool.stop()


def test_concurrent_call_next_gives_distinct_tickets(pg_app: Any, workers: Workers) -> None:
    """20 service points (10 processes × 2 threads) press call-next at once; 10 wait."""
    department = DepartmentFactory(code="GM")
    points = []
    for index in range(20):
        doctor = UserFactory(role="clinician") if index % 2 == 0 else None
        points.append(
            ServicePointFactory(department=department, clinician_id=doctor.id if doctor else None)
        )
    db.session.commit()
    waiting = [
        moves.check_in(actor=None, patient_id=PatientFactory().id, department_id=department.id)
        for _ in range(10)
    ]
    db.session.commit()
    waiting_ids = {ticket.id for ticket in waiting}
    seats = [(point.id, point.clinician_id) for point in points]
    arguments = [(seats[index::WORKERS],) for index in range(WORKERS)]

    results = workers.run(_call_next, 20, arguments)

    assert len(results) == 20
    called = [ticket_id for _, ticket_id in results if ticket_id is not None]
    assert len(called) == 10, results
    assert len(set(called)) == 10, Counter(called)  # nobody called twice
    assert set(called) == waiting_ids
    assert sum(1 for _, ticket_id in results if ticket_id is None) == 10
    callers = [point_id for point_id, ticket_id in results if ticket_id is not None]
    assert len(set(callers)) == 10

    db.session.expire_all()
    tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(waiting_ids))).all()
    assert all(ticket.status == "called" for ticket in tickets)
    assert len({ticket.service_point_id for ticket in tickets}) == 10
    by_point = dict(results)
    for ticket in tickets:
        assert by_point[ticket.service_point_id] == ticket.id
    calls = db.session.scalar(
        select(func.count()).select_from(QueueEvent).where(QueueEvent.action == "call")
    )
    assert calls == 10


def test_one_clinician_calling_from_five_rooms_at_once_is_at_one_room(
    pg_app: Any, workers: Workers
) -> None:
    """The same clinician presses call-next in five rooms at the same moment, five rounds:
    afterwards they are signed in at exactly one room, and every call either worked or was
    refused cleanly. (It caught a deadlock, then a room read before the clinician's lock that
    left them seated nowhere.)"""
    from webapp.departments.models import ServicePoint

    department = DepartmentFactory(code="GM")
    doctor = UserFactory(role="clinician")
    rooms = [ServicePointFactory(department=department) for _ in range(5)]
    db.session.commit()
    for _ in range(5):
        db.session.execute(
            Ticket.__table__.update()
            .where(Ticket.status == "called")
            .values(status="completed", ended_at=func.now())
        )
        for _ in range(5):
            moves.check_in(actor=None, patient_id=PatientFactory().id, department_id=department.id)
        db.session.commit()

        outcomes = workers.run(_call_next_as, 5, [(room.id, doctor.id) for room in rooms])

        assert len(outcomes) == 5
        assert {outcome for _, outcome in outcomes} <= {"called", "conflict"}
        assert any(outcome == "called" for _, outcome in outcomes)
        db.session.expire_all()
        at = db.session.scalars(
            select(ServicePoint.id).where(ServicePoint.clinician_id == doctor.id)
        ).all()
        assert len(at) == 1, at


def test_concurrent_check_ins_get_consecutive_numbers(pg_app: Any, workers: Workers) -> None:
    """10 processes × 5 check-ins of different patients into one department."""
    department = DepartmentFactory(code="GM")
    patients = [PatientFactory() for _ in range(50)]
    db.session.commit()
    ids = [patient.id for patient in patients]
    arguments = [(department.id, ids[start : start + 5]) for start in range(0, 50, 5)]

    numbers = workers.run(_check_in_many, 10, arguments)

    assert len(numbers) == 50
    assert sorted(numbers) == [f"GM-{n:03d}" for n in range(1, 51)]
    db.session.expire_all()
    tickets = db.session.scalars(select(Ticket)).all()
    assert sorted(ticket.sequence for ticket in tickets) == list(range(1, 51))
    assert {ticket.patient_id for ticket in tickets} == set(ids)


def test_same_patient_checked_in_twice_at_once(pg_app: Any, workers: Workers) -> None:
    """Two processes check in the same patient at once, five rounds: one ticket each time."""
    department = DepartmentFactory(code="GM")
    patients = [PatientFactory() for _ in range(5)]
    db.session.commit()
    ids = [patient.id for patient in patients]

    outcomes = workers.run(_check_in_same_patients, 2, [(department.id, ids)] * 2)

    assert len(outcomes) == 10
    for patient_id in ids:
        mine = sorted(outcome for pid, outcome in outcomes if pid == patient_id)
        assert len(mine) == 2
        assert mine[1] == "conflict", mine  # "GM-…" sorts before "conflict"
        assert mine[0].startswith("GM-")
    db.session.expire_all()
    for patient_id in ids:
        count = db.session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.patient_id == patient_id)
        )
        assert count == 1
