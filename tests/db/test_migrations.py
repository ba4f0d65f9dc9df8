"""The Alembic migration builds exactly the schema the models describe, and unbuilds it.

Run on PostgreSQL (production) and on a SQLite file (the embedded default); an
in-memory SQLite database would vanish between the migration's connections.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.exc import IntegrityError

import webapp.models  # noqa: F401  (registers every table on db.metadata)
from tests.conftest import make_app, reset_postgres_schema
from webapp.extensions import db

MODEL_TABLES = frozenset(db.metadata.tables)

# Indexes on expressions (lower(...)) that SQLAlchemy cannot reflect from SQLite.
EXPRESSION_INDEXES = frozenset({"uq_users_username_lower", "ix_patients_name_lower"})
PARTIAL_INDEXES = {
    "uq_tickets_one_active_per_patient_department": ("'waiting'", "'called'", "'in_service'"),
    "uq_tickets_one_serving_per_service_point": ("'called'", "'in_service'"),
    "uq_service_points_one_per_clinician": ("clinician_id IS NOT NULL",),
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on an empty database (nothing migrated yet), inside its app context."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres_schema(url)
    else:
        url = f"sqlite:///{tmp_path}/m.sqlite3"
    application = make_app(SQLALCHEMY_DATABASE_URI=url)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def table_names() -> set[str]:
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def head_revisions() -> set[str]:
    config = current_app.extensions["migrate"].migrate.get_config()
    return set(ScriptDirectory.from_config(config).get_heads())


def stamped_revisions() -> set[str]:
    with db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def schema_differences() -> list[object]:
    """What autogenerate would write in a new migration: nothing, if models and schema agree."""
    with db.engine.connect() as connection, warnings.catch_warnings():
        # SQLite: SQLAlchemy cannot reflect expression indexes and autogenerate skips
        # the metadata's (warning about each), so the lower(...) indexes go uncompared
        # here; test_it_creates_the_expression_and_partial_indexes_on_sqlite checks them.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        return list(compare_metadata(MigrationContext.configure(connection), db.metadata))


def leftover_objects() -> set[str]:
    """Everything in the database other than Alembic's own version table."""
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "postgresql":
            rows = connection.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public'"
                    " UNION ALL SELECT t.typname FROM pg_type t"
                    " JOIN pg_namespace n ON n.oid = t.typnamespace"
                    " WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')"
                )
            )
        else:
            rows = connection.execute(text("SELECT name FROM sqlite_master"))
        names = {row[0] for row in rows}
    alembic_own = {"alembic_version", "alembic_version_pkc", "sqlite_autoindex_alembic_version_1"}
    # PostgreSQL also gives every table a composite row type (and an array type) of its name.
    alembic_own |= {"_alembic_version"}
    return names - alembic_own


def test_it_has_a_single_head_revision(unmigrated_app: Flask) -> None:
    assert len(head_revisions()) == 1


def test_it_creates_every_model_table_on_upgrade(unmigrated_app: Flask) -> None:
    assert table_names() == set()

    upgrade()

    assert table_names() == MODEL_TABLES | {"alembic_version"}
    assert stamped_revisions() == head_revisions()


def test_it_builds_the_schema_the_models_describe(unmigrated_app: Flask) -> None:
    upgrade()

    assert schema_differences() == []


def test_it_leaves_only_alembic_version_after_downgrade_to_base(unmigrated_app: Flask) -> None:
    upgrade()

    downgrade(revision="base")

    assert table_names() == {"alembic_version"}
    assert leftover_objects() == set()
    assert stamped_revisions() == set()


def test_it_upgrades_again_after_a_downgrade(unmigrated_app: Flask) -> None:
    upgrade()
    downgrade(revision="base")

    upgrade()

    assert table_names() == MODEL_TABLES | {"alembic_version"}
    assert stamped_revisions() == head_revisions()
    assert schema_differences() == []


