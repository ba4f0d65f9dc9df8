"""Screens' sightings and health: one database write per screen per minute however often it
polls, stale after SCREEN_STALE_SECONDS, muted until its sound starts, the fast layer in Redis
or in the process (and Redis down), rename and forget with their audit rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import make_app
from tests.factories import UserFactory
from tests.screens.conftest import statements, writes
from webapp.audit.models import AuditLog
from webapp.departments.models import Department
from webapp.domain_errors import ValidationFailed
from webapp.extensions import db
from webapp.screens import services
from webapp.screens.models import Screen
from webapp.screens.services import (
    forget_screen,
    list_screens,
    record_sighting,
    rename_screen,
    screen_health,
)

KEY = "3f0c2b9e-6d1a-4c57-9a8e-2b7d4e1f0a66"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def poll(
    key: str = KEY, code: str = "GM", name: str | None = "Main hall", sound: bool = False
) -> bool:
    recorded = record_sighting(
        key=key, department_code=code, name=name, sound_started=sound, version="20261201.1-1.1"
    )
    db.session.commit()  # as the display's request does after answering
    return recorded


def row(key: str = KEY) -> Screen | None:
    db.session.expire_all()
    return db.session.scalar(select(Screen).where(Screen.key == key))


def only_screen() -> services.ScreenState:
    (screen,) = list_screens()
    return screen


# ------------------------------------------------------------------ sightings


def test_a_first_poll_creates_the_screen_under_the_name_its_browser_gives(
    gm: Department,
) -> None:
    assert poll(name="  Main   hall ")
    screen = row()
    assert screen is not None
    assert (screen.name, screen.department_id) == ("Main hall", gm.id)
    assert screen.version == "20261201.1-1.1" and screen.sound_started is False


def test_one_database_write_per_screen_per_minute_however_often_it_polls(
    gm: Department,
) -> None:
    """A display polls every 3 s: 200 polls over 10 minutes write its row 10 times, and the
    polls in between run no SQL at all."""
    polls = 200
    with statements() as seen:
        for number in range(polls):
            with time_machine.travel(T0 + timedelta(seconds=3 * number), tick=False):
                poll(sound=number > 0)
    written = writes(seen)
    assert written[0].lstrip().upper().startswith("INSERT")
    # 600 s of polls: the insert at 0 s, then one update per 60 s (60, 120, … 540 s).
    assert len(written) == 10, written
    # Reads happen only when deciding a write (the row and, when new, its department).
    assert len(seen) <= 10 * 4, seen
    assert row().last_seen_at == T0 + timedelta(seconds=3 * 180)  # type: ignore[union-attr]


def test_between_writes_the_live_values_come_from_the_fast_layer(gm: Department) -> None:
    with time_machine.travel(T0, tick=False):
        poll(sound=False)
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        poll(sound=True)
        screen = only_screen()
    assert row().sound_started is False  # type: ignore[union-attr]  (not written yet)
    assert screen.sound_started is True and screen.muted is False
    assert screen.last_seen_at == T0 + timedelta(seconds=30)


def test_moving_to_another_department_is_written_at_once(gm: Department, ed: Department) -> None:
    with time_machine.travel(T0, tick=False):
        poll(code="GM")
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        poll(code="ed")
    assert row().department_id == ed.id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "key", ["", "short", "x" * 65, "has space in it", "semi;colon-123", "ünïcode-key-12"]
)
def test_a_poll_with_an_invalid_screen_id_is_not_recorded(gm: Department, key: str) -> None:
    assert poll(key=key) is False
    assert db.session.scalar(select(func.count()).select_from(Screen)) == 0


def test_an_unknown_or_closed_department_records_no_row_and_raises_nothing(
    gm: Department,
) -> None:
    assert poll(code="ZZ") is True
    gm.active = False
    db.session.commit()
    assert poll(code="GM") is True
    assert row() is None


@pytest.mark.parametrize("name", [None, "", "   ", "x" * 61, "\x00\x1f"])
def test_a_missing_or_unusable_name_gets_a_default(gm: Department, name: str | None) -> None:
    poll(name=name)
    assert row().name == f"Screen {KEY[:6]}"  # type: ignore[union-attr]


def test_the_browser_name_is_used_only_when_the_screen_is_created(gm: Department) -> None:
    with time_machine.travel(T0, tick=False):
        poll(name="Main hall")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        poll(name="Something else")
    assert row().name == "Main hall"  # type: ignore[union-attr]


def test_a_department_takes_at_most_so_many_new_screens(
    gm: Department, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_SCREENS_PER_DEPARTMENT", 2)
    for number in range(4):
        poll(key=f"screen-key-{number}")
    assert db.session.scalar(select(func.count()).select_from(Screen)) == 2


# ------------------------------------------------------------------ health


@pytest.fixture
def short_stale(app: Flask) -> None:
    app.config["SCREEN_STALE_SECONDS"] = 30


def test_a_screen_is_stale_once_not_seen_for_the_setting(gm: Department, short_stale: None) -> None:
    with time_machine.travel(T0, tick=False):
        poll(sound=True)
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        assert only_screen().stale is False
    with time_machine.travel(T0 + timedelta(seconds=31), tick=False):
        state = only_screen()
        health = screen_health(gm.id)
    assert state.stale is True
    assert [s.name for s in health.stale] == ["Main hall"] and health.muted == []
    assert not health.all_well


def test_the_default_is_sixty_seconds(gm: Department) -> None:
    with time_machine.travel(T0, tick=False):
        poll()
    with time_machine.travel(T0 + timedelta(seconds=60), tick=False):
        assert only_screen().stale is False
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        assert only_screen().stale is True


def test_muted_until_its_sound_starts_then_not(gm: Department) -> None:
    with time_machine.travel(T0, tick=False):
        poll(sound=False)
        health = screen_health()
        assert [s.label for s in health.muted] == ["Main hall screen"]
        assert health.stale == [] and not health.all_well
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        poll(sound=True)
        health = screen_health()
    assert health.muted == [] and health.all_well and len(health.ok) == 1


def test_a_stale_screen_is_reported_stale_not_muted(gm: Department) -> None:
    with time_machine.travel(T0, tick=False):
        poll(sound=False)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        health = screen_health()
    assert len(health.stale) == 1 and health.muted == []


def test_health_covers_one_department_or_all(gm: Department, ed: Department) -> None:
    with time_machine.travel(T0, tick=False):
        poll(key="gm-screen-1", code="GM", name="Main hall")
        poll(key="ed-screen-1", code="ED", name="Triage")
        assert [s.name for s in screen_health(gm.id).screens] == ["Main hall"]
        assert [s.name for s in screen_health(ed.id).screens] == ["Triage"]
        # By department name: Emergency before General Medicine.
        assert [s.name for s in screen_health().screens] == ["Triage", "Main hall"]
        assert screen_health(999_999).screens == []
        ed.active = False
        db.session.commit()
        # A closed department's screens leave the boards (the admin's list keeps them).
        assert [s.name for s in screen_health().screens] == ["Main hall"]
        assert [s.name for s in list_screens()] == ["Triage", "Main hall"]


def test_a_row_the_fast_layer_does_not_know_is_judged_a_write_interval_later(
    gm: Department, app: Flask
) -> None:
    """Another server process without Redis (or Redis emptied) knows only the row, which may
    be up to a minute behind the screen: it flags the screen late, never falsely."""
    with time_machine.travel(T0, tick=False):
        poll()
    _forget_fast_layer(app)
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        assert only_screen().stale is False
    with time_machine.travel(T0 + timedelta(seconds=121), tick=False):
        assert only_screen().stale is True


def _forget_fast_layer(app: Flask) -> None:
    app.extensions.pop("screens_live", None)
    client = services.redis_client()
    if client is not None:
        client.delete(services.FAST_KEY_PREFIX + KEY)


# ------------------------------------------------------------------ Redis down


def test_redis_down_never_breaks_a_poll_and_falls_back_to_the_process() -> None:
    """A Redis that refuses connections: polls are recorded in the process (still at most one
    write a minute) and the health is read from there."""
    app = make_app(REDIS_URL="redis://127.0.0.1:1/1")
    with app.app_context():
        db.create_all()
        from tests.factories import DepartmentFactory

        DepartmentFactory(code="GM", name="General Medicine")
        db.session.commit()
        with statements() as seen:
            for number in range(40):
                with time_machine.travel(T0 + timedelta(seconds=3 * number), tick=False):
                    assert poll(sound=number > 2)
        assert len(writes(seen)) == 2  # the insert at 0 s and one update at 60 s
        with time_machine.travel(T0 + timedelta(seconds=3 * 39), tick=False):
            (screen,) = list_screens()
        assert screen.sound_started and not screen.stale
        assert screen.last_seen_at == T0 + timedelta(seconds=3 * 39)
        db.session.remove()


def test_a_database_away_is_logged_and_tried_again_a_minute_later_not_at_every_poll(
    gm: Department, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    def broken(*args: Any, **kwargs: Any) -> int:
        raise OperationalError("SELECT", {}, Exception("the database went away"))

    monkeypatch.setattr(services, "_screens_in", broken)
    with time_machine.travel(T0, tick=False):
        assert poll() is True
    assert row() is None
    monkeypatch.undo()
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        assert poll() is True  # within the minute: not tried again
    assert row() is None
    with time_machine.travel(T0 + timedelta(seconds=60), tick=False):
        assert poll() is True
    assert row() is not None


# ------------------------------------------------------------------ admin


@pytest.fixture
def ada(app: Flask) -> Any:
    user = UserFactory(username="ada", role="admin")
    db.session.commit()
    return user


def audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_an_admin_renames_a_screen_and_the_browser_name_no_longer_applies(
    gm: Department, ada: Any
) -> None:
    with time_machine.travel(T0, tick=False):
        poll(name="Main hall")
    screen = row()
    assert screen is not None
    rename_screen(screen, name="  Outpatients  waiting ", actor=ada)
    db.session.commit()
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        poll(name="Main hall")
    assert row().name == "Outpatients waiting"  # type: ignore[union-attr]
    (entry,) = audit_rows("screen.rename")
    assert entry.user_id == ada.id and entry.entity_id == screen.id
    assert "Main hall" in entry.summary and "Outpatients waiting" in entry.summary


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, None])
def test_a_rename_needs_a_name_of_1_to_60_characters(
    gm: Department, ada: Any, name: str | None
) -> None:
    poll()
    screen = row()
    assert screen is not None
    with pytest.raises(ValidationFailed) as raised:
        rename_screen(screen, name=name, actor=ada)
    assert set(raised.value.errors) == {"name"}
    db.session.rollback()
    assert audit_rows("screen.rename") == []


def test_forgetting_deletes_the_row_and_its_live_entry_and_a_polling_screen_comes_back(
    gm: Department, ada: Any
) -> None:
    with time_machine.travel(T0, tick=False):
        poll(name="Main hall", sound=True)
    screen = row()
    assert screen is not None
    rename_screen(screen, name="Old name", actor=ada)
    forget_screen(screen, actor=ada)
    db.session.commit()
    assert row() is None and list_screens() == []
    (entry,) = audit_rows("screen.forget")
    assert entry.user_id == ada.id and "Old name" in entry.summary
    # Its live entry went too: the very next poll writes the row again, as new.
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        poll(name="Main hall")
    again = row()
    assert again is not None and again.name == "Main hall"


# ------------------------------------------------------------------ PostgreSQL


def test_on_postgresql_two_servers_creating_one_screen_at_once_keep_one_row(
    pg_app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The migrated table on PostgreSQL: a second server that missed the first one's insert
    (its read saw no row) hits the unique key, rolls back its savepoint and answers anyway."""
    from tests.factories import DepartmentFactory

    DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        assert poll(sound=True)
    pg_app.extensions.pop("screens_live", None)  # the other server knows nothing yet

    real_execute = db.session.execute

    def blind(statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_execute(statement, *args, **kwargs)
        if "FROM screens JOIN departments" in str(statement):
            return real_execute(select(Screen).where(Screen.key == "no-such-screen"))
        return result

    monkeypatch.setattr(db.session, "execute", blind)
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        assert poll(name="Another name") is True
    monkeypatch.undo()
    assert "not written (IntegrityError)" in caplog.text
    assert db.session.scalar(select(func.count()).select_from(Screen)) == 1
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        (state,) = list_screens()
    assert state.name == "Main hall" and state.last_seen_at == T0 + timedelta(seconds=3)
