"""Forms in a browser set to American English: every problem in one round, and times that stay
on the 24-hour clock (the browser's own date-time widgets would show AM/PM in this locale)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.accessibility import assert_accessible
from tests.e2e.htmx import search

LAST = "Clockwise"
TWELVE_HOUR = re.compile(r"\b\d{1,2}(:\d{2})?\s?[AaPp]\.?[Mm]\b")


@pytest.fixture
def page(new_context: Callable[..., BrowserContext], live_server: str) -> Page:
    """A receptionist's page in an en-US browser (whose time widgets would say AM/PM)."""
    context = new_context(locale="en-US", viewport={"width": 1366, "height": 768})
    signed_in = context.new_page()
    signed_in.set_default_timeout(10_000)
    signed_in.goto(f"{live_server}/login")
    signed_in.get_by_label("Username").fill("reception")
    signed_in.get_by_label("Password").fill("reception-demo-1")
    signed_in.get_by_role("button", name="Sign in").click()
    signed_in.wait_for_url(f"{live_server}/")
    assert signed_in.evaluate("navigator.language") == "en-US"
    return signed_in


def _error(page: Page, field_id: str) -> str:
    return page.locator(f"#{field_id}-error").inner_text()


def test_it_shows_every_registration_problem_in_one_round(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/patients/new")
    page.get_by_label("Last name").fill(LAST)
    page.get_by_label("Date of birth").fill("1971-02-03")
    page.get_by_label("Phone").fill("12")
    page.get_by_role("button", name="Register patient").click()

    # The missing name (the form's check) and the bad phone (the service's) together.
    expect(page.locator("#first_name-error")).to_have_text("Enter the patient's first name.")
    expect(page.locator("#phone-error")).to_contain_text("Enter a valid phone number")
    expect(page.get_by_label("Phone")).to_have_value("12")
    expect(page.get_by_label("Last name")).to_have_value(LAST)
    assert_accessible(page)

    page.get_by_label("First name").fill("Tempo")
    page.get_by_label("Phone").fill("")
    page.get_by_label("Patient agrees to SMS updates").uncheck()
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_text(re.compile(r"Registered the patient \S+\."))).to_be_visible()


def test_it_books_at_14_30_and_shows_14_30_in_an_en_us_browser(
    page: Page, live_server: str
) -> None:
    day = (date.today() + timedelta(days=10)).isoformat()
    page.goto(f"{live_server}/patients/new")
    page.get_by_label("First name").fill("Hora")
    page.get_by_label("Last name").fill(LAST + "Booked")
    page.get_by_label("Date of birth").fill("1980-05-06")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_text(re.compile(r"Registered the patient \S+\."))).to_be_visible()

    page.goto(f"{live_server}/appointments/new")
    time_field = page.get_by_role("textbox", name="Time", exact=True)
    assert time_field.get_attribute("type") == "text"
    assert time_field.get_attribute("inputmode") == "numeric"
    expect(time_field).to_have_attribute("placeholder", "14:30")
    page.get_by_label("Department").select_option(label="Laboratory (LAB)")
    page.locator("#start_date").fill(day)

    # No patient chosen and a 12-hour time: both problems in one round, what was typed kept.
    time_field.fill("2:30 PM")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.locator("#patient_id-error")).to_have_text("Choose a patient.")
    expect(page.locator("#start_time-error")).to_have_text(
        "Enter the time as HH:MM, 24-hour, e.g. 14:30."
    )
    expect(time_field).to_have_value("2:30 PM")
    expect(page.locator("#start_date")).to_have_value(day)
    assert_accessible(page)

    search(page.get_by_label("Find by name, MRN or phone"), LAST + "Booked")
    page.locator("#patient-options").get_by_text(LAST + "Booked").click()
    time_field.fill("14:30")
    page.get_by_role("button", name="Book appointment").click()

    booked = page.get_by_text(re.compile(rf"Booked \S+ for {day} 14:30–"))
    expect(booked).to_be_visible()
    expect(page.locator("main")).to_contain_text("14:30")
    assert not TWELVE_HOUR.search(page.locator("main").inner_text())

    # The appointment's own page shows, and offers to change, the time on the same clock.
    page.get_by_role("link", name=re.compile(LAST + "Booked")).first.click()
    expect(page.get_by_role("textbox", name="Time", exact=True)).to_have_value("14:30")
    expect(page.locator("dl.details")).to_contain_text(f"{day} 14:30")
    assert not TWELVE_HOUR.search(page.locator("main").inner_text())
    assert_accessible(page)


def test_it_lays_out_the_patient_search_as_label_box_and_help(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/patients")
    box = page.get_by_label("Find a patient")
    box.focus()
    button = page.get_by_role("button", name="Search").bounding_box()
    field = box.bounding_box()
    help_text = page.locator("#patient-q-help").bounding_box()
    assert button and field and help_text
    assert help_text["y"] >= button["y"] + button["height"], "the help runs into the button"
    assert help_text["y"] >= field["y"] + field["height"]
    assert button["x"] >= field["x"] + field["width"], "the button sits beside the box"
    # No ring is drawn around the whole row when the box has the focus.
    ring = page.locator("search.patient-search").evaluate("e => getComputedStyle(e).boxShadow")
    assert ring == "none"
    assert_accessible(page)
