"""The merged audit read and a ticket's history on PostgreSQL (UNION ALL, paging, bounds)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import API, auth_header, token_pair
from tests.audit.conftest import PHI, QueueWorld, make_queue_world
from tests.factories import UserFactory
from webapp.audit.services import record_audit
from webapp.audit_trail.services import AuditFilters, list_audit
from webapp.extensions import db
from webapp.queue.history import ticket_history
from webapp.queue.models import Ticket

pytestmark = pytest.mark.postgres

T0 = datetime(2025, 1, 10, 14, 0, tzinfo=UTC)


@pytest.fixture
def world(pg_app: Flask) -> Iterator[QueueWorld]:
    pg_app.config["HOSPITAL_TIMEZONE"] = "America/New_York"
    receptionist = UserFactory(username="rita", role="receptionist")
    clinician = UserFactory(username="colin", role="clinician")
    db.session.commit()
    yield make_queue_world(receptionist, clinician)


@pytest.fixture
def ticket(world: QueueWorld) -> Ticket:
    ticket = world.check_in(T0)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        record_audit("department.update", None, entity_type="department", entity_id=world.gm.id)
        db.session.commit()
    world.call(T0 + timedelta(minutes=10))
    return world.move(T0 + timedelta(minutes=20), ticket, "no_show", "Left")


def test_it_merges_filters_and_pages_on_postgresql(world: QueueWorld, ticket: Ticket) -> None:
    everything = list_audit()
    pages = [list_audit(page=n, per_page=3) for n in (1, 2)]

    assert [e.action for e in everything.entries] == [
        "queue.no_show",
        "queue.call",
        "department.update",
        "queue.check_in",
    ]
    assert [e for page in pages for e in page.entries] == everything.entries
    no_show = everything.entries[0]
    assert no_show.username == "colin" and no_show.entity_id == ticket.id
    assert no_show.summary.endswith("called → no_show at Room 1. Reason: Left")
    assert not any(f in e.summary for e in everything.entries for f in PHI)
    only_moves = AuditFilters(entity_type="ticket", user_id=world.clinician.id)
    assert [e.action for e in list_audit(only_moves).entries] == ["queue.no_show", "queue.call"]
    on_the_day = AuditFilters(date_from=date(2025, 1, 10), date_to=date(2025, 1, 10))
    assert list_audit(on_the_day).total == 4


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (AuditFilters(date_from=date.min, date_to=date.max), 4),
        (AuditFilters(date_from=date(9999, 12, 31)), 0),
        (AuditFilters(date_to=date(1, 1, 1)), 0),
        (AuditFilters(user_id=2**70), 0),
        (AuditFilters(entity_id=2**31), 0),
    ],
)
def test_it_answers_extreme_filters_on_postgresql(
    ticket: Ticket, filters: AuditFilters, expected: int
) -> None:
    assert list_audit(filters).total == expected
    assert list_audit(filters, page=2**70).entries == []


def test_it_reads_a_tickets_history_on_postgresql(ticket: Ticket) -> None:
    history = ticket_history(ticket.id)

    assert [e.action for e in history.entries] == ["check_in", "call", "no_show"]
    assert history.entries[1].service_point_name == "Room 1"


def test_it_serves_both_endpoints_on_postgresql(pg_app: Flask, ticket: Ticket) -> None:
    client: FlaskClient = pg_app.test_client()
    admin = UserFactory(username="pg-admin", role="admin")
    db.session.commit()
    headers = auth_header(token_pair(client, admin)["access_token"])

    audit = client.get(f"{API}/audit", query_string={"entity_type": "ticket"}, headers=headers)
    history = client.get(f"{API}/queue/{ticket.id}/history", headers=headers)
    unknown = client.get(f"{API}/queue/{2**63}/history", headers=headers)
    far = client.get(f"{API}/audit", query_string={"to": "9999-12-31"}, headers=headers)

    assert audit.status_code == 200 and audit.get_json()["total"] == 3
    assert [i["action"] for i in history.get_json()["items"]] == ["check_in", "call", "no_show"]
    assert unknown.status_code == 404
    assert far.status_code == 200 and far.get_json()["total"] == 5  # with the API sign-in
