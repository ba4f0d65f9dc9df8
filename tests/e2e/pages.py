"""Steps every browser journey shares: signing in, and watching for Content-Security-Policy
complaints in the console."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page


def sign_in(page: Page, live_server: str, username: str, password: str) -> None:
    """Sign in on the sign-in page and wait for the dashboard."""
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")


def watch_csp(page: Page) -> list[str]:
    """The console's Content-Security-Policy complaints on ``page``, collected as they come."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    return problems
