"""Journey: an admin registers a kiosk and prints a patient's appointment slip; at the kiosk the
patient taps the reference and the year of birth on the on-screen keys, sees the ticket number,
department and estimate, the ticket prints, and the kiosk goes back to its start when left
alone. The same by keyboard alone (a scanner types the reference, then Enter). No response of
the kiosk holds the patient's name, date of birth, phone or MRN; axe finds nothing serious."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, Response, expect
from sqlalchemy import func, select

from tests.e2e.accessibility import assert_accessible
from tests.e2e.pages import sign_in, watch_csp
from tests.e2e.test_display import _finish
from tests.factories import PatientFactory
from webapp.appointments.services import book_appointment
from webapp.database import utcnow
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.queue.models import Ticket

BORN = date(1957, 11, 23)
PHONE = "+12015550143"
# Count the prints instead of opening a print dialog (chromium --kiosk-printing prints silently).
COUNT_PRINTS = "window.__prints = 0; window.print = function () { window.__prints += 1; };"


@dataclass(frozen=True)
class Booked:
    appointment_id: int
    first: str
    last: str
    mrn: str


def _book(live_app: Flask, first: str, last: str, mrn: str) -> Booked:
    """A patient booked in Pharmacy (open at all hours) in a few minutes: today's booking."""
    with live_app.app_context():
        pharmacy = db.session.scalars(select(Department).where(Department.code == "PH")).one()
        patient = PatientFactory(
            first_name=first, last_name=last, date_of_birth=BORN, phone=PHONE, mrn=mrn
        )
        appointment = book_appointment(
            patient_id=patient.id,
            department_id=pharmacy.id,
            starts_at=utcnow() + timedelta(minutes=10),
            duration_minutes=5,
            actor=None,
        )
        db.session.commit()
        booked = Booked(appointment.id, first, last, mrn)
        db.session.remove()
    return booked


@pytest.fixture(autouse=True)
def leave_pharmacy_as_found(live_app: Flask) -> Iterator[None]:
    """Close the tickets the kiosk opened: the live server is shared with the other journeys,
    whose boards must not find strangers' rows."""
    with live_app.app_context():
        before = db.session.scalar(select(func.max(Ticket.id))) or 0
        db.session.remove()
    yield
    with live_app.app_context():
        opened = db.session.scalars(select(Ticket.id).where(Ticket.id > before)).all()
        _finish(list(opened))
        db.session.remove()


@contextmanager
def quick_reset(live_app: Flask) -> Iterator[None]:
    """Pages rendered meanwhile go back to the start after 2 s idle instead of 30 s (only for
    the step that waits for it: a busy machine may take longer than 2 s between steps)."""
    before = live_app.config["KIOSK_RESET_SECONDS"]
    live_app.config["KIOSK_RESET_SECONDS"] = 2
    try:
        yield
    finally:
        live_app.config["KIOSK_RESET_SECONDS"] = before


def _phi(booked: Booked) -> list[str]:
    return [
        booked.first,
        booked.last,
        booked.mrn,
        PHONE,
        PHONE[2:],
        "555-0143",
        BORN.isoformat(),
        BORN.strftime("%d/%m/%Y"),
        BORN.strftime("%m/%d/%Y"),
    ]


def _watch_bodies(page: Page) -> list[tuple[str, str]]:
    """Every HTML or JSON body the kiosk's browser receives, as (url, text)."""
    bodies: list[tuple[str, str]] = []

    def keep(response: Response) -> None:
        kind = response.headers.get("content-type", "")
        if "/kiosk/" in response.url and ("html" in kind or "json" in kind):
            try:
                bodies.append((response.url, response.text()))
            except Exception:
                bodies.append((response.url, ""))

    page.on("response", keep)
    return bodies


def _assert_no_phi(bodies: list[tuple[str, str]], booked: Booked) -> None:
    assert bodies, "no kiosk response was seen"
    for url, text in bodies:
        found = [needle for needle in _phi(booked) if needle.lower() in text.lower()]
        assert found == [], f"{url} shows {found}"


def _register_kiosk(page: Page, live_server: str, name: str) -> str:
    page.goto(f"{live_server}/admin/kiosks")
    page.get_by_label("Kiosk name").fill(name)
    page.get_by_role("button", name="Register kiosk").click()
    address = page.get_by_label("Kiosk address")
    expect(address).to_be_visible()
    assert_accessible(page)
    url = address.input_value()
    assert re.fullmatch(rf"{re.escape(live_server)}/kiosk/[A-Za-z0-9_-]{{32}}", url), url
    return url


