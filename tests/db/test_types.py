"""UTCDateTime keeps instants exact and always aware; after_commit waits for a real commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from tests.factories import DepartmentFactory
from webapp.database import after_commit, utcnow
from webapp.departments.models import Department
from webapp.extensions import db

INDIA = timezone(timedelta(hours=5, minutes=30))
INSTANT_IN_INDIA = datetime(2026, 3, 1, 10, 30, 15, 123456, tzinfo=INDIA)
SAME_INSTANT_UTC = datetime(2026, 3, 1, 5, 0, 15, 123456, tzinfo=UTC)


@pytest.fixture
def db_app(sqlite_or_pg_app: Flask) -> Flask:
    return sqlite_or_pg_app


def reload_created_at(department_id: int) -> datetime:
    db.session.expire_all()
    value = db.session.scalar(select(Department.created_at).where(Department.id == department_id))
    assert value is not None
    return value


# ------------------------------------------------------------------ UTCDateTime


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(INSTANT_IN_INDIA, id="utc+05:30"),
        pytest.param(SAME_INSTANT_UTC, id="utc"),
        pytest.param(
            datetime(2026, 2, 28, 19, 0, 15, 123456, tzinfo=timezone(timedelta(hours=-10))),
            id="utc-10-previous-day",
        ),
        pytest.param(
            datetime(2026, 3, 1, 0, 0, 15, 123456, tzinfo=ZoneInfo("America/New_York")),
            id="zoneinfo",
        ),
    ],
)
def test_it_round_trips_an_aware_datetime_as_the_same_instant_in_utc(
    db_app: Flask, given: datetime
) -> None:
    department = DepartmentFactory(created_at=given)
    db.session.commit()

    loaded = reload_created_at(department.id)

    assert loaded == SAME_INSTANT_UTC
    assert loaded.tzinfo is UTC
    assert loaded.isoformat() == "2026-03-01T05:00:15.123456+00:00"


def test_it_compares_aware_instants_in_queries(db_app: Flask) -> None:
    department = DepartmentFactory(created_at=INSTANT_IN_INDIA)
    db.session.commit()

    just_before = SAME_INSTANT_UTC - timedelta(microseconds=1)
    found = db.session.scalars(
        select(Department.id).where(
            Department.created_at > just_before.astimezone(timezone(timedelta(hours=-8))),
            Department.created_at <= SAME_INSTANT_UTC,
        )
    ).all()

    assert found == [department.id]


def test_it_stores_naive_utc_text_on_sqlite(app: Flask) -> None:
    department = DepartmentFactory(created_at=INSTANT_IN_INDIA)
    db.session.commit()

    stored = db.session.execute(
        text("SELECT created_at FROM departments WHERE id = :id"), {"id": department.id}
    ).scalar_one()

    # UTC, without an offset, so SQLite's text comparisons order instants correctly.
    assert stored == "2026-03-01 05:00:15.123456"


@pytest.mark.postgres
def test_it_returns_utc_whatever_the_postgres_session_time_zone(
    pg_app: Flask, pg_engine: Callable[..., Engine]
) -> None:
    department = DepartmentFactory(created_at=INSTANT_IN_INDIA)
    db.session.commit()
    engine = pg_engine(TimeZone="America/Los_Angeles")

    with Session(engine) as session:
        raw = session.execute(
            text("SELECT created_at FROM departments WHERE id = :id"), {"id": department.id}
        ).scalar_one()
        loaded = session.scalar(select(Department.created_at).where(Department.id == department.id))

    assert raw.utcoffset() == timedelta(hours=-8)  # the driver answers in the session's zone
    assert loaded == SAME_INSTANT_UTC
    assert loaded is not None
    assert loaded.tzinfo is UTC


def test_it_refuses_a_naive_datetime_on_insert(db_app: Flask) -> None:
    naive = datetime(2026, 3, 1, 10, 30)
    db.session.add(Department(code="NV", name="Naive", created_at=naive))

    with pytest.raises(StatementError) as caught:
        db.session.flush()
    db.session.rollback()

    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value.orig)
    assert db.session.scalar(select(func.count()).select_from(Department)) == 0


def test_it_refuses_a_naive_datetime_in_a_query(db_app: Flask) -> None:
    naive = datetime(2026, 3, 1, 10, 30)

    with pytest.raises(StatementError) as caught:
        db.session.scalars(select(Department).where(Department.created_at < naive)).all()
    db.session.rollback()

    assert isinstance(caught.value.orig, ValueError)


def test_it_keeps_none_as_null(db_app: Flask) -> None:
    from webapp.auth.models import User

    user = User(username="nulls", full_name="N", role="admin", password_hash="x")
    db.session.add(user)
    db.session.commit()
    db.session.expire_all()

    assert db.session.get(User, user.id).last_login_at is None  # type: ignore[union-attr]


# ---------------------------------------------------------------- after_commit


def test_it_runs_after_commit_callbacks_only_once_committed(db_app: Flask) -> None:
    calls: list[str] = []
    DepartmentFactory()
    after_commit(lambda: calls.append("first"))
    after_commit(lambda: calls.append("second"))

    db.session.flush()
    assert calls == []

    db.session.commit()
    assert calls == ["first", "second"]

    DepartmentFactory()
    db.session.commit()
    assert calls == ["first", "second"]  # each callback runs once, not on every later commit


@pytest.mark.postgres
def test_it_runs_after_commit_callbacks_when_other_connections_see_the_data(
    pg_app: Flask, pg_engine: Callable[..., Engine]
) -> None:
    observer = pg_engine()
    seen: list[int] = []

    def count_departments_elsewhere() -> None:
        with observer.connect() as connection:
            seen.append(connection.execute(text("SELECT count(*) FROM departments")).scalar_one())

    DepartmentFactory()
    after_commit(count_departments_elsewhere)
    count_departments_elsewhere()  # before the commit: not visible yet
    db.session.commit()

    assert seen == [0, 1]


def test_it_drops_after_commit_callbacks_on_rollback(db_app: Flask) -> None:
    calls: list[str] = []
    DepartmentFactory()
    after_commit(lambda: calls.append("dropped"))

    db.session.rollback()
    DepartmentFactory()
    db.session.commit()

    assert calls == []


def test_it_drops_after_commit_callbacks_when_a_flush_fails(db_app: Flask) -> None:
    calls: list[str] = []
    DepartmentFactory(code="GM")
    db.session.commit()
    db.session.add(Department(code="GM", name="Duplicate"))
    after_commit(lambda: calls.append("dropped"))

    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.commit()

    assert calls == []


def test_it_waits_for_the_outer_commit_not_a_savepoint_release(db_app: Flask) -> None:
    # A service that flushes inside begin_nested() (create_user, create_department do)
    # must not trigger callbacks registered earlier in the same transaction: releasing
    # a SAVEPOINT is not a commit, and the outer transaction may still roll back.
    calls: list[str] = []
    DepartmentFactory()
    after_commit(lambda: calls.append("outer"))

    with db.session.begin_nested():
        DepartmentFactory()
    assert calls == [], "callback ran when the SAVEPOINT was released, before any commit"

    db.session.rollback()
    assert calls == []


def test_it_keeps_outer_callbacks_when_a_savepoint_rolls_back(db_app: Flask) -> None:
    # The services' pattern: try a flush in a savepoint, turn IntegrityError into a
    # Conflict, and carry on. The outer transaction still commits, so callbacks it
    # registered before the savepoint must still run.
    DepartmentFactory(code="GM")
    db.session.commit()
    calls: list[str] = []
    DepartmentFactory()
    after_commit(lambda: calls.append("outer"))

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Department(code="GM", name="Duplicate"))
        db.session.flush()
    db.session.commit()

    assert calls == ["outer"]


def test_it_drops_callbacks_registered_inside_a_rolled_back_savepoint(db_app: Flask) -> None:
    calls: list[str] = []
    DepartmentFactory()

    with pytest.raises(RuntimeError), db.session.begin_nested():
        DepartmentFactory()
        after_commit(lambda: calls.append("inner"))
        raise RuntimeError("undo the savepoint")
    db.session.commit()

    assert calls == []
    assert db.session.scalar(select(func.count()).select_from(Department)) == 1


def test_it_stamps_rows_with_an_aware_utc_now(db_app: Flask) -> None:
    before = utcnow()
    department = DepartmentFactory()
    db.session.commit()

    loaded = reload_created_at(department.id)

    assert loaded.tzinfo is UTC
    assert before <= loaded <= utcnow()
