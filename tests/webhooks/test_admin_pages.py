"""/admin/webhooks (webapp/webhooks/views.py): who may open it, add (secret shown once), edit,
pause, resume, rotate, delete, the delivery log with Redeliver; the dashboard's notice."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.factories import DepartmentFactory, walk_in
from tests.webhooks.helpers import deliveries, subscribe
from webapp.audit.models import AuditLog
from webapp.database import utcnow
from webapp.extensions import db
from webapp.webhooks.models import WebhookSubscription

LIST = "/admin/webhooks"
PAGES = [
    ("get", LIST),
    ("post", LIST),
    ("get", f"{LIST}/1"),
    ("post", f"{LIST}/1"),
    ("post", f"{LIST}/1/pause"),
    ("post", f"{LIST}/1/resume"),
    ("post", f"{LIST}/1/rotate-secret"),
    ("post", f"{LIST}/1/delete"),
    ("post", f"{LIST}/1/deliveries/1/redeliver"),
]
FORM = {"url": "https://ehr.example.org/hook", "events": ["ticket.called", "ticket.completed"]}


def body_of(response) -> str:
    return response.get_data(as_text=True)


def secret_in(html: str) -> str:
    found = re.search(r'id="webhook-secret" type="text" readonly value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, method, path):
    response = getattr(client, method)(path, data=FORM)

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician"])
@pytest.mark.parametrize(("method", "path"), PAGES)
def test_other_roles_are_refused(request, persona, method, path):
    client = request.getfixturevalue(persona)

    response = getattr(client, method)(path, data=FORM)

    assert response.status_code == 403
    assert db.session.scalars(select(WebhookSubscription)).all() == []


def test_an_admin_sees_the_list_and_the_form(as_admin):
    html = body_of(as_admin.get(LIST))

    assert "No webhook is registered yet." in html and "Add webhook" in html
    assert 'href="/admin/webhooks"' in html  # in the admin's navigation
    assert "ticket.checked_in" in html and "appointment.cancelled" in html


def test_adding_shows_the_secret_once(as_admin, admin):
    response = as_admin.post(LIST, data={**FORM, "description": "EHR"})
    html = body_of(response)

    assert response.status_code == 200
    secret = secret_in(html)
    subscription = db.session.scalars(select(WebhookSubscription)).one()
    assert subscription.secret == secret and subscription.created_by_id == admin.id
    assert subscription.events == ["ticket.called", "ticket.completed"]
    assert secret not in body_of(as_admin.get(LIST))
    assert secret not in body_of(as_admin.get(f"{LIST}/{subscription.id}"))
    [audit] = db.session.scalars(select(AuditLog).where(AuditLog.action == "webhook.create"))
    assert audit.user_id == admin.id and secret not in audit.summary


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"url": "ftp://x.example.org", "events": ["ticket.called"]}, "http:// or https://"),
        ({"url": "https://x.example.org", "events": []}, "at least one event"),
        ({"url": "", "events": ["ticket.called"]}, "receiver&#39;s http:// or https://"),
    ],
)
def test_it_says_what_is_wrong(as_admin, form, message):
    response = as_admin.post(LIST, data=form)

    assert response.status_code == 422
    assert message in body_of(response)
    assert db.session.scalars(select(WebhookSubscription)).all() == []


def test_edit_pause_resume_rotate_and_delete(as_admin):
    created = subscribe("https://ehr.example.org/hook")
    page = f"{LIST}/{created.subscription.id}"

    answer = as_admin.post(
        page, data={"url": "http://b.example.org/h", "events": ["ticket.called"]}
    )
    assert answer.status_code == 302
    subscription = db.session.get(WebhookSubscription, created.subscription.id)
    db.session.refresh(subscription)
    assert subscription.url == "http://b.example.org/h" and subscription.events == ["ticket.called"]
    assert as_admin.post(page, data={"url": "nope", "events": ["ticket.called"]}).status_code == 422

    as_admin.post(f"{page}/pause")
    db.session.refresh(subscription)
    assert not subscription.active
    assert "Resume" in body_of(as_admin.get(page))
    as_admin.post(f"{page}/resume")
    db.session.refresh(subscription)
    assert subscription.active

    rotated = secret_in(body_of(as_admin.post(f"{page}/rotate-secret")))
    assert rotated != created.secret
    db.session.refresh(subscription)
    assert subscription.secret == rotated

    assert as_admin.post(f"{page}/delete").status_code == 302
    assert db.session.scalars(select(WebhookSubscription)).all() == []
    assert as_admin.get(page).status_code == 404


def test_the_delivery_log_and_redeliver(as_admin, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("teapot", status=418)
    created = subscribe(httpserver.url_for("/hook"))
    walk_in(DepartmentFactory())
    page = f"{LIST}/{created.subscription.id}"

    html = body_of(as_admin.get(page))

    assert "ticket.checked_in" in html and "418" in html and "HTTP 418: teapot" in html
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("", status=200)
    [row] = deliveries()
    assert as_admin.post(f"{page}/deliveries/{row.id}/redeliver").status_code == 302
    [row] = deliveries()
    assert row.status == "delivered"


def test_the_dashboard_says_when_a_webhook_is_paused(as_admin):
    created = subscribe("https://ehr.example.org/hook")
    assert "paused" not in body_of(as_admin.get("/"))

    subscription = db.session.get(WebhookSubscription, created.subscription.id)
    subscription.active = False
    subscription.paused_at = utcnow() - timedelta(minutes=5)
    db.session.commit()

    html = body_of(as_admin.get("/"))
    assert "1 webhook paused" in html
    assert f'href="{LIST}/{created.subscription.id}"' in html
