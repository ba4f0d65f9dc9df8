"""Versions under concurrency, on PostgreSQL: two transactions touching the same two departments
in opposite orders bump them in one order (department id), so they queue, never deadlock."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.factories import DepartmentFactory, PatientFactory
from webapp.extensions import db
from webapp.live.versions import current, touch
from webapp.queue.models import Ticket
from webapp.queue.moves import apply_move, check_in

pytestmark = pytest.mark.postgres

ROUNDS = 10
BARRIER_TIMEOUT = 20


def _race(app: Flask, steps: list[Callable[[int], None]]) -> list[str]:
    """Run each step ``ROUNDS`` times, one thread per step, each round's transactions all
    committing at once (after a barrier inside them); the tracebacks of whatever failed."""
    barrier = threading.Barrier(len(steps))
    errors: list[str] = []

    def run(step: Callable[[int], None]) -> None:
        # Its own app context: its own session and connection.
        with app.app_context():
            try:
                for round_ in range(ROUNDS):
                    step(round_)
                    barrier.wait(BARRIER_TIMEOUT)  # both hold their row locks; now commit
                    db.session.commit()
            except BaseException:
                errors.append(traceback.format_exc())
                barrier.abort()
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * ROUNDS)
    assert not any(thread.is_alive() for thread in threads), "a transaction hung"
    return errors


def test_touches_in_opposite_orders_do_not_deadlock(pg_app: Flask) -> None:
    first, second = DepartmentFactory(), DepartmentFactory()
    db.session.commit()
    ids = (first.id, second.id)
    before = current(ids)
    db.session.commit()

    def forwards(_round: int) -> None:
        PatientFactory()  # a write of its own too, as a real change has
        touch(ids[0])
        touch(ids[1])

    def backwards(_round: int) -> None:
        PatientFactory()
        touch(ids[1])
        touch(ids[0])

    assert _race(pg_app, [forwards, backwards]) == []
    after = current(ids)
    assert all(after[i] > before[i] for i in ids)


def test_transfers_crossing_between_two_departments_do_not_deadlock(pg_app: Flask) -> None:
    first, second = DepartmentFactory(), DepartmentFactory()
    db.session.commit()
    tickets = {
        department.id: [
            check_in(actor=None, patient_id=PatientFactory().id, department_id=department.id).id
            for _ in range(ROUNDS)
        ]
        for department in (first, second)
    }
    db.session.commit()

    def transfer_from(source: int, target: int) -> Callable[[int], None]:
        def step(round_: int) -> None:
            apply_move(
                tickets[source][round_],
                "transfer",
                actor=None,
                department_id=target,
                reason="Crossing",
            )

        return step

    errors = _race(pg_app, [transfer_from(first.id, second.id), transfer_from(second.id, first.id)])
    assert errors == []
    db.session.expire_all()
    transferred = db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.status == "transferred")
    )
    assert transferred == 2 * ROUNDS