def _reference_from_slip(page: Page, live_server: str, booked: Booked) -> str:
    page.goto(f"{live_server}/appointments/{booked.appointment_id}")
    page.get_by_role("link", name="Print the appointment slip").click()
    reference = page.locator(".slip-reference")
    expect(reference).to_have_text(re.compile(r"^[ABCDEFGHJKLMNPQRSTUVWXYZ2-9]{6}$"))
    expect(
        page.get_by_text("At the entrance kiosk, type this reference or scan the code.")
    ).to_be_visible()
    expect(
        page.get_by_role("img", name=re.compile("QR code of the booking reference"))
    ).to_be_visible()
    assert booked.last not in page.content()
    assert_accessible(page)
    return reference.inner_text()


def _kiosk_page(new_context: Callable[..., BrowserContext]) -> Page:
    context = new_context(viewport={"width": 1080, "height": 1920})
    context.add_init_script(COUNT_PRINTS)
    return context.new_page()


def test_a_patient_checks_in_at_the_kiosk_by_touch(
    page: Page,
    live_server: str,
    live_app: Flask,
    new_context: Callable[..., BrowserContext],
) -> None:
    booked = _book(live_app, "Ottilie", "Brackenbury", "KQ100201")
    sign_in(page, live_server, "admin", "admin-demo-123")
    kiosk_url = _register_kiosk(page, live_server, "Entrance (touch test)")
    reference = _reference_from_slip(page, live_server, booked)

    kiosk = _kiosk_page(new_context)
    csp = watch_csp(kiosk)
    bodies = _watch_bodies(kiosk)
    kiosk.goto(kiosk_url)
    expect(kiosk.get_by_role("heading", name="Check in for your appointment")).to_be_visible()
    assert_accessible(kiosk)

    # Tap the reference, with a slip of the finger put right by Delete.
    field = kiosk.get_by_label("Booking reference")
    keys = kiosk.get_by_role("group", name="On-screen keys")
    for char in reference[:3]:
        keys.get_by_role("button", name=char, exact=True).click()
    keys.get_by_role("button", name="Z" if reference[3] != "Z" else "Y", exact=True).click()
    keys.get_by_role("button", name="Delete").click()
    for char in reference[3:]:
        keys.get_by_role("button", name=char, exact=True).click()
    expect(field).to_have_value(reference)
    expect(field).to_be_focused()  # a tap hands the focus back, so a scanner can still type
    kiosk.get_by_role("button", name="Next").click()

    expect(kiosk.get_by_role("heading", name="What year were you born?")).to_be_visible()
    assert_accessible(kiosk)
    digits = kiosk.get_by_role("group", name="On-screen keys")
    for char in str(BORN.year):
        digits.get_by_role("button", name=char, exact=True).click()
    expect(kiosk.get_by_label("Year of birth")).to_have_value(str(BORN.year))
    kiosk.get_by_role("button", name="Check in").click()

    expect(kiosk.get_by_role("heading", name="You are checked in")).to_be_visible()
    expect(kiosk.locator(".kiosk-number")).to_have_text(re.compile(r"^PH-\d{3}$"))
    expect(kiosk.locator(".kiosk-department")).to_have_text("Pharmacy")
    expect(kiosk.locator(".kiosk-estimate")).to_have_text(re.compile(r"You are next|About \d+ min"))
    assert_accessible(kiosk)
    number = kiosk.locator(".kiosk-number").inner_text()
    # The ticket printed itself, once.
    kiosk.wait_for_function("() => window.__prints === 1")

    # The print view: the 80 mm ticket alone, with its number and QR code.
    kiosk.emulate_media(media="print")
    printed = kiosk.locator(".printed-ticket")
    expect(printed).to_be_visible()
    expect(printed.locator(".pt-number")).to_have_text(number)
    expect(printed.locator("svg")).to_be_visible()
    expect(kiosk.get_by_role("heading", name="You are checked in")).to_be_hidden()
    kiosk.emulate_media(media="screen")
    kiosk.get_by_role("button", name="Print my ticket").click()
    kiosk.wait_for_function("() => window.__prints === 2")

    # Left alone, the kiosk counts down and goes back to its start, empty. (Shown again, the
    # ticket does not print itself a second time.)
    with quick_reset(live_app):
        kiosk.reload()
        expect(kiosk.locator("[data-countdown]")).to_be_visible()
        kiosk.wait_for_url(kiosk_url)
    assert kiosk.evaluate("() => window.__prints") == 0  # a new page: its own count
    expect(kiosk.get_by_role("heading", name="Check in for your appointment")).to_be_visible()
    expect(kiosk.get_by_label("Booking reference")).to_have_value("")

    _assert_no_phi(bodies, booked)
    assert csp == []


