"""/admin/webhooks in a real browser: an admin adds a receiver, copies the secret shown once,
sees a signed delivery in the log when a patient checks in, rotates the secret, deletes it."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.e2e.accessibility import assert_accessible
from tests.e2e.pages import sign_in
from tests.e2e.test_display import _finish
from tests.factories import walk_in
from tests.webhooks.helpers import verify
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.webhooks.models import WebhookSubscription


def test_an_admin_registers_a_receiver_and_sees_its_deliveries(
    page: Page, live_server: str, live_app: Flask, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/e2e-hook").respond_with_data("", status=204)
    address = httpserver.url_for("/e2e-hook")
    sign_in(page, live_server, "admin", "admin-demo-123")

    page.goto(f"{live_server}/admin/webhooks")
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Receiver address").fill(address)
    page.get_by_label("ticket.checked_in").check()
    page.get_by_label("Description").fill("E2E receiver")
    page.get_by_role("button", name="Add webhook").click()
    secret_box = page.get_by_role("textbox", name="Secret", exact=True)
    expect(secret_box).to_be_visible()
    assert_accessible(page)
    secret = secret_box.input_value()
    assert secret.startswith("whsec_")

    with live_app.app_context():
        department = db.session.scalars(
            select(Department).where(Department.accepts_walk_ins.is_(True)).order_by(Department.id)
        ).first()
        assert department is not None
        ticket = walk_in(department)
        ticket_id, number = ticket.id, ticket.number
        _finish([ticket_id])  # leave the shared live server's queue as it was
        db.session.remove()

    page.goto(f"{live_server}/admin/webhooks")
    page.get_by_role("link", name=address).click()
    expect(page.get_by_role("cell", name=re.compile("ticket.checked_in"))).to_be_visible()
    expect(page.get_by_text(secret)).to_have_count(0)  # never shown again
    assert_accessible(page)
    [(request, _response)] = httpserver.log
    payload = verify(request, secret)
    assert payload["type"] == "ticket.checked_in" and payload["data"]["number"] == number
    assert payload["data"]["id"] == ticket_id

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("textbox", name="Secret", exact=True)).to_be_visible()
    assert page.get_by_role("textbox", name="Secret", exact=True).input_value() not in ("", secret)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Webhook deleted.")).to_be_visible()
    with live_app.app_context():
        assert db.session.scalars(select(WebhookSubscription)).all() == []
        db.session.remove()
