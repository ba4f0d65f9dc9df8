"""Journey: a reception board left alone keeps polling, and still signs itself out when idle.

The board polls GET /queue/board-partial every 4 s. Those polls are not activity (@polled), so
the idle timeout fires on an unattended PC: the next poll answers with HX-Redirect and the whole
tab shows the sign-in page, which brings the receptionist back to the board afterwards.

The session is brought to within a few seconds of its idle limit by moving its server-side last
activity back in the database (no waiting for 30 minutes); the journey then waits for the
navigation, never for a fixed time.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import update

from tests.e2e.htmx import wait_for_htmx
from webapp.auth.models import StaffSession
from webapp.commands import DEMO_USERS
from webapp.database import utcnow
from webapp.extensions import db
from webapp.session_guard import SESSION_ID_KEY

RECEPTIONIST = next(user for user in DEMO_USERS if user[2] == "receptionist")
SECONDS_LEFT = 6  # how long the session has left once moved back: a poll or two


def _sign_in(page: Page, live_server: str, next_path: str = "") -> None:
    username, _full_name, _role, password = RECEPTIONIST
    if not next_path:
        page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _session_token_hash(live_app: Flask, context: BrowserContext) -> str:
    """The stored hash of the server-side session this browser's cookie names."""
    [cookie] = [c for c in context.cookies() if c["name"] == "session"]
    serializer = live_app.session_interface.get_signing_serializer(live_app)
    token = serializer.loads(cookie["value"])[SESSION_ID_KEY]
    return hashlib.sha256(token.encode()).hexdigest()


def _leave_seconds_before_idle_limit(live_app: Flask, token_hash: str, seconds: int) -> None:
    idle_limit = timedelta(minutes=live_app.config["SESSION_IDLE_MINUTES"])
    with live_app.app_context():
        result = db.session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == token_hash)
            .values(last_activity_at=utcnow() - idle_limit + timedelta(seconds=seconds))
        )
        assert result.rowcount == 1
        db.session.commit()
        db.session.remove()


def test_an_unattended_board_keeps_polling_then_shows_the_sign_in_page(
    page: Page, context: BrowserContext, live_server: str, live_app: Flask
) -> None:
    _sign_in(page, live_server)
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/queue")
    wait_for_htmx(page)
    with page.expect_response(lambda r: "/queue/board-partial" in r.url) as first_poll:
        pass  # the board polls on its own; nobody touches it
    assert first_poll.value.status in (200, 204)

    # Nobody at the desk for (almost) the whole idle limit. Every poll from now on must leave
    # the last activity alone; if a poll counted as activity, the session would never expire
    # and this journey would time out on the board.
    _leave_seconds_before_idle_limit(live_app, _session_token_hash(live_app, context), SECONDS_LEFT)

    page.wait_for_url(re.compile(r"/login\?next=/queue$"), timeout=(SECONDS_LEFT + 20) * 1000)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("signed out after a period of inactivity")).to_be_visible()

    # Signing in again brings the receptionist back to the board, not to a bare fragment.
    _sign_in(page, live_server, next_path="/queue")
    page.wait_for_url(f"{live_server}/queue")
    expect(page.locator("#board-rows")).to_be_attached()
