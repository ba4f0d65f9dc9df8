"""The outbox against the real services: Redis down when a row is written, and two workers
racing for one row on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis
import time_machine
from flask import Flask
from sqlalchemy import select

from tests.factories import DepartmentFactory, PatientFactory, walk_in
from tests.notifications.gateway import unused_port
from webapp import tasks
from webapp.database import utcnow
from webapp.extensions import db
from webapp.notifications import delivery, outbox
from webapp.notifications.models import Notification
from webapp.notifications.outbox import write_notification
from webapp.notifications.providers.base import OutgoingMessage, Sent
from webapp.notifications.tasks import requeue_stale_notifications

PHONE = "+447700900123"


def statuses() -> dict[int, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(Notification.id, Notification.status)).tuples().all())


@pytest.mark.redis
def test_it_keeps_a_row_written_while_redis_is_down_and_sends_it_once_redis_is_back(
    app: Flask, redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    department = DepartmentFactory(name="Radiology")
    patient = PatientFactory(sms_opt_in=True, phone=PHONE)
    db.session.commit()
    # A worker setup as in production: tasks go through a broker, which is down.
    monkeypatch.setattr(tasks.huey, "immediate", False)
    dead = tasks.make_huey(f"redis://127.0.0.1:{unused_port()}/0")
    monkeypatch.setattr(tasks.huey, "storage", dead.storage)

    ticket = walk_in(department, patient)  # the check-in itself succeeds

    written = statuses()
    assert written and set(written.values()) == {"pending"}
    assert capsys.readouterr().out == ""

    # Redis is back. A minute later the periodic task queues the rows again …
    live = tasks.make_huey(redis_url)
    live.storage.flush_all()
    monkeypatch.setattr(tasks.huey, "storage", live.storage)
    with time_machine.travel(utcnow() + timedelta(seconds=90)):
        assert requeue_stale_notifications.call_local() == len(written)
        # … and a worker takes them from Redis and sends them.
        while (task := tasks.huey.dequeue()) is not None:
            tasks.huey.execute(task)

    assert set(statuses().values()) == {"sent"}
    printed = capsys.readouterr().out
    assert f"Checked in: ticket {ticket.number}, Radiology." in printed
    live.storage.flush_all()
    redis.Redis.from_url(redis_url).close()


class CountingProvider:
    """Sends slowly and counts, so two workers overlap on the same row."""

    name = "counting"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[int] = []

    def send(self, message: OutgoingMessage) -> Sent:
        threading.Event().wait(0.2)  # hold the claim while the other worker tries
        with self.lock:
            self.sent.append(message.notification_id)
        return Sent()


@pytest.mark.postgres
def test_it_sends_a_row_once_when_two_workers_race_for_it_on_postgresql(
    pg_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = CountingProvider()
    monkeypatch.setattr(delivery, "provider_for", lambda channel, config: provider)
    monkeypatch.setattr(outbox, "enqueue", lambda *args, **kwargs: True)  # workers are below
    patient = PatientFactory(sms_opt_in=True, phone=PHONE)
    db.session.commit()
    rounds = 5

    for _ in range(rounds):
        notification_id = write_notification(
            patient_id=patient.id, channel="sms", kind="called", body="Ticket GM-001: Room 3."
        )
        db.session.commit()
        assert notification_id is not None
        start = threading.Barrier(2)

        def worker(row_id: int, start: threading.Barrier = start) -> str:
            with pg_app.app_context():
                start.wait(5)
                return delivery.deliver(row_id)

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(worker, [notification_id] * 2))

        assert outcomes == ["sent", "skipped"]

    assert len(provider.sent) == rounds == len(set(provider.sent))
    assert set(statuses().values()) == {"sent"}
