"""Refresh-token rotation holds when two requests race with the same token (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import DEFAULT_PASSWORD, UserFactory
from webapp.auth.models import RefreshToken
from webapp.extensions import db

pytestmark = pytest.mark.postgres


def test_it_lets_only_one_of_two_concurrent_refreshes_succeed(pg_app: Flask) -> None:
    UserFactory(username="racer", role="admin")
    db.session.commit()
    login = pg_app.test_client().post(
        "/api/v1/auth/login", json={"username": "racer", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200
    refresh_token = login.json["refresh_token"]
    db.session.remove()

    barrier = threading.Barrier(2)
    statuses: list[int] = []
    lock = threading.Lock()

    def refresh() -> None:
        client = pg_app.test_client()
        barrier.wait(timeout=10)
        response = client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a refresh request hung"

    assert sorted(statuses) == [200, 401]
    # The loser presented a used token: the whole family is revoked, the winner's new token too.
    tokens = db.session.scalars(select(RefreshToken)).all()
    assert len(tokens) == 2
    assert all(token.revoked_at is not None for token in tokens)
