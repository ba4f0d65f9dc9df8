"""The queue's invariants across several server processes on PostgreSQL, through HTTP.

Three app processes serve the same database; concurrent requests are spread
over them, as several gunicorn workers would receive them.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import (
    DEFAULT_PASSWORD,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
)
from webapp.extensions import db
from webapp.queue.models import QueueEvent, Ticket
from webapp.queue.moves import check_in

pytestmark = pytest.mark.postgres

SERVERS = 3
TIMEOUT = 60


def _serve(database_url: str, port: int) -> None:  # runs in a child process
    from werkzeug.serving import make_server

    from tests.conftest import make_app

    app = make_app(
        SQLALCHEMY_DATABASE_URI=database_url,
        LOGIN_LIMIT_PER_USERNAME="1000 per minute",
        LOGIN_LIMIT_PER_ADDRESS="1000 per minute",
    )
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def servers(pg_app: Flask, postgres_url: str) -> Iterator[list[str]]:
    context = multiprocessing.get_context("spawn")
    ports = [_free_port() for _ in range(SERVERS)]
    processes = [
        context.Process(target=_serve, args=(postgres_url, port), daemon=True) for port in ports
    ]
    for process in processes:
        process.start()
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + TIMEOUT
        for base in bases:
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"server {base} did not start")
                    time.sleep(0.2)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)


def _post(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _race(calls: list[tuple[str, dict[str, Any]]], token: str) -> list[tuple[int, Any]]:
    """Send every call at the same moment from its own thread."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[int, Any] | None] = [None] * len(calls)

    def send(index: int, url: str, body: dict[str, Any]) -> None:
        barrier.wait(timeout=TIMEOUT)
        results[index] = _post(url, body, token)

    threads = [
        threading.Thread(target=send, args=(index, url, body))
        for index, (url, body) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert all(result is not None for result in results), "a request hung"
    return [result for result in results if result is not None]


def _token(base: str) -> str:
    status, body = _post(
        f"{base}/api/v1/auth/login", {"username": "race-admin", "password": DEFAULT_PASSWORD}
    )
    assert status == 200, body
    return str(body["access_token"])


def test_twenty_rooms_calling_at_once_share_ten_patients(servers: list[str]) -> None:
    UserFactory(username="race-admin", role="admin")
    department = DepartmentFactory(code="RC")
    rooms = [ServicePointFactory(department=department, name=f"Room {n}") for n in range(20)]
    for _ in range(10):
        check_in(actor=None, patient_id=PatientFactory().id, department_id=department.id)
    db.session.commit()
    room_ids = [room.id for room in rooms]
    db.session.remove()
    token = _token(servers[0])

    results = _race(
        [
            (f"{servers[n % SERVERS]}/api/v1/queue/call-next", {"service_point_id": room_id})
            for n, room_id in enumerate(room_ids)
        ],
        token,
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 10 + [204] * 10
    called = [body["id"] for status, body in results if status == 200]
    assert len(set(called)) == 10  # ten distinct patients, none called twice
    tickets = db.session.scalars(select(Ticket).where(Ticket.status == "called")).all()
    assert len(tickets) == 10
    assert len({ticket.service_point_id for ticket in tickets}) == 10
    calls = db.session.scalars(select(QueueEvent).where(QueueEvent.action == "call")).all()
    assert len(calls) == 10


def test_fifty_check_ins_at_once_get_fifty_consecutive_numbers(servers: list[str]) -> None:
    UserFactory(username="race-admin", role="admin")
    department = DepartmentFactory(code="RK")
    patient_ids = [PatientFactory().id for _ in range(50)]
    db.session.commit()
    department_id = department.id
    db.session.remove()
    token = _token(servers[0])

    results = _race(
        [
            (
                f"{servers[n % SERVERS]}/api/v1/queue/check-in",
                {"patient_id": patient_id, "department_id": department_id},
            )
            for n, patient_id in enumerate(patient_ids)
        ],
        token,
    )

    assert [status for status, _ in results] == [201] * 50
    numbers = sorted(body["number"] for _, body in results)
    assert numbers == [f"RK-{n:03d}" for n in range(1, 51)]