def test_a_patient_checks_in_with_the_keyboard_alone(
    page: Page,
    live_server: str,
    live_app: Flask,
    new_context: Callable[..., BrowserContext],
) -> None:
    booked = _book(live_app, "Barnaby", "Thistlewood", "KQ100202")
    sign_in(page, live_server, "admin", "admin-demo-123")
    kiosk_url = _register_kiosk(page, live_server, "Entrance (keyboard test)")
    reference = _reference_from_slip(page, live_server, booked)

    kiosk = _kiosk_page(new_context)
    bodies = _watch_bodies(kiosk)
    kiosk.goto(kiosk_url)
    expect(kiosk.get_by_label("Booking reference")).to_be_focused()

    # Half a reference is asked again, keeping what was typed; typing on completes it.
    kiosk.keyboard.type(f"{reference[:3].lower()}-")
    kiosk.keyboard.press("Enter")
    expect(
        kiosk.get_by_text("Please type all 6 characters of your booking reference.")
    ).to_be_visible()
    field = kiosk.get_by_label("Booking reference")
    expect(field).to_be_focused()
    assert_accessible(kiosk)
    kiosk.keyboard.type(reference[3:].lower())
    expect(field).to_have_value(f"{reference[:3].lower()}-{reference[3:].lower()}")
    # A wrong year first: the one answer for every mismatch.
    kiosk.keyboard.press("Enter")
    expect(kiosk.get_by_label("Year of birth")).to_be_focused()
    kiosk.keyboard.type(str(BORN.year + 1))
    kiosk.keyboard.press("Enter")
    expect(kiosk.get_by_role("heading", name="Not found — please ask at the desk")).to_be_visible()
    assert_accessible(kiosk)
    kiosk.keyboard.press("Tab")
    expect(kiosk.get_by_role("link", name="Start again")).to_be_focused()
    kiosk.keyboard.press("Enter")
    kiosk.wait_for_url(kiosk_url)

    # As a handheld scanner types it: the characters, then Enter.
    expect(kiosk.get_by_label("Booking reference")).to_be_focused()
    kiosk.keyboard.type(reference)
    kiosk.keyboard.press("Enter")
    expect(kiosk.get_by_label("Year of birth")).to_be_focused()
    kiosk.keyboard.type(str(BORN.year))
    kiosk.keyboard.press("Enter")
    expect(kiosk.get_by_role("heading", name="You are checked in")).to_be_visible()
    expect(kiosk.locator(".kiosk-department")).to_have_text("Pharmacy")
    # The buttons are reachable by Tab, with a visible focus.
    kiosk.keyboard.press("Tab")
    expect(kiosk.get_by_role("button", name="Print my ticket")).to_be_focused()

    _assert_no_phi(bodies, booked)


def test_a_revoked_kiosk_and_too_many_tries(
    page: Page,
    live_server: str,
    live_app: Flask,
    new_context: Callable[..., BrowserContext],
) -> None:
    sign_in(page, live_server, "admin", "admin-demo-123")
    kiosk_url = _register_kiosk(page, live_server, "Entrance (limit test)")
    before = live_app.config["KIOSK_RATE_LIMIT"]
    live_app.config["KIOSK_RATE_LIMIT"] = "1 per minute"
    try:
        kiosk = _kiosk_page(new_context)
        for _ in range(2):
            kiosk.goto(kiosk_url)
            kiosk.get_by_label("Booking reference").fill("ZZZ222")
            kiosk.keyboard.press("Enter")
            kiosk.get_by_label("Year of birth").fill("1950")
            kiosk.keyboard.press("Enter")
            expect(kiosk.get_by_role("heading", level=1)).to_be_visible()
        expect(
            kiosk.get_by_role("heading", name="Too many tries — please ask at the desk")
        ).to_be_visible()
        assert_accessible(kiosk)
    finally:
        live_app.config["KIOSK_RATE_LIMIT"] = before

    # Revoked by the admin: the address is an ordinary 404 at once.
    page.goto(f"{live_server}/admin/kiosks")
    page.once("dialog", lambda dialog: dialog.accept())
    row = page.get_by_role("row", name=re.compile(r"Entrance \(limit test\)"))
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Kiosk Entrance (limit test) is revoked")).to_be_visible()
    assert_accessible(page)
    answer = kiosk.goto(kiosk_url)
    assert answer is not None and answer.status == 404
    expect(kiosk.get_by_role("heading", name="Page not found")).to_be_visible()
