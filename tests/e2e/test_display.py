"""Journey: the waiting-room display announces calls one after another, never shows a name,
and says so when it loses the server; the patient's ticket page follows the queue by itself."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.accessibility import assert_accessible
from tests.e2e.pages import watch_csp
from tests.factories import PatientFactory
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.queue import moves as queue
from webapp.queue.models import Ticket

FIRST_NAMES = ("Zebulon", "Ottoline")
LAST_NAME = "Quartermaine"

# Record what the display says instead of saying it: speak() keeps the text and fires the
# utterance's `end` a little later, as a real voice would; cancel() is counted (it must stay 0).
RECORD_SPEECH = """
window.__spoken = [];
window.__cancelled = 0;
(function () {
  var recorder = {
    speak: function (utterance) {
      window.__spoken.push(utterance.text);
      setTimeout(function () { utterance.dispatchEvent(new Event("end")); }, 150);
    },
    cancel: function () { window.__cancelled += 1; },
    getVoices: function () { return []; },
    speaking: false, pending: false, paused: false
  };
  if (window.speechSynthesis) {
    window.speechSynthesis.speak = recorder.speak;
    window.speechSynthesis.cancel = recorder.cancel;
  } else {
    Object.defineProperty(window, "speechSynthesis", { value: recorder });
  }
})();
"""


def spoken(number: str, room: str) -> str:
    return f"Ticket {' '.join(re.sub(r'[^A-Za-z0-9]', '', number))}, please go to {room}"


# Every transaction on the live server's SQLite file starts with BEGIN IMMEDIATE, so the test
# never leaves one open: each helper reads plain values and commits before it returns.


def _free_rooms(department_id: int) -> list[tuple[int, str]]:
    busy = select(Ticket.service_point_id).where(
        Ticket.status.in_(("called", "in_service")), Ticket.service_point_id.is_not(None)
    )
    rooms = [
        (point_id, name)
        for point_id, name in db.session.execute(
            select(ServicePoint.id, ServicePoint.name)
            .where(
                ServicePoint.department_id == department_id,
                ServicePoint.active.is_(True),
                ServicePoint.id.not_in(busy),
            )
            .order_by(ServicePoint.name)
        )
    ]
    db.session.commit()
    return rooms


def _check_in(department_id: int, first_name: str) -> tuple[int, str, str]:
    """A walk-in's ticket: (id, number, status token)."""
    patient = PatientFactory(first_name=first_name, last_name=LAST_NAME)
    ticket = queue.check_in(actor=None, patient_id=patient.id, department_id=department_id)
    checked_in = (ticket.id, ticket.number, ticket.status_token)
    db.session.commit()
    return checked_in


def _finish(ticket_ids: list[int]) -> None:
    """Leave the shared live server's rooms free for the other journeys."""
    db.session.rollback()
    for ticket_id in ticket_ids:
        status = db.session.scalar(select(Ticket.status).where(Ticket.id == ticket_id))
        if status == "called":
            queue.transition_ticket(ticket_id, status="in_service", actor=None)
            status = "in_service"
        if status == "in_service":
            queue.transition_ticket(ticket_id, status="completed", actor=None)
        elif status == "waiting":
            queue.transition_ticket(ticket_id, status="cancelled", actor=None)
    db.session.commit()


@pytest.fixture
def gm(live_app: Flask) -> Iterator[int]:
    """The demo GM department's id, inside an app context of the live app."""
    with live_app.app_context():
        department_id = db.session.scalar(select(Department.id).where(Department.code == "GM"))
        db.session.commit()
        assert department_id is not None, "the demo data has no GM department"
        yield department_id
        db.session.remove()


