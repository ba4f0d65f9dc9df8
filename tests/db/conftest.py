"""Fixtures for the database tests: the app on each backend, and raw PostgreSQL engines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine

from tests.conftest import make_app
from webapp.extensions import db


@pytest.fixture
def migrated_sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    """The app on a SQLite file built by the migrations (the embedded default's real path)."""
    from flask_migrate import upgrade

    application = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/app.sqlite3")
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        "sqlite_migrated",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def any_db_app(request: pytest.FixtureRequest) -> Flask:
    """The app, inside its app context, on in-memory SQLite (``create_all``), a migrated
    SQLite file, or a migrated PostgreSQL database."""
    fixture = {"sqlite": "app", "sqlite_migrated": "migrated_sqlite_app", "postgres": "pg_app"}
    return request.getfixturevalue(fixture[request.param])


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def sqlite_or_pg_app(request: pytest.FixtureRequest) -> Flask:
    """The app on in-memory SQLite (the ``app`` fixture) or migrated PostgreSQL (``pg_app``)."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


@pytest.fixture
def pg_engine(pg_app: Flask, postgres_url: str) -> Iterator[Callable[..., Engine]]:
    """Make independent engines on the test database, outside Flask-SQLAlchemy.

    Each waits at most 20 s for a lock or a statement, so a test that goes wrong
    fails instead of leaving a backend stuck; all are disposed before ``pg_app``
    tears down (and the next test drops the schema).
    """
    engines: list[Engine] = []

    def factory(application_name: str = "hq_db_tests", **options: str) -> Engine:
        settings = {"lock_timeout": "20s", "statement_timeout": "20s", **options}
        pg_options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        engine = create_engine(
            postgres_url,
            connect_args={"application_name": application_name, "options": pg_options},
        )
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.dispose()
