"""/api/v1/webhooks: admins manage subscriptions; secrets only on create and rotate."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.api.conftest import API, detail_fields
from tests.factories import DepartmentFactory, walk_in
from tests.webhooks.helpers import verify
from webapp.api.schemas.webhooks import EventType
from webapp.audit.models import AuditLog
from webapp.extensions import db
from webapp.webhooks.events import EVENT_TYPES
from webapp.webhooks.models import WebhookDelivery, WebhookSubscription

HOOKS = f"{API}/webhooks"
URL = "https://ehr.example.org/hooks/queue"


def create(client: Any, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"url": URL, "events": ["ticket.called"], **fields}
    answer = client.post(HOOKS, json=body, headers=headers)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    created: dict[str, Any] = answer.get_json()
    return created


def test_the_schema_names_every_event_type() -> None:
    assert set(get_args(EventType)) == set(EVENT_TYPES)


def test_an_admin_registers_a_webhook_and_sees_its_secret_only_then(client, ada) -> None:
    created = create(client, ada, events=["ticket.completed", "ticket.called"], description="EHR")

    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["ticket.called", "ticket.completed"]
    assert created["active"] is True and created["description"] == "EHR"
    listed = client.get(HOOKS, headers=ada)
    assert listed.status_code == 200
    assert listed.get_json() == [{k: v for k, v in created.items() if k != "secret"}]
    assert created["secret"] not in listed.get_data(as_text=True)
    patched = client.patch(f"{HOOKS}/{created['id']}", json={"active": False}, headers=ada)
    assert "secret" not in patched.get_json()
    entries = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "webhook")).all()
    assert [entry.action for entry in entries] == ["webhook.create", "webhook.update"]
    for entry in entries:
        assert created["secret"] not in json.dumps(entry.details) + entry.summary


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": URL, "events": ["ticket.teleported"]}, "events"),
        ({"url": URL, "events": []}, "events"),
        ({"url": "ftp://ehr.example.org/x", "events": ["ticket.called"]}, "url"),
        ({"url": "javascript:alert(1)", "events": ["ticket.called"]}, "url"),
        ({"url": "https://", "events": ["ticket.called"]}, "url"),
        ({"url": "https://[::1/hook", "events": ["ticket.called"]}, "url"),
        ({"url": "https://a.example.org:port/", "events": ["ticket.called"]}, "url"),
        ({"url": "https://a.example.org/\u0006x", "events": ["ticket.called"]}, "url"),
        ({"url": "https://a.example.org/a b", "events": ["ticket.called"]}, "url"),
        ({"url": URL, "events": ["ticket.called"], "description": "a\u0007b"}, "description"),
        ({"url": URL, "events": ["ticket.called"], "description": "x" * 201}, "description"),
    ],
)
def test_it_refuses_an_unknown_event_or_a_url_that_is_not_http(client, ada, body, field) -> None:
    answer = client.post(HOOKS, json=body, headers=ada)

    assert answer.status_code == 422
    assert field in detail_fields(answer)
    assert db.session.scalars(select(WebhookSubscription)).all() == []


def test_it_edits_pauses_resumes_and_deletes(client, ada) -> None:
    created = create(client, ada)
    path = f"{HOOKS}/{created['id']}"

    answer = client.patch(
        path,
        json={"url": "http://other.example.org/h", "events": ["appointment.booked"]},
        headers=ada,
    )
    assert answer.status_code == 200
    assert answer.get_json()["url"] == "http://other.example.org/h"
    assert answer.get_json()["events"] == ["appointment.booked"]
    assert client.patch(path, json={"events": ["nope"]}, headers=ada).status_code == 422
    assert client.patch(path, json={"active": False}, headers=ada).get_json()["active"] is False
    assert client.patch(path, json={"active": True}, headers=ada).get_json()["active"] is True

    assert client.delete(path, headers=ada).status_code == 204
    assert client.get(HOOKS, headers=ada).get_json() == []
    assert client.delete(path, headers=ada).status_code == 404
    assert client.patch(path, json={"active": True}, headers=ada).status_code == 404


def test_rotating_gives_a_new_secret_that_signs_from_then_on(
    client, ada, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    created = create(client, ada, url=httpserver.url_for("/hook"), events=["ticket.checked_in"])

    answer = client.post(f"{HOOKS}/{created['id']}/rotate-secret", headers=ada)

    assert answer.status_code == 200
    rotated = answer.get_json()["secret"]
    assert rotated != created["secret"] and rotated.startswith("whsec_")
    walk_in(DepartmentFactory())
    [(request, _response)] = httpserver.log
    verify(request, rotated)
    with pytest.raises(AssertionError):
        verify(request, created["secret"])
    assert rotated not in client.get(HOOKS, headers=ada).get_data(as_text=True)
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.entity_type == "webhook"))
    assert "webhook.rotate_secret" in list(actions)


def test_the_delivery_log_and_a_redelivery(client, ada, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("nope", status=500)
    created = create(client, ada, url=httpserver.url_for("/hook"), events=["ticket.checked_in"])
    walk_in(DepartmentFactory())

    log = client.get(f"{HOOKS}/{created['id']}/deliveries", headers=ada)

    assert log.status_code == 200
    [entry] = log.get_json()
    assert entry["type"] == "ticket.checked_in" and entry["status"] == "pending"
    assert entry["attempts"] == 1 and entry["response_status"] == 500
    assert "HTTP 500" in entry["last_error"]
    assert set(entry) >= {
        "id", "event_id", "type", "status", "attempts", "response_status", "last_error",
        "created_at", "delivered_at",
    }  # fmt: skip

    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("", status=200)
    again = client.post(f"{HOOKS}/{created['id']}/deliveries/{entry['id']}/redeliver", headers=ada)
    assert again.status_code == 202
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, entry["id"])
    assert delivery is not None and delivery.status == "delivered"
    assert (
        client.post(f"{HOOKS}/{created['id']}/deliveries/999/redeliver", headers=ada).status_code
        == 404
    )
    assert client.get(f"{HOOKS}/999/deliveries", headers=ada).status_code == 404


OPERATIONS = [
    ("post", HOOKS, {"url": URL, "events": ["ticket.called"]}),
    ("get", HOOKS, None),
    ("patch", f"{HOOKS}/1", {"active": False}),
    ("delete", f"{HOOKS}/1", None),
    ("get", f"{HOOKS}/1/deliveries", None),
    ("post", f"{HOOKS}/1/deliveries/1/redeliver", None),
    ("post", f"{HOOKS}/1/rotate-secret", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_only_admins_may_use_it(client, rita, colin, method, path, body) -> None:
    call = getattr(client, method)
    assert call(path, json=body).status_code == 401
    assert call(path, json=body, headers=rita).status_code == 403
    assert call(path, json=body, headers=colin).status_code == 403


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS[2:])
def test_an_admin_gets_404_for_an_unknown_webhook(client, ada, method, path, body) -> None:
    assert getattr(client, method)(path, json=body, headers=ada).status_code == 404