def test_the_display_announces_calls_in_order_and_shows_when_it_is_offline(
    page: Page, live_server: str, gm: int
) -> None:
    page.set_default_timeout(10_000)
    csp_problems = watch_csp(page)
    page.add_init_script(RECORD_SPEECH)
    page.goto(f"{live_server}/display/GM")

    overlay = page.locator("#start-overlay")
    expect(overlay).to_contain_text("Click or press any key to start")
    page.keyboard.press("Enter")
    expect(overlay).to_be_hidden()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert_accessible(page)

    # Two rooms call at once: both are announced, one after the other, in the order called.
    rooms = _free_rooms(gm)[:2]
    assert len(rooms) == 2, "two free GM rooms are needed"
    called: list[tuple[int, str]] = []
    try:
        for first_name in FIRST_NAMES:
            _check_in(gm, first_name)
        for room_id, _room in rooms:  # both calls in one transaction: they land together
            ticket = queue.call_next(service_point_id=room_id, actor=None)
            assert ticket is not None
            called.append((ticket.id, ticket.number))
        db.session.commit()
        expected = [
            spoken(number, room)
            for (_id, number), (_room_id, room) in zip(called, rooms, strict=True)
        ]

        page.wait_for_function("() => window.__spoken.length >= 2", timeout=12_000)
        assert page.evaluate("window.__spoken") == expected
        assert page.evaluate("window.__cancelled") == 0
        expect(page.locator("#now-number")).to_have_text(called[-1][1])
        expect(page.locator("#now-room")).to_have_text(rooms[-1][1])
        expect(page.locator("#recent-calls")).to_contain_text(called[0][1])
        text = page.locator("body").inner_text()
        for name in (*FIRST_NAMES, LAST_NAME):
            assert name not in text and name not in page.content()

        # The server stops answering: the banner says so; it answers again: the banner goes.
        banner = page.get_by_text("Connection lost — this screen may be out of date")
        page.route("**/display/GM/state.json", lambda route: route.abort())
        expect(banner).to_be_visible(timeout=12_000)
        expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
        page.unroute("**/display/GM/state.json")
        expect(banner).to_be_hidden(timeout=12_000)
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        assert page.evaluate("window.__spoken") == expected  # nothing announced twice
        assert csp_problems == []
    finally:
        _finish([ticket_id for ticket_id, _number in called])


def test_the_ticket_page_follows_the_queue_by_itself(page: Page, live_server: str, gm: int) -> None:
    page.set_default_timeout(10_000)
    csp_problems = watch_csp(page)
    rooms = _free_rooms(gm)
    assert rooms, "a free GM room is needed"
    ticket_ids: list[int] = []
    try:
        ticket_id, number, token = _check_in(gm, FIRST_NAMES[0])
        ticket_ids.append(ticket_id)

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server}/t/{token}")
        expect(page.locator(".ticket-number")).to_have_text(number)
        expect(page.locator("#ticket-status")).to_contain_text(
            re.compile("You are next|ahead of you")
        )
        assert_accessible(page)

        # Call everyone ahead, then this patient, into free rooms as they come.
        for room_id, room in rooms:
            called = queue.call_next(service_point_id=room_id, actor=None)
            called_id = called.id if called is not None else None
            db.session.commit()
            assert called_id is not None
            ticket_ids.append(called_id)
            if called_id == ticket_id:
                expected_room = room
                break
        else:
            pytest.fail("the patient was not reached with the free rooms")

        expect(page.get_by_text(f"Please go to {expected_room}")).to_be_visible(timeout=12_000)
        expect(page).to_have_title(re.compile(f"Please go to {expected_room}"))
        for name in (FIRST_NAMES[0], LAST_NAME):
            assert name not in page.content()
        assert_accessible(page)
        assert csp_problems == []
    finally:
        _finish(ticket_ids)


def _move(ticket_id: int, move: str) -> None:
    queue.apply_move(ticket_id, move, actor=None)
    db.session.commit()


def _lines(page: Page) -> list[str]:
    """The ticket number of each line under "Last calls", top to bottom."""
    return page.locator("#recent-calls .recent-number").all_inner_texts()


