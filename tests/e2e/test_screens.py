"""The public screens at the sizes they are used at: the waiting-room display on a 1080p and a
720p TV, the patient's ticket page on a phone. Each fits its screen without scrolling sideways
(the display not at all) and keeps its big texts inside the window. A screenshot of each is kept
for a person to look at: in $E2E_SCREENSHOTS when set, else in pytest's temporary directory
(pytest-playwright empties test-results/ itself)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.test_display import LAST_NAME, _check_in, _finish, _free_rooms
from tests.public_screens import assert_no_phi
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.queue import moves as queue


@pytest.fixture(scope="session")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("E2E_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def called_ticket(live_app: Flask) -> Iterator[tuple[str, str]]:
    """A GM ticket called to a room, and one waiting: (called number, status token of the
    waiting one)."""
    with live_app.app_context():
        department_id = db.session.scalar(select(Department.id).where(Department.code == "GM"))
        db.session.commit()
        assert department_id is not None
        rooms = _free_rooms(department_id)
        assert rooms, "a free GM room is needed"
        ticket_ids: list[int] = []
        try:
            # Whoever is ahead is called too: the ticket called last is ours.
            first_id, first_number, _token = _check_in(department_id, "Screenshot")
            second_id, _number, token = _check_in(department_id, "Screenshot")
            ticket_ids += [first_id, second_id]
            number = ""
            while number != first_number:
                called = queue.call_next(service_point_id=rooms[0][0], actor=None)
                assert called is not None
                number = called.number
                ticket_ids.append(called.id)
                db.session.commit()
                if number != first_number:
                    queue.transition_ticket(called.id, status="no_show", actor=None)
                    db.session.commit()
            yield first_number, token
        finally:
            _finish(ticket_ids)
            db.session.remove()


def _shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name), full_page=True)


def _inside_window(page: Page, selector: str) -> bool:
    return bool(
        page.locator(selector).evaluate(
            """(element) => {
                const box = element.getBoundingClientRect();
                return box.left >= 0 && box.top >= 0 && box.right <= window.innerWidth
                    && box.bottom <= window.innerHeight;
            }"""
        )
    )


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)])
def test_the_display_fits_the_tv(
    page: Page,
    live_server: str,
    screens: Path,
    called_ticket: tuple[str, str],
    width: int,
    height: int,
) -> None:
    number, _token = called_ticket
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/display/GM")
    page.keyboard.press("Enter")
    expect(page.locator("#start-overlay")).to_be_hidden()
    expect(page.locator("#now-number")).to_have_text(number)

    assert page.evaluate(
        "document.documentElement.scrollHeight <= window.innerHeight"
        " && document.documentElement.scrollWidth <= window.innerWidth"
    ), f"the display scrolls at {width}×{height}"
    for part in ("#now-number", "#now-room", "#recent-calls", "#waiting-count", "#clock"):
        assert _inside_window(page, part), f"{part} is cut off at {width}×{height}"
    assert LAST_NAME not in page.content()
    assert_no_phi(page.content())
    _shot(page, screens, f"display-{width}x{height}.png")


def test_the_ticket_page_fits_a_phone(
    page: Page, live_server: str, screens: Path, called_ticket: tuple[str, str]
) -> None:
    _number, token = called_ticket
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/t/{token}")
    expect(page.locator("#ticket-status")).to_contain_text("You are next")

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        "the ticket page scrolls sideways on a phone"
    )
    assert _inside_window(page, ".ticket-number"), "the ticket number is not on the first screen"
    assert_no_phi(page.content())
    _shot(page, screens, "ticket-390x844.png")
