"""Journey: each demo persona signs in, lands on their dashboard and signs out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from webapp.commands import DEMO_USERS

DASHBOARD_HEADINGS = {
    "receptionist": "Front desk",
    "clinician": "Clinician",
    "admin": "Administration",
}


@pytest.mark.parametrize(
    ("username", "full_name", "role", "password"), DEMO_USERS, ids=[u[2] for u in DEMO_USERS]
)
def test_it_signs_in_lands_on_the_role_dashboard_and_signs_out(
    page: Page, live_server: str, username: str, full_name: str, role: str, password: str
) -> None:
    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(DASHBOARD_HEADINGS[role])
    expect(page.get_by_text(full_name).first).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/login\?next=/"))


def test_it_shows_an_error_and_keeps_the_username_on_a_wrong_password(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("reception")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text("Wrong username or password")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("reception")
    expect(page.get_by_label("Password")).to_be_focused()


def test_it_loads_every_asset_from_the_app_itself(page: Page, live_server: str) -> None:
    responses: list[str] = []
    page.on("response", lambda response: responses.append(response.url))
    page.goto(f"{live_server}/login")
    assert any(url.endswith("/static/vendor/htmx.min.js") for url in responses)
    assert any(url.endswith("/static/vendor/pico.min.css") for url in responses)
    assert all(url.startswith(live_server) for url in responses)
    assert page.evaluate("typeof window.htmx") == "object"