def test_the_display_keeps_one_line_per_ticket_and_lets_a_finished_visit_go(
    page: Page, live_server: str, gm: int
) -> None:
    page.set_default_timeout(10_000)
    page.add_init_script(RECORD_SPEECH)
    page.goto(f"{live_server}/display/GM")
    page.keyboard.press("Enter")
    expect(page.locator("#start-overlay")).to_be_hidden()

    rooms = _free_rooms(gm)[:2]
    assert len(rooms) == 2, "two free GM rooms are needed"
    called: list[tuple[int, str]] = []
    try:
        for first_name in FIRST_NAMES:
            _check_in(gm, first_name)
        # A call, a recall of it, then another room's call: three announcements, two lines.
        first = queue.call_next(service_point_id=rooms[0][0], actor=None)
        assert first is not None
        called.append((first.id, first.number))
        db.session.commit()
        page.wait_for_function("() => window.__spoken.length >= 1", timeout=12_000)
        queue.override_ticket(called[0][0], action="recall", actor=None)
        db.session.commit()
        page.wait_for_function("() => window.__spoken.length >= 2", timeout=12_000)
        second = queue.call_next(service_point_id=rooms[1][0], actor=None)
        assert second is not None
        called.append((second.id, second.number))
        db.session.commit()
        page.wait_for_function("() => window.__spoken.length >= 3", timeout=12_000)

        (_first_id, first_number), (second_id, second_number) = called
        assert page.evaluate("window.__spoken") == [
            spoken(first_number, rooms[0][1]),
            spoken(first_number, rooms[0][1]),  # the recall is said again
            spoken(second_number, rooms[1][1]),
        ]
        expect(page.locator("#now-number")).to_have_text(second_number)
        lines = _lines(page)
        assert lines[:2] == [second_number, first_number]
        assert lines.count(first_number) == 1 and lines.count(second_number) == 1
        recalled = page.locator("#recent-calls .recent-call").nth(1)
        expect(recalled.locator(".recent-recall")).to_have_text("again")

        # The newest call's visit ends: it leaves "Now calling", and stays in the last calls.
        _move(second_id, "start")
        expect(page.locator("#now-number")).to_have_text(second_number)  # in service: still
        _move(second_id, "complete")
        expect(page.locator("#now-number")).to_have_text("—")
        expect(page.locator("#now-room")).to_have_text("Please wait to be called")
        expect(page.locator("#recent-calls")).to_contain_text(second_number)
        assert len(page.evaluate("window.__spoken")) == 3  # nothing announced twice
        assert page.evaluate("window.__cancelled") == 0
        assert_accessible(page)
    finally:
        _finish([ticket_id for ticket_id, _number in called])


def test_staff_find_every_screen_and_test_the_sound_without_typing_an_address(
    page: Page, live_server: str
) -> None:
    page.set_default_timeout(10_000)
    csp_problems = watch_csp(page)
    page.add_init_script(RECORD_SPEECH)
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("reception")
    page.get_by_label("Password").fill("reception-demo-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")

    page.get_by_role("link", name="Screens").click()
    expect(page.get_by_role("heading", name="Waiting-room screens")).to_be_visible()
    assert_accessible(page)
    if os.environ.get("E2E_SCREENSHOTS"):  # for a person to look at (tests/e2e/test_screens.py)
        page.screenshot(path=str(Path(os.environ["E2E_SCREENSHOTS"]) / "displays.png"))

    # The sound test plays the chime, then says a test call with the display's words.
    page.get_by_role("button", name="Play the sound test").click()
    expect(page.locator("#sound-test-status")).to_contain_text("Done", timeout=10_000)
    assert page.evaluate("window.__spoken") == [
        "This is a sound test. " + spoken("GM-014", "Room 3") + "."
    ]
    expect(page.get_by_role("button", name="Play the sound test")).to_be_enabled()

    # Each department's screen opens from its link, in a tab of its own.
    with page.expect_popup() as popup:
        page.get_by_role("link", name="Open the General Medicine screen").click()
    screen = popup.value
    screen.wait_for_load_state()
    assert screen.url == f"{live_server}/display/GM"
    expect(screen.locator("#start-overlay")).to_contain_text("Click or press any key to start")
    screen.close()
    assert csp_problems == []
