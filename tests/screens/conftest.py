"""Fixtures of the screens' tests: the fast layer with Redis or without, a department."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import event

from tests.conftest import GENEROUS_LOGIN_LIMITS
from tests.factories import DepartmentFactory
from webapp.departments.models import Department
from webapp.extensions import db

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@pytest.fixture(params=["embedded", "redis"])
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test runs with the in-process fast layer and with Redis (skipped without
    TEST_REDIS_URL)."""
    config: dict[str, Any] = dict(GENEROUS_LOGIN_LIMITS)
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
        config["REDIS_URL"] = url
    return config


@pytest.fixture
def gm(app: Flask) -> Department:
    department = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    return department


@pytest.fixture
def ed(app: Flask) -> Department:
    department = DepartmentFactory(code="ED", name="Emergency")
    db.session.commit()
    return department


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement run inside the block (not BEGIN/COMMIT/SAVEPOINT)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def writes(seen: list[str]) -> list[str]:
    """The statements that wrote the screens table."""
    return [
        statement
        for statement in seen
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "screens" in statement
    ]
