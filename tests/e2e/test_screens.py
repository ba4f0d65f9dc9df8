"""The public screens at the sizes they are used at: the waiting-room display on a 1080p and a
720p TV, the patient's ticket page on a phone. Each fits its screen without scrolling sideways
(the display not at all) and keeps its big texts inside the window. A screenshot of each is kept
for a person to look at: in $E2E_SCREENSHOTS when set, else in pytest's temporary directory
(pytest-playwright empties test-results/ itself)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask, render_template
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.test_display import LAST_NAME, _check_in, _finish, _free_rooms
from tests.public_screens import assert_no_phi
from webapp.departments.models import Department
from webapp.display.views import STATE_TEMPLATE, DisplayState
from webapp.extensions import db
from webapp.queue import moves as queue
from webapp.queue.state import Call


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


# Every visible element of the display inside the window, and no text cut off: the lines of the
# last calls, the "now calling" card and the header and footer neither scroll nor overflow.
LAYOUT_PROBLEMS = """() => {
    const problems = [];
    const name = (element) => element.id ? "#" + element.id
        : element.tagName.toLowerCase() + "." + [...element.classList].join(".");
    for (const element of document.querySelectorAll("#display *")) {
        const box = element.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;  // hidden (the offline banner)
        if (element.closest(".sr-only")) continue;          // for screen readers only
        if (box.left < -0.5 || box.top < -0.5 || box.right > window.innerWidth + 0.5
                || box.bottom > window.innerHeight + 0.5) {
            problems.push(`${name(element)} outside the window: ${JSON.stringify(box)}`);
        }
    }
    const clippable = ".recent-call, .recent-call > *, .recent-meta > *, #now-card, #now-card > *,"
        + " .display-header > *, .display-footer > *, .section-title";
    for (const element of document.querySelectorAll(clippable)) {
        if (element.scrollWidth > element.clientWidth + 1
                || element.scrollHeight > element.clientHeight + 1) {
            const text = element.textContent.trim();
            problems.push(`${name(element)} cut off (${text}): `
                + `${element.scrollWidth}x${element.scrollHeight}`
                + ` in ${element.clientWidth}x${element.clientHeight}`);
        }
    }
    return problems;
}"""


@pytest.fixture
def busy_display(live_app: Flask) -> Iterator[dict[str, str]]:
    """A GM display with five tickets in its last calls: one called, recalled and finished, and
    the newest call still in a room. Returns the numbers: 'recalled', 'newest'."""
    with live_app.app_context():
        department_id = db.session.scalar(select(Department.id).where(Department.code == "GM"))
        db.session.commit()
        assert department_id is not None
        rooms = _free_rooms(department_id)
        assert len(rooms) >= 2, "two free GM rooms are needed"
        (room, _name), (other_room, _other) = rooms[:2]
        ticket_ids: list[int] = []

        def call(point_id: int) -> tuple[int, str]:
            called = queue.call_next(service_point_id=point_id, actor=None)
            assert called is not None
            ticket_ids.append(called.id)
            db.session.commit()
            return called.id, called.number

        def move(ticket_id: int, *moves: str) -> None:
            for name in moves:
                queue.apply_move(ticket_id, name, actor=None)
                db.session.commit()

        try:
            for _ in range(6):
                ticket_ids.append(_check_in(department_id, "Screenshot")[0])
            for _ in range(4):
                ticket_id, _number = call(room)
                move(ticket_id, "no_show")
            # A call, its recall, then another room's call (the newest): two lines, not three.
            recalled_id, recalled = call(room)
            queue.override_ticket(recalled_id, action="recall", actor=None)
            db.session.commit()
            _newest_id, newest = call(other_room)
            move(recalled_id, "start", "complete")
            yield {"recalled": recalled, "newest": newest}
        finally:
            _finish(ticket_ids)
            db.session.remove()


def _layout_problems(page: Page) -> list[str]:
    return list(page.evaluate(LAYOUT_PROBLEMS))


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)])
def test_the_display_fits_the_tv(
    page: Page,
    live_server: str,
    screens: Path,
    busy_display: dict[str, str],
    width: int,
    height: int,
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/display/GM")
    page.keyboard.press("Enter")
    expect(page.locator("#start-overlay")).to_be_hidden()
    expect(page.locator("#now-number")).to_have_text(busy_display["newest"])

    assert page.evaluate(
        "document.documentElement.scrollHeight <= window.innerHeight"
        " && document.documentElement.scrollWidth <= window.innerWidth"
    ), f"the display scrolls at {width}×{height}"
    problems = _layout_problems(page)
    assert not problems, f"at {width}×{height}:\n" + "\n".join(problems)
    for part in ("#now-number", "#now-room", "#recent-calls", "#waiting-count", "#clock"):
        assert _inside_window(page, part), f"{part} is cut off at {width}×{height}"

    # One line per ticket, the newest first; the recall marked on its one line.
    lines = page.locator("#recent-calls .recent-call")
    expect(lines).to_have_count(5)
    numbers = page.locator("#recent-calls .recent-number").all_inner_texts()
    assert len(set(numbers)) == 5, numbers
    assert numbers[:2] == [busy_display["newest"], busy_display["recalled"]]
    expect(lines.nth(1).locator(".recent-recall")).to_have_text("again")

    # The screen is used fully: both panels reach down to the footer.
    main = page.locator(".display-main").bounding_box()
    assert main is not None
    for panel in ("#now-card", "#recent-calls"):
        box = page.locator(panel).bounding_box()
        assert box is not None
        assert box["y"] + box["height"] >= main["y"] + main["height"] - 2, f"{panel} stops short"
    assert main["y"] + main["height"] > 0.8 * height, "the bottom of the screen is empty"

    assert LAST_NAME not in page.content()
    assert_no_phi(page.content())
    _shot(page, screens, f"display-{width}x{height}.png")


# Room names of every length up to the 60 characters a name may have.
LONG_ROOMS = (
    "Room 12",
    "Minor procedures 2",
    "Cardiology outpatient consulting room 12B",
    "X" * 60,  # no spaces: it must still wrap
    "Paediatric assessment and observation unit, second floor",
)


def _longest_fragment(app: Flask, newest_room: int) -> str:
    """The display's live part as the server renders it for the longest texts it can show: a
    four-letter code with a four-digit number, long room names (LONG_ROOMS, the newest call's
    room first), every line recalled many times, a three-digit queue."""
    rooms = LONG_ROOMS[newest_room:] + LONG_ROOMS[:newest_room]
    at = datetime(2026, 1, 5, 23, 59, tzinfo=UTC)
    calls = [
        Call(100 - index, f"CARD-{9999 - index}", room, at, True, 12, "called")
        for index, room in enumerate(rooms)
    ]
    with app.test_request_context():
        department = db.session.scalar(select(Department).where(Department.code == "GM"))
        assert department is not None
        fragment = render_template(
            STATE_TEMPLATE, state=DisplayState(department=department, calls=calls, waiting=888)
        )
        db.session.rollback()
    return fragment


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)])
@pytest.mark.parametrize("newest_room", range(len(LONG_ROOMS)))
def test_the_display_fits_the_tv_with_the_longest_numbers_and_rooms(
    page: Page,
    live_app: Flask,
    live_server: str,
    screens: Path,
    width: int,
    height: int,
    newest_room: int,
) -> None:
    fragment = _longest_fragment(live_app, newest_room)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/display/GM")
    page.keyboard.press("Enter")
    expect(page.locator("#start-overlay")).to_be_hidden()
    # The poll must not swap the real state back in while the longest one is measured.
    page.route("**/display/GM/state.json", lambda route: route.fulfill(status=304))
    page.evaluate(
        "(html) => { document.getElementById('display-state').innerHTML = html; }", fragment
    )
    expect(page.locator("#now-number")).to_have_text("CARD-9999")

    _shot(page, screens, f"display-long-{newest_room}-{width}x{height}.png")
    problems = _layout_problems(page)
    assert not problems, f"at {width}×{height}:\n" + "\n".join(problems)


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
