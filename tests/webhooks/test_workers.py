"""Deliveries with real workers: several at once on PostgreSQL, and Redis down then back."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis
import time_machine
from flask import Flask
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.factories import DepartmentFactory, walk_in
from tests.notifications.gateway import unused_port
from tests.webhooks.helpers import deliveries, subscribe, verify
from webapp import tasks
from webapp.database import utcnow
from webapp.extensions import db
from webapp.webhooks import delivery
from webapp.webhooks.tasks import requeue_webhooks


@pytest.mark.postgres
def test_several_workers_send_a_subscription_s_deliveries_once_each_in_order(
    pg_app: Flask, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def answer(request: Request) -> Response:
        threading.Event().wait(0.02)  # slow enough for the workers to overlap
        with lock:
            seen.append(request.headers["X-HQ-Delivery"])
        return Response("", status=204)

    httpserver.expect_request("/hook").respond_with_handler(answer)
    monkeypatch.setattr(delivery, "enqueue", lambda *args, **kwargs: True)  # workers are below
    created = subscribe(httpserver.url_for("/hook"))
    other = subscribe(httpserver.url_for("/hook"))
    department = DepartmentFactory()
    db.session.commit()
    ids = (created.subscription.id, other.subscription.id)
    secrets = {created.subscription.id: created.secret, other.subscription.id: other.secret}
    for _ in range(12):
        walk_in(department)
    db.session.remove()

    errors: list[BaseException] = []

    def worker(subscription_id: int) -> None:
        try:
            with pg_app.app_context():
                delivery.send_pending(subscription_id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=worker, args=(subscription_id,))
        for _ in range(4)
        for subscription_id in ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    rows = deliveries()
    assert len(rows) == 24 and {row.status for row in rows} == {"delivered"}
    assert all(row.attempts == 1 for row in rows)
    assert sorted(seen) == sorted(row.event_id for row in rows)  # each once
    for subscription_id in ids:
        mine = [row.event_id for row in rows if row.subscription_id == subscription_id]
        assert [event_id for event_id in seen if event_id in mine] == mine  # in order
    for request, _response in httpserver.log:
        owner = next(row for row in rows if row.event_id == request.headers["X-HQ-Delivery"])
        verify(request, secrets[owner.subscription_id])


@pytest.mark.redis
def test_a_delivery_written_while_redis_is_down_is_sent_once_redis_is_back(
    app: Flask, redis_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    created = subscribe(httpserver.url_for("/hook"), events=("ticket.checked_in",))
    department = DepartmentFactory()
    db.session.commit()
    monkeypatch.setattr(tasks.huey, "immediate", False)
    dead = tasks.make_huey(f"redis://127.0.0.1:{unused_port()}/0")
    monkeypatch.setattr(tasks.huey, "storage", dead.storage)

    ticket = walk_in(department)  # the check-in itself succeeds

    [row] = deliveries()
    assert row.status == "pending" and row.attempts == 0
    assert httpserver.log == []

    live = tasks.make_huey(redis_url)
    live.storage.flush_all()
    monkeypatch.setattr(tasks.huey, "storage", live.storage)
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(seconds=60)):
        assert requeue_webhooks.call_local() == 1
        while (task := tasks.huey.dequeue()) is not None:
            tasks.huey.execute(task)

    [row] = deliveries()
    assert row.status == "delivered"
    [(request, _response)] = httpserver.log
    payload = verify(request, created.secret)
    assert payload["type"] == "ticket.checked_in" and payload["data"]["id"] == ticket.id
    live.storage.flush_all()
    redis.Redis.from_url(redis_url).close()
