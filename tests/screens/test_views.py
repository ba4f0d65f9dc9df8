"""Screens through the pages: the display's polls report the screen (200 and 304 alike), the
health fragment on the boards and the admin dashboard, the admin's screens page (rename,
forget), each for anonymous, the wrong role and the right role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.admin.helpers import change_audit_count, main_nav
from tests.conftest import GENEROUS_LOGIN_LIMITS
from tests.screens.conftest import statements, writes
from webapp.audit.models import AuditLog
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.screens.models import Screen
from webapp.screens.services import record_sighting

KEY = "a1b2c3d4-e5f6-4711-8abc-0123456789ab"
# A little before now: a signed-in session would time out if the tests travelled far ahead.
T0 = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)


@pytest.fixture
def app_config() -> dict[str, Any]:
    """The pages are the same whichever fast layer: these run without Redis."""
    return dict(GENEROUS_LOGIN_LIMITS)


def headers(key: str = KEY, name: str = "Main hall", sound: bool = False) -> dict[str, str]:
    return {
        "X-HQ-Screen": key,
        "X-HQ-Screen-Name": quote(name),
        "X-HQ-Sound": "1" if sound else "0",
    }


def screens() -> list[Screen]:
    db.session.expire_all()
    return list(db.session.scalars(select(Screen).order_by(Screen.id)))


def seen(
    key: str = KEY,
    code: str = "GM",
    name: str = "Main hall",
    sound: bool = True,
    at: datetime | None = None,
) -> Screen:
    """A poll by screen ``key`` (at ``at``, else now); requests are made at the real time, so
    the signed-in sessions stay fresh."""
    with time_machine.travel(at or datetime.now(UTC), tick=at is None):
        record_sighting(
            key=key, department_code=code, name=name, sound_started=sound, version="20261201.1-1.1"
        )
    db.session.commit()
    return db.session.scalars(select(Screen).where(Screen.key == key)).one()


# ------------------------------------------------------------------ the display's polls


def test_a_display_poll_reports_its_screen_when_changed_and_when_unchanged(
    client: FlaskClient, gm: Department
) -> None:
    first = client.get("/display/GM/state.json", headers=headers(name="Salle d’attente"))
    assert first.status_code == 200
    (screen,) = screens()
    assert (screen.name, screen.department_id, screen.sound_started) == (
        "Salle d’attente",
        gm.id,
        False,
    )
    assert screen.version == first.headers["ETag"].strip('"')

    # Unchanged (304): still reported; the new sound state is live at once.
    again = client.get(
        "/display/GM/state.json",
        headers={**headers(sound=True), "If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304
    health = client.application.jinja_env.globals["screen_health"](gm.id)
    assert [s.sound_started for s in health.screens] == [True]


def test_polls_naming_a_screen_write_it_once_a_minute_and_cost_nothing_else(
    client: FlaskClient, gm: Department
) -> None:
    """Twenty unchanged polls within a minute: the first writes the row, the others run only
    the version read an unchanged poll always runs (one query without Redis)."""
    etag = client.get("/display/GM/state.json").headers["ETag"]
    with statements() as seen_sql:
        for _ in range(20):
            answer = client.get(
                "/display/GM/state.json", headers={**headers(), "If-None-Match": etag}
            )
            assert answer.status_code == 304
    assert len(writes(seen_sql)) == 1
    # The versions each time; once: the row, its department, the count of its screens, insert.
    assert len(seen_sql) <= 20 + 4, seen_sql


@pytest.mark.parametrize(
    "extra",
    [{}, {"X-HQ-Screen": "bad id!"}, {"X-HQ-Screen": "x" * 200, "X-HQ-Sound": "maybe"}],
)
def test_a_poll_naming_no_valid_screen_is_answered_and_records_nothing(
    client: FlaskClient, gm: Department, extra: dict[str, str]
) -> None:
    first = client.get("/display/GM/state.json", headers=extra)
    assert first.status_code == 200
    again = client.get(
        "/display/GM/state.json", headers={**extra, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert screens() == []


def test_a_poll_of_an_unknown_department_records_nothing(
    client: FlaskClient, gm: Department
) -> None:
    assert client.get("/display/ZZ/state.json", headers=headers()).status_code == 404
    assert screens() == []


def test_the_display_page_asks_for_a_name_on_first_set_up(
    client: FlaskClient, gm: Department
) -> None:
    page = client.get("/display/GM").get_data(as_text=True)
    assert '<label for="screen-name">Name of this screen</label>' in page
    assert 'id="screen-name-form"' in page and "Click or press any key to start" in page


# ------------------------------------------------------------------ the health fragment


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician", "as_admin"])
def test_staff_see_the_health_fragment(
    request: pytest.FixtureRequest, persona: str, gm: Department
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)
    seen(sound=True, at=T0)
    response = client.get(f"/screens/health?department_id={gm.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Main hall screen" in body and "not seen since" in body
    assert f'<time datetime="{T0.isoformat()}">{T0:%H:%M}</time>' in body
    assert 'hx-trigger="every 15s"' in body
    assert ('href="/admin/screens"' in body) is (persona == "as_admin")


def test_the_health_fragment_sends_anonymous_visitors_to_sign_in(
    client: FlaskClient, gm: Department
) -> None:
    plain = client.get("/screens/health")
    assert plain.status_code == 302 and "/login" in plain.headers["Location"]
    htmx = client.get("/screens/health", headers={"HX-Request": "true"})
    assert "/login" in (htmx.headers.get("HX-Redirect") or htmx.headers.get("Location") or "")


def test_the_health_fragment_names_muted_screens_and_is_quiet_when_all_is_well(
    as_receptionist: FlaskClient, gm: Department, ed: Department
) -> None:
    seen(key="screen-one-1", name="Main hall", sound=False)
    seen(key="screen-two-2", name="Corridor", sound=True)
    seen(key="screen-ed-33", code="ED", name="Triage", sound=True)
    muted = as_receptionist.get(
        f"/screens/health?department_id={gm.id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    seen(key="screen-one-1", name="Main hall", sound=True)
    calm = as_receptionist.get(f"/screens/health?department_id={gm.id}").get_data(as_text=True)
    everywhere = as_receptionist.get("/screens/health").get_data(as_text=True)
    assert "Main hall screen</strong>: sound not started — press a key on it" in muted
    assert "1 other screen OK." in muted and "Triage" not in muted
    assert "2 waiting-room screens OK" in calm and "screen-health-alert" not in calm
    assert "3 waiting-room screens OK" in everywhere


def test_the_board_and_the_admin_dashboard_flag_a_stale_screen(
    as_admin: FlaskClient, gm: Department, ed: Department
) -> None:
    seen(name="Main hall", at=T0)
    board = as_admin.get(f"/queue?department_id={gm.id}").get_data(as_text=True)
    other_board = as_admin.get(f"/queue?department_id={ed.id}").get_data(as_text=True)
    all_board = as_admin.get("/queue").get_data(as_text=True)
    dashboard = as_admin.get("/").get_data(as_text=True)
    flag = "<strong>Main hall screen</strong>: not seen since"
    assert flag in board and f'hx-get="/screens/health?department_id={gm.id}"' in board
    assert "Main hall" not in other_board
    assert "<strong>Main hall screen</strong> (General Medicine): not seen since" in all_board
    assert "<strong>Main hall screen</strong> (General Medicine): not seen since" in dashboard
    assert 'hx-get="/screens/health"' in dashboard


# ------------------------------------------------------------------ the admin's page


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician"])
def test_only_admins_open_or_change_screens(
    request: pytest.FixtureRequest, persona: str, gm: Department
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)
    screen = seen()
    assert client.get("/admin/screens").status_code == 403
    assert (
        client.post(
            f"/admin/screens/{screen.id}/rename", data={f"s{screen.id}-name": "X"}
        ).status_code
        == 403
    )
    assert client.post(f"/admin/screens/{screen.id}/forget").status_code == 403
    assert [s.name for s in screens()] == ["Main hall"]
    assert "/admin/screens" not in main_nav(client.get("/").get_data(as_text=True))


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, gm: Department) -> None:
    screen = seen()
    for response in (
        client.get("/admin/screens"),
        client.post(f"/admin/screens/{screen.id}/rename", data={f"s{screen.id}-name": "X"}),
        client.post(f"/admin/screens/{screen.id}/forget"),
    ):
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert len(screens()) == 1


def test_an_admin_lists_renames_and_forgets_screens(as_admin: FlaskClient, gm: Department) -> None:
    screen = seen(name="Main hall", sound=False)
    # Reached from the Screens page (the menu's entry for waiting-room screens).
    assert 'href="/admin/screens"' in as_admin.get("/displays").get_data(as_text=True)
    page = as_admin.get("/admin/screens").get_data(as_text=True)
    assert 'value="Main hall"' in page and "General Medicine" in page and "Muted" in page

    renamed = as_admin.post(
        f"/admin/screens/{screen.id}/rename", data={f"s{screen.id}-name": "  Outpatients  "}
    )
    assert renamed.status_code == 302 and renamed.headers["Location"] == "/admin/screens"
    assert [s.name for s in screens()] == ["Outpatients"]
    assert "Renamed the screen Main hall to Outpatients." in as_admin.get(
        "/admin/screens"
    ).get_data(as_text=True)

    before = change_audit_count()
    forgotten = as_admin.post(f"/admin/screens/{screen.id}/forget")
    assert forgotten.status_code == 302
    assert screens() == [] and change_audit_count() == before + 1
    assert db.session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) == (
        "screen.forget"
    )
    assert as_admin.post(f"/admin/screens/{screen.id}/forget").status_code == 404


def test_a_bad_name_keeps_what_was_typed_and_says_what_is_wrong(
    as_admin: FlaskClient, gm: Department
) -> None:
    screen = seen(name="Main hall")
    typed = "x" * 61
    response = as_admin.post(
        f"/admin/screens/{screen.id}/rename", data={f"s{screen.id}-name": typed}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'value="{typed}"' in page and 'aria-invalid="true"' in page
    assert "Give the screen a name of 1 to 60 characters" in page
    blank = as_admin.post(f"/admin/screens/{screen.id}/rename", data={f"s{screen.id}-name": " "})
    assert blank.status_code == 422
    assert [s.name for s in screens()] == ["Main hall"]


def test_forms_need_their_csrf_token(app: Flask, as_admin: FlaskClient, gm: Department) -> None:
    screen = seen()
    app.config["WTF_CSRF_ENABLED"] = True
    assert as_admin.post(f"/admin/screens/{screen.id}/forget").status_code == 400
    renamed = as_admin.post(f"/admin/screens/{screen.id}/rename", data={f"s{screen.id}-name": "X"})
    assert renamed.status_code in (400, 422)
    assert [s.name for s in screens()] == ["Main hall"]


def test_a_screen_last_seen_on_an_earlier_day_says_which_day(
    as_receptionist: FlaskClient, gm: Department
) -> None:
    days_ago = datetime.now(UTC) - timedelta(days=2)
    seen(at=days_ago)
    body = as_receptionist.get(f"/screens/health?department_id={gm.id}").get_data(as_text=True)
    assert (
        f'not seen since <time datetime="{days_ago.isoformat()}">{days_ago:%Y-%m-%d %H:%M}' in body
    )


def test_with_the_database_away_an_unchanged_poll_naming_a_new_screen_still_gets_304(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The versions are in Redis, so an unchanged poll needs no database; the screen's first
    write fails (nothing listens on the database's port) and the poll is answered all the same,
    twice running (the write waits a minute before it is tried again)."""
    import redis

    from tests.conftest import make_app
    from webapp import clock
    from webapp.live.versions import KEY_PREFIX

    client_redis = redis.Redis.from_url(redis_url)
    client_redis.flushdb()
    client_redis.set(KEY_PREFIX + "0", 5, ex=60)
    client_redis.set(KEY_PREFIX + "1", 9, ex=60)
    app = make_app(
        REDIS_URL=redis_url,
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1",
    )
    with app.app_context():
        stamp = f"{clock.today():%Y%m%d}.5-1.9"
    client = app.test_client()
    for _ in range(2):
        answer = client.get(
            "/display/GM/state.json", headers={**headers(), "If-None-Match": f'"{stamp}"'}
        )
        assert answer.status_code == 304
    assert caplog.text.count("not written") == 1, caplog.text
    with app.app_context():
        assert client_redis.exists(services_key(KEY))
        db.engine.dispose()


def services_key(key: str) -> str:
    from webapp.screens.services import FAST_KEY_PREFIX

    return FAST_KEY_PREFIX + key


def test_only_admins_get_the_screen_health_link_on_the_screens_page(
    as_receptionist: FlaskClient, gm: Department
) -> None:
    page = as_receptionist.get("/displays").get_data(as_text=True)
    assert "Waiting-room screens" in page
    assert 'href="/admin/screens"' not in page
