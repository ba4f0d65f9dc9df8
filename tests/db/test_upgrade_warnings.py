"""`flask db upgrade` on a fresh database prints no warning (what `make run` shows first).

Run as a developer runs it: the real command in a subprocess, with Python's default warning
filters, on a fresh SQLite file and on an empty PostgreSQL database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import reset_postgres_schema

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


def upgrade(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHONWARNINGS", "REDIS_URL", "DATABASE_URL"))
    }
    env.update(APP_ENV="development", DATABASE_URL=database_url)
    return subprocess.run(  # noqa: S603 (this virtualenv's own flask, fixed arguments)
        [str(FLASK), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def index_sql(database_url: str) -> dict[str, str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
                )
            else:
                rows = connection.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
                )
            return {name: sql or "" for name, sql in rows}
    finally:
        engine.dispose()


def assert_quiet_upgrade(database_url: str) -> None:
    result = upgrade(database_url)

    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    assert "Warning" not in result.stdout, result.stdout
    # The silenced warning was about indexes batch mode could not read: they are all there.
    indexes = index_sql(database_url)
    for name, column in [
        ("uq_users_username_lower", "username"),
        ("ix_patients_name_lower", "last_name"),
    ]:
        assert "lower(" in indexes[name].lower() and column in indexes[name], indexes[name]


def test_it_upgrades_a_fresh_sqlite_file_without_a_warning(tmp_path: Path) -> None:
    assert_quiet_upgrade(f"sqlite:///{tmp_path}/fresh.sqlite3")


@pytest.mark.postgres
def test_it_upgrades_an_empty_postgresql_database_without_a_warning(postgres_url: str) -> None:
    reset_postgres_schema(postgres_url)

    assert_quiet_upgrade(postgres_url)
