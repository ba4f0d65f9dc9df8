"""Journey: a receptionist checks two patients in on the board; a clinician at Room 1 calls,
starts and completes the first, then transfers the second to the Laboratory. The board follows
every change by itself (htmx polling); the waiting-room display shows and announces the call,
and the patient's ticket page tells them which room."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date

from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from tests.e2e.accessibility import assert_accessible
from tests.e2e.htmx import search, wait_for_htmx
from tests.e2e.pages import sign_in
from tests.e2e.test_display import RECORD_SPEECH, spoken
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue.models import Ticket

TIMEOUT = 10_000


def _patient(live_app: Flask, first: str, last: str) -> None:
    with live_app.app_context():
        db.session.add(
            Patient(
                first_name=first,
                last_name=last,
                date_of_birth=date(1975, 3, 2),
                mrn=f"QJ-{last.upper()}",
                sms_opt_in=False,
            )
        )
        db.session.commit()
        db.session.remove()


def _status_token(live_app: Flask, number: str) -> str:
    with live_app.app_context():
        token = db.session.scalar(
            select(Ticket.status_token).where(Ticket.number == number).order_by(Ticket.id.desc())
        )
        db.session.remove()  # end the read at once: the live server shares this SQLite file
    assert token is not None
    return token


def _check_in(board: Page, last_name: str) -> str:
    """Check a patient in from the board with the "/" shortcut; return the ticket number."""
    wait_for_htmx(board)  # the board's own script (the "/" shortcut) has run too
    board.locator("body").press("/")
    field = board.get_by_label("Find a patient")
    expect(field).to_be_focused()
    search(field, last_name, keyboard=True)
    choice = board.locator("#checkin-results").get_by_text(last_name)
    expect(choice).to_be_visible(timeout=TIMEOUT)
    choice.click()
    board.get_by_label("Department").select_option(label="General Medicine")
    board.get_by_label("Priority", exact=True).select_option("emergency")
    board.get_by_role("button", name="Check in", exact=True).click()
    flash = board.locator(".flash-success")
    expect(flash).to_contain_text("ticket GM-", timeout=TIMEOUT)
    number = re.search(r"GM-\d{3}", flash.inner_text())
    assert number is not None
    expect(flash.get_by_role("link", name=f"Print ticket {number.group(0)}")).to_be_visible()
    return number.group(0)


def test_reception_and_clinician_run_the_queue(
    new_context: Callable[..., BrowserContext], live_app: Flask, live_server: str
) -> None:
    _patient(live_app, "Journey", "Queuewalker")
    _patient(live_app, "Journey", "Labtransfer")

    reception = new_context(viewport={"width": 1366, "height": 900})
    clinic = new_context(viewport={"width": 1366, "height": 768})
    for context in (reception, clinic):
        context.set_default_timeout(TIMEOUT)
    board = reception.new_page()
    sign_in(board, live_server, "reception", "reception-demo-1")
    board.goto(f"{live_server}/queue")
    expect(board.get_by_role("heading", name="Queue board")).to_be_visible()
    first = _check_in(board, "Queuewalker")
    rows = board.locator("#board-rows")
    expect(rows.locator(f'tr[data-ticket="{first}"]')).to_contain_text("Emergency")
    assert_accessible(board)

    # The clinician opens the workstation in another browser, chooses Room 1, presses C.
    desk = clinic.new_page()
    sign_in(desk, live_server, "clinician", "clinician-demo-1")
    desk.goto(f"{live_server}/workstation")
    desk.get_by_label("Service point").select_option(label="Room 1")
    desk.get_by_role("button", name="Use this room").click()
    expect(desk.get_by_role("heading", name=re.compile("Room 1, General Medicine"))).to_be_visible()
    expect(desk.get_by_role("button", name=re.compile("^Start"))).to_be_disabled()

    # The waiting-room screen is already on, its sound started by a key press.
    display = reception.new_page()
    display.add_init_script(RECORD_SPEECH)
    display.goto(f"{live_server}/display/GM")
    display.keyboard.press("Enter")
    expect(display.locator("#start-overlay")).to_be_hidden()

    wait_for_htmx(desk)  # the workstation's own script (its shortcuts) has run
    desk.locator("body").press("c")
    expect(desk.locator(".ws-ticket")).to_have_text(first)
    expect(desk.locator(".ws-current")).to_contain_text("Queuewalker")
    expect(desk.get_by_role("button", name=re.compile("^Call next"))).to_be_disabled()
    # Measured once the page has settled: on a loaded machine a poll may still be swapping the
    # live part in, briefly taller, when the call's answer arrives.
    desk.wait_for_function(
        "() => document.documentElement.scrollHeight <= window.innerHeight", timeout=TIMEOUT
    )  # times out (fails) if the workstation scrolls at 1366×768
    assert_accessible(desk)

    # The board follows by itself: the ticket moves to "Called" with the room.
    called = rows.locator(f'li[data-ticket="{first}"]')
    expect(called).to_contain_text("Room 1", timeout=TIMEOUT)

    # The display shows the call and announces it; it never shows the name.
    announcement = spoken(first, "Room 1")
    display.wait_for_function(
        f"() => window.__spoken.includes({json.dumps(announcement)})", timeout=12_000
    )
    expect(display.get_by_text(first).first).to_be_visible()
    assert "Queuewalker" not in display.content()
    display.close()

    # The patient's own ticket page (the QR code / SMS link) says which room.
    ticket_page = reception.new_page()
    ticket_page.goto(f"{live_server}/t/{_status_token(live_app, first)}")
    expect(ticket_page.get_by_text("Please go to Room 1")).to_be_visible(timeout=TIMEOUT)
    assert "Queuewalker" not in ticket_page.content()
    ticket_page.close()

    desk.get_by_role("button", name=re.compile("^Start")).click()
    expect(desk.locator(".ws-current")).to_contain_text("In service")
    desk.get_by_role("button", name=re.compile("^Complete")).click()
    expect(desk.locator(".flash-success")).to_contain_text(f"{first} is completed")
    expect(desk.get_by_text("Nobody at Room 1")).to_be_visible()
    expect(called).to_have_count(0, timeout=TIMEOUT)

    # A second patient is called and sent on to the Laboratory from the workstation.
    second = _check_in(board, "Labtransfer")
    desk.get_by_role("button", name=re.compile("^Call next")).click()
    expect(desk.locator(".ws-ticket")).to_have_text(second)
    wait_for_htmx(desk)
    desk.locator("body").press("t")
    expect(desk.get_by_label("Transfer to")).to_be_focused()
    desk.get_by_label("Transfer to").select_option(label="Laboratory (LAB)")
    desk.get_by_label("Reason").fill("Blood test")
    desk.get_by_role("button", name=f"Transfer {second}").click()
    expect(desk.locator(".flash-success")).to_contain_text("transferred to Laboratory as LAB-")
    expect(rows.get_by_text("Labtransfer")).to_be_visible(timeout=TIMEOUT)
    expect(rows.locator(f'[data-ticket="{second}"]')).to_have_count(0, timeout=TIMEOUT)
