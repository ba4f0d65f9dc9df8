"""Service targets in a real browser: a waiting row turns amber then red on time while the
board's poll keeps answering "unchanged" (204), and each breach raises one notice that leaves
the receptionist's focus where it was. The page's own clock is moved on (Playwright's clock)
instead of waiting for real minutes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Response, expect

from tests.e2e.accessibility import assert_accessible
from tests.e2e.htmx import wait_for_htmx
from tests.e2e.pages import sign_in
from tests.e2e.test_live_screens import DESK, Elsewhere, _workstation, elsewhere  # noqa: F401
from webapp.database import utcnow
from webapp.departments import services as departments
from webapp.departments.targets import wait_targets_of
from webapp.extensions import db
from webapp.live import versions as live_versions
from webapp.queue.models import Ticket

# The board polls every 4 s; by the page's clock, not the wall's.
A_FEW_POLLS = "00:12"


@pytest.fixture
def one_minute_routine(live_app: Flask, elsewhere: Elsewhere) -> Iterator[None]:  # noqa: F811
    """Paediatrics' routine target is 1 minute for the test (at risk from 48 s)."""
    with live_app.app_context():
        department = departments.get_department(elsewhere.department_id)
        before = wait_targets_of(department)
        departments.update_department(department, actor=None, wait_targets={"routine": 1})
        db.session.commit()
        try:
            yield
        finally:
            department = departments.get_department(elsewhere.department_id)
            departments.update_department(department, actor=None, wait_targets=before)
            db.session.commit()
            db.session.remove()


def test_a_row_turns_at_risk_then_breached_while_the_poll_answers_unchanged(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    elsewhere: Elsewhere,  # noqa: F811
    one_minute_routine: None,
) -> None:
    number = elsewhere.walk_in("Target", priority="routine")
    page = new_context(viewport=DESK).new_page()
    page.clock.install()
    sign_in(page, live_server, "reception", "reception-demo-1")
    page.goto(f"{live_server}/queue?department_id={elsewhere.department_id}")
    wait_for_htmx(page)
    row = page.locator(f'tr[data-ticket="{number}"]')
    word = row.locator(".target-word")
    expect(word).to_have_text("On time")
    expect(row).to_have_class(re.compile("target-row-ok"))

    polls: list[Response] = []
    page.on(
        "response",
        lambda response: polls.append(response) if "board-partial" in response.url else None,
    )
    # The receptionist is typing in the search box: nothing below may take the focus.
    search = page.locator("#checkin-q")
    search.click()

    page.clock.fast_forward("00:50")  # 80 % of a minute has passed
    expect(word).to_have_text("At risk")
    expect(row).to_have_class(re.compile("target-row-at_risk"))

    page.clock.fast_forward("00:15")  # past the minute
    expect(word).to_have_text("Breached")
    expect(row).to_have_class(re.compile("target-row-breached"))
    notice = page.locator("#breach-notices [data-breach-notice]")
    expect(notice).to_be_visible()
    expect(notice.locator(f'[data-breach-ticket="{number}"]')).to_have_count(1)
    expect(notice).to_contain_text("waited past the 1 min target")
    expect(search).to_be_focused()

    # The polls went on answering "unchanged": the row turned by the page's clock alone.
    with page.expect_response(lambda response: "board-partial" in response.url) as answered:
        page.clock.fast_forward(A_FEW_POLLS)
    assert answered.value.status == 204
    assert polls and {response.status for response in polls} == {204}
    # One notice per breach, however many polls and ticks follow.
    expect(notice.locator(f'[data-breach-ticket="{number}"]')).to_have_count(1)
    assert_accessible(page)


def test_a_breach_found_at_load_is_noticed_once_and_stays_until_dismissed(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    live_app: Flask,
    elsewhere: Elsewhere,  # noqa: F811
    one_minute_routine: None,
) -> None:
    number = elsewhere.walk_in("Backdated", priority="routine")
    with live_app.app_context():
        ticket = db.session.get(Ticket, elsewhere.tickets[-1])
        assert ticket is not None
        ticket.checked_in_at = utcnow() - timedelta(minutes=3)
        live_versions.touch(ticket.department_id)
        db.session.commit()
        db.session.remove()
    page = new_context(viewport=DESK).new_page()
    sign_in(page, live_server, "reception", "reception-demo-1")
    page.goto(f"{live_server}/queue?department_id={elsewhere.department_id}")
    wait_for_htmx(page)
    expect(page.locator(f'tr[data-ticket="{number}"] .target-word')).to_have_text("Breached")
    expect(page.locator(f'#breach-notices [data-breach-ticket="{number}"]')).to_have_count(1)

    # The desk reloads the board all day (every check-in does): the notice stays until someone
    # dismisses it, with its line once, not announced again.
    page.reload()
    wait_for_htmx(page)
    expect(page.locator(f'tr[data-ticket="{number}"] .target-word')).to_have_text("Breached")
    notice = page.locator("#breach-notices [data-breach-notice]")
    expect(notice.locator(f'[data-breach-ticket="{number}"]')).to_have_count(1)
    notice.get_by_role("button", name="Dismiss").click()
    expect(notice).to_have_count(0)

    page.reload()
    wait_for_htmx(page)
    # targets.js has run on this page (it drew the row) and found the breach already noticed.
    expect(page.locator(f'tr[data-ticket="{number}"]')).to_have_class(
        re.compile("target-row-breached")
    )
    expect(page.locator(f'#breach-notices [data-breach-ticket="{number}"]')).to_have_count(0)


def test_the_workstation_notices_a_breach_in_its_department_once(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    elsewhere: Elsewhere,  # noqa: F811
    one_minute_routine: None,
) -> None:
    context = new_context(viewport=DESK)
    page = _workstation(context, live_server, elsewhere)
    page.clock.install()
    number = elsewhere.walk_in("Workstation", priority="routine")
    entry = page.locator(f'.ws-next-list li[data-ticket="{number}"]')
    expect(entry).to_be_visible(timeout=8_000)
    expect(entry.locator(".target-word")).to_have_text("On time")
    page.clock.fast_forward("01:05")
    expect(entry.locator(".target-word")).to_have_text("Breached")
    notice = page.locator("#breach-notices [data-breach-notice]")
    expect(notice.locator(f'[data-breach-ticket="{number}"]')).to_have_count(1)
    notice.get_by_role("button", name="Dismiss").click()
    expect(notice).to_have_count(0)
    page.clock.fast_forward(A_FEW_POLLS)
    expect(page.locator(f'#breach-notices [data-breach-ticket="{number}"]')).to_have_count(0)