def test_it_creates_every_check_constraint_of_the_models(unmigrated_app: Flask) -> None:
    # Autogenerate does not compare CHECK constraints, so compare their names here.
    upgrade()

    inspector = inspect(db.engine)
    assert any(isinstance(c, CheckConstraint) for c in db.metadata.tables["tickets"].constraints)
    for table in db.metadata.sorted_tables:
        expected = {
            str(constraint.name)
            for constraint in table.constraints
            if isinstance(constraint, CheckConstraint)
        }
        actual = {check["name"] for check in inspector.get_check_constraints(table.name)}
        assert actual == expected, table.name


@pytest.mark.postgres
def test_it_creates_the_named_indexes_on_postgres(postgres_url: str) -> None:
    reset_postgres_schema(postgres_url)
    application = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    with application.app_context():
        upgrade()
        with db.engine.connect() as connection:
            definitions = dict(
                connection.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
                ).all()
            )
        db.engine.dispose()

    assert "UNIQUE INDEX" in definitions["uq_users_username_lower"]
    assert "lower((username)::text)" in definitions["uq_users_username_lower"]
    assert (
        "lower((last_name)::text), lower((first_name)::text)"
        in (definitions["ix_patients_name_lower"])
    )
    assert "(department_id, status)" in definitions["ix_tickets_department_status"]
    for name, statuses in PARTIAL_INDEXES.items():
        definition = definitions[name]
        assert "UNIQUE INDEX" in definition, name
        assert " WHERE " in definition, name
        where = definition.split(" WHERE ", 1)[1]
        for status in statuses:
            assert status in where, (name, status)
    assert "'waiting'" not in definitions["uq_tickets_one_serving_per_service_point"]
    assert (
        "(patient_id, department_id)" in definitions["uq_tickets_one_active_per_patient_department"]
    )


def test_it_creates_the_expression_and_partial_indexes_on_sqlite(tmp_path: Path) -> None:
    application = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/m.sqlite3")
    with application.app_context():
        upgrade()
        with db.engine.connect() as connection:
            definitions = dict(
                connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
                ).all()
            )
        db.engine.dispose()

    model_indexes = {index.name for table in db.metadata.tables.values() for index in table.indexes}
    assert model_indexes <= set(definitions)
    assert model_indexes >= EXPRESSION_INDEXES
    assert "UNIQUE INDEX" in definitions["uq_users_username_lower"]
    assert "lower(username)" in definitions["uq_users_username_lower"]
    assert "lower(last_name), lower(first_name)" in definitions["ix_patients_name_lower"]
    for name, statuses in PARTIAL_INDEXES.items():
        definition = definitions[name]
        assert "UNIQUE INDEX" in definition, name
        assert " WHERE " in definition, name
        for status in statuses:
            assert status in definition.split(" WHERE ", 1)[1], (name, status)


def _room_clinicians() -> list[tuple[int, int | None]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, clinician_id FROM service_points ORDER BY id")
        ).all()
    return [(row[0], row[1]) for row in rows]


def test_it_keeps_a_clinician_in_their_newest_room_when_adding_one_room_per_clinician(
    unmigrated_app: Flask,
) -> None:
    upgrade(revision="0003_ticket_queue_key")
    now = "2026-11-30 08:00:00"
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, full_name, role, password_hash, active,"
                " auth_version, created_at) VALUES"
                " (1, 'colin', 'Colin', 'clinician', 'x', true, 1, :now),"
                " (2, 'cleo', 'Cleo', 'clinician', 'x', true, 1, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO departments (id, code, name, default_service_minutes,"
                " accepts_walk_ins, active, created_at) VALUES (1, 'GEN', 'General', 10, true,"
                " true, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO service_points (id, department_id, name, active, clinician_id,"
                " signed_in_at, created_at) VALUES"
                " (1, 1, 'Room 1', true, 1, :now, :now),"
                " (2, 1, 'Room 2', true, 1, :now, :now),"
                " (3, 1, 'Room 3', true, 2, :now, :now),"
                " (4, 1, 'Room 4', true, NULL, NULL, :now),"
                " (5, 1, 'Room 5', true, NULL, NULL, :now)"
            ),
            {"now": now},
        )

    upgrade()

    assert _room_clinicians() == [(1, None), (2, 1), (3, 2), (4, None), (5, None)]
    # From now on the database refuses a second room for one clinician, but not two empty rooms.
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(text("UPDATE service_points SET clinician_id = 2 WHERE id = 4"))
