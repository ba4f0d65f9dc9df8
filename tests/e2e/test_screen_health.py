"""Screens that report their health, in real Chromium: a display named on first set-up appears
in the admin's list, shows muted until a key is pressed on it (after a reload), and once its tab
is closed goes stale — flagged on the reception board and the admin dashboard, which ask again
every 15 s by themselves. SCREEN_STALE_SECONDS is 8 here: more than the display's 3-second poll
plus a slow answer on a loaded machine, or a live screen would flicker stale between polls.
Screenshots at 1366×768 go to $E2E_SCREENSHOTS when set."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, Request, expect
from sqlalchemy import delete, select

from tests.e2e.accessibility import assert_accessible
from tests.e2e.htmx import wait_for_htmx
from tests.e2e.pages import sign_in, watch_csp
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.screens.models import Screen

DESK = {"width": 1366, "height": 768}
NAME = "Main hall"
STALE_SECONDS = 8
# The health line asks every 15 s; a change shows within that and one answer.
WITHIN_A_HEALTH_POLL = 25_000
# A closed screen turns stale after STALE_SECONDS, then shows at the next ask.
STALE_WITHIN = (STALE_SECONDS + 25) * 1000


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("E2E_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screen-health")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def gm_id(live_app: Flask) -> Iterator[int]:
    """The demo GM department, with a short stale setting and no screen named NAME (before and
    after: the live server is shared with the other browser tests)."""
    before = live_app.config.get("SCREEN_STALE_SECONDS", 60)
    live_app.config["SCREEN_STALE_SECONDS"] = STALE_SECONDS
    with live_app.app_context():
        department_id = db.session.scalar(select(Department.id).where(Department.code == "GM"))
        assert department_id is not None, "the demo data has no GM department"
        db.session.execute(delete(Screen).where(Screen.name.in_([NAME, "Front hall"])))
        db.session.commit()
        try:
            yield department_id
        finally:
            live_app.config["SCREEN_STALE_SECONDS"] = before
            db.session.execute(delete(Screen).where(Screen.name.in_([NAME, "Front hall"])))
            db.session.commit()
            db.session.remove()


def _reports(sound: str) -> Callable[[Request], bool]:
    """A poll of the display that names its screen and says its sound is ``sound``."""

    def matches(request: Request) -> bool:
        headers = request.headers
        return (
            "/state.json" in request.url
            and bool(headers.get("x-hq-screen"))
            and headers.get("x-hq-sound") == sound
        )

    return matches


def test_a_display_reports_its_name_its_sound_and_going_quiet(
    page: Page,
    new_context: Callable[..., BrowserContext],
    live_server: str,
    gm_id: int,
    shots: Path,
) -> None:
    page.set_default_timeout(10_000)
    page.set_viewport_size(DESK)

    # ---- the TV: first set-up asks for a name; typing in it does not start the screen
    tv_context = new_context(viewport=DESK)
    tv = tv_context.new_page()
    tv.set_default_timeout(10_000)
    csp_problems = watch_csp(tv)
    tv.goto(f"{live_server}/display/GM")
    field = tv.get_by_label("Name of this screen")
    expect(field).to_be_focused()
    field.fill("")
    field.press("Enter")
    expect(tv.get_by_text("Give this screen a name")).to_be_visible()
    expect(tv.locator("#start-overlay")).to_be_visible()
    field.fill(NAME)
    assert_accessible(tv)
    tv.screenshot(path=str(shots / "display-first-set-up.png"))
    with tv.expect_request(_reports("1"), timeout=10_000):
        field.press("Enter")
        expect(tv.locator("#start-overlay")).to_be_hidden()
    assert tv.evaluate("window.localStorage.getItem('hq.screen.name')") == NAME

    # ---- the admin sees it in the list
    admin_context = new_context(viewport=DESK)
    admin = admin_context.new_page()
    admin.set_default_timeout(10_000)
    sign_in(admin, live_server, "admin", "admin-demo-123")
    admin.get_by_role("link", name="Screens", exact=True).click()
    admin.get_by_role("link", name="Screen health").click()
    row = admin.locator("tr", has=admin.locator(f"input[value='{NAME}']"))
    expect(row).to_contain_text("General Medicine")
    expect(row).to_contain_text("OK")

    # ---- reloaded (a restart): no name asked, but muted until a key is pressed on it
    with tv.expect_request(_reports("0"), timeout=10_000):
        tv.reload()
    expect(tv.locator("#screen-name-form")).to_be_hidden()
    expect(tv.locator("#start-overlay")).to_contain_text("Click or press any key to start")

    sign_in(page, live_server, "reception", "reception-demo-1")
    page.goto(f"{live_server}/queue?department_id={gm_id}")
    wait_for_htmx(page)
    flag = page.locator("#screen-health li", has_text=f"{NAME} screen")
    expect(flag).to_have_text(re.compile(rf"{NAME} screen: sound not started — press a key on it"))
    assert_accessible(page)
    page.screenshot(path=str(shots / "board-muted.png"))

    with tv.expect_request(_reports("1"), timeout=10_000):
        tv.keyboard.press("Space")
    expect(tv.locator("#start-overlay")).to_be_hidden()
    # The board's health line asks again by itself: the muted flag goes.
    expect(flag).to_have_count(0, timeout=WITHIN_A_HEALTH_POLL)

    # ---- the TV is switched off: stale after 2 s, flagged at the next ask, with the time
    tv.close()
    stale = page.locator("#screen-health li", has_text=f"{NAME} screen: not seen since")
    expect(stale).to_have_count(1, timeout=STALE_WITHIN)
    expect(stale).to_have_text(re.compile(rf"{NAME} screen: not seen since \d\d:\d\d"))
    assert_accessible(page)
    page.screenshot(path=str(shots / "board-stale.png"))

    admin.goto(f"{live_server}/")
    on_dashboard = admin.locator(
        "#screen-health li", has_text=f"{NAME} screen (General Medicine): not seen since"
    )
    expect(on_dashboard).to_be_visible()
    admin.screenshot(path=str(shots / "admin-dashboard-stale.png"))
    admin.get_by_role("link", name="Manage screens").click()
    expect(row).to_contain_text("Stale")
    assert_accessible(admin)
    admin.screenshot(path=str(shots / "admin-screens.png"), full_page=True)

    # ---- the admin renames it; the board says the new name at its next ask
    name_field = row.locator("input[type=text]")
    name_field.fill("Front hall")
    row.get_by_role("button", name="Rename").click()
    expect(admin.get_by_text("Renamed the screen Main hall to Front hall.")).to_be_visible()
    expect(page.locator("#screen-health li", has_text="Front hall screen")).to_have_count(
        1, timeout=WITHIN_A_HEALTH_POLL
    )

    # ---- and forgets it (after confirming)
    renamed = admin.locator("tr", has=admin.locator("input[value='Front hall']"))
    admin.once("dialog", lambda dialog: dialog.accept())
    renamed.get_by_role("button", name="Forget").click()
    expect(admin.get_by_text("Forgot the screen Front hall.")).to_be_visible()
    expect(admin.locator("input[value='Front hall']")).to_have_count(0)
    assert csp_problems == []
