"""The messages page in a browser: an admin resends failed messages with htmx (the CSRF token
in the header, the pressed button's value in the form), sees the outcome and the refreshed rows,
and the messages are sent."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from tests.e2e.accessibility import assert_accessible
from tests.e2e.htmx import wait_for_htmx
from tests.e2e.pages import sign_in, watch_csp
from tests.factories import NotificationFactory
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.patients.models import Patient

REFUSED = "SMS gateway answered 400: The number is not a mobile number"


@pytest.fixture
def failures(live_app: Flask) -> list[int]:
    """Three failed SMS to a demo patient who agreed to SMS and has a phone."""
    with live_app.app_context():
        patient = db.session.scalars(
            select(Patient).where(Patient.sms_opt_in.is_(True), Patient.phone.is_not(None))
        ).first()
        assert patient is not None, "the demo has no patient who agreed to SMS"
        rows = [
            NotificationFactory(
                patient=patient,
                status="failed",
                attempts=1,
                last_error=REFUSED,
                body=f"Browser journey message {n}.",
            )
            for n in range(3)
        ]
        db.session.commit()
        ids = [row.id for row in rows]
        db.session.remove()
    return ids


def statuses(live_app: Flask, ids: list[int]) -> list[str]:
    with live_app.app_context():
        found = dict(
            db.session.execute(
                select(Notification.id, Notification.status).where(Notification.id.in_(ids))
            ).all()
        )
        db.session.remove()
    return [found[row_id] for row_id in ids]


def test_an_admin_resends_one_then_the_ticked_failed_messages_with_htmx(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    live_app: Flask,
    failures: list[int],
) -> None:
    page: Page = new_context(viewport={"width": 1280, "height": 800}).new_page()
    csp_problems = watch_csp(page)
    sign_in(page, live_server, "admin", "admin-demo-123")
    page.goto(f"{live_server}/admin/notifications?status=failed")
    wait_for_htmx(page)
    assert_accessible(page)
    first, second, third = (page.locator(f'tr[data-notification-id="{n}"]') for n in failures)
    expect(first.get_by_text(REFUSED)).to_be_visible()

    # One row's own button.
    with page.expect_response(lambda r: "/admin/notifications/resend" in r.url) as answer:
        first.get_by_role("button", name="Resend").click()
    assert answer.value.status == 200
    expect(page.locator("#resend-outcome")).to_have_text("Done: 1 message queued again.")
    expect(first).to_have_count(0)  # no longer failed: the list keeps its filter
    expect(page.get_by_label("Status")).to_have_value("failed")

    # The ticked rows.
    second.get_by_role("checkbox").check()
    third.get_by_role("checkbox").check()
    with page.expect_response(lambda r: "/admin/notifications/resend" in r.url) as answer:
        page.get_by_role("button", name="Resend selected").click()
    assert answer.value.status == 200
    expect(page.locator("#resend-outcome")).to_have_text("Done: 2 messages queued again.")
    expect(second).to_have_count(0)
    expect(third).to_have_count(0)
    assert page.url.endswith("/admin/notifications?status=failed")  # no navigation: htmx

    assert statuses(live_app, failures) == ["sent", "sent", "sent"]
    assert_accessible(page)
    assert not csp_problems


def test_without_a_ticked_row_it_says_what_to_do(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    live_app: Flask,
    failures: list[int],
) -> None:
    page: Page = new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(page, live_server, "admin", "admin-demo-123")
    page.goto(f"{live_server}/admin/notifications?status=failed")
    wait_for_htmx(page)

    with page.expect_response(lambda r: "/admin/notifications/resend" in r.url):
        page.get_by_role("button", name="Resend selected").click()

    expect(page.locator("#resend-outcome")).to_contain_text("Tick at least one failed message")
    assert statuses(live_app, failures) == ["failed", "failed", "failed"]
