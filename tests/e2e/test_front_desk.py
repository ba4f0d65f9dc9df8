"""Journey: a receptionist registers a patient, meets the duplicate warning, finds the patient
by a fragment of the phone number, books from the day view, reschedules and cancels."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Page, expect

from tests.e2e.htmx import search, wait_for_htmx

FIRST, LAST = "Journey", "Quillfeather"
PHONE_NATIONAL = "(201) 555-0187"  # read in the default region (US), stored +12015550187


def _sign_in_as_receptionist(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("reception")
    page.get_by_label("Password").fill("reception-demo-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Front desk")


def _fill_registration(page: Page) -> None:
    page.get_by_label("First name").fill(FIRST)
    page.get_by_label("Last name").fill(LAST)
    page.get_by_label("Date of birth").fill("1990-04-12")
    page.get_by_label("Phone").fill(PHONE_NATIONAL)


def test_it_runs_the_front_desk_from_registration_to_cancellation(
    page: Page, live_server: str
) -> None:
    page.set_default_timeout(10_000)
    _sign_in_as_receptionist(page, live_server)

    # Register with a national-format phone number.
    page.get_by_role("link", name="Patients").first.click()
    page.get_by_role("button", name="Register a new patient").click()
    _fill_registration(page)
    page.get_by_role("button", name="Register patient").click()
    # Flash messages name the record (its MRN), never the patient: they travel in the cookie.
    registered = page.get_by_text(re.compile(r"Registered the patient (MRN )?\S+\."))
    expect(registered).to_be_visible()
    found = re.search(r"patient (MRN \S+|\S+)\.", registered.inner_text())
    assert found is not None
    mrn = found.group(1)  # "MRN12345678": the MRN is named once
    expect(page.get_by_text(PHONE_NATIONAL)).to_be_visible()

    # A second registration of the same person is stopped by the duplicate warning.
    page.goto(f"{live_server}/patients/new")
    _fill_registration(page)
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="Is this patient already registered?")).to_be_visible()
    expect(page.get_by_label("Last name")).to_have_value(LAST)

    # Find the patient by a fragment of the phone number, typed as people type it. The field is
    # bound by htmx before it is typed into, and the search's answer has come.
    page.goto(f"{live_server}/patients")
    search(page.get_by_label("Find a patient"), "555-018")
    results = page.locator("#patient-results")
    expect(results.get_by_text(LAST)).to_be_visible()

    # Book from the day view: tomorrow in General Medicine, the first free slot of a clinician.
    page.goto(f"{live_server}/appointments/day")
    next_day = page.get_by_role("link", name="Next day →")
    next_day_url = next_day.get_attribute("href") or ""
    next_day.click()
    page.wait_for_url(lambda url: url.endswith(next_day_url))
    page.locator("td.slot-free a.book-link").nth(3).click()
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    search(page.get_by_label("Find by name, MRN or phone"), LAST)
    page.locator("#patient-options").get_by_text(LAST).click()
    page.get_by_label("Reason").fill("Follow-up of blood pressure")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.get_by_text(f"Booked {mrn} ")).to_be_visible()

    # The booking is on the grid; open it and move it one hour later.
    page.get_by_role("link", name=re.compile(f"{FIRST} {LAST}|{LAST}")).first.click()
    time_field = page.get_by_role("textbox", name="Time", exact=True)
    current = time_field.input_value()  # "09:40": 24-hour, whatever the browser's locale
    later = f"{(int(current[:2]) + 1) % 24:02d}{current[2:]}"
    time_field.fill(later)
    page.get_by_role("button", name="Save new time").click()
    expect(page.get_by_text(f"Moved the appointment of {mrn} ")).to_be_visible()
    expect(page.get_by_text(re.compile(f"Moved .* {later}–"))).to_be_visible()

    # Cancel it with a reason; it stays on record as cancelled. The page's scripts (the
    # confirmation question) are ready before the button is pressed.
    wait_for_htmx(page)
    page.get_by_label("Reason").fill("Patient asked to cancel by phone")
    questions: list[str] = []

    def answer_yes(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer_yes)
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_text(f"Cancelled the appointment of {mrn} ")).to_be_visible()
    expect(page.get_by_text("Patient asked to cancel by phone")).to_be_visible()
    assert len(questions) == 1, "cancelling did not ask for confirmation"
