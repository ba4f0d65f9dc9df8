"""A queue event nobody subscribed to builds no payload: the trigger only asks whether
anyone listens (the payload reads the whole queue for the ticket's position)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import DepartmentFactory, PatientFactory, walk_in
from tests.webhooks.helpers import deliveries, subscribe
from webapp.extensions import db
from webapp.webhooks import triggers


@pytest.fixture
def department(app: Any) -> Any:
    department = DepartmentFactory(name="General Medicine", code="GM", opening_hours=None)
    db.session.commit()
    return department


def _count_payloads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    built: list[int] = []
    real = triggers.ticket_data

    def counting(ticket: Any) -> dict[str, Any]:
        built.append(ticket.id)
        return real(ticket)

    monkeypatch.setattr(triggers, "ticket_data", counting)
    return built


def test_an_event_without_subscribers_builds_no_payload(
    department: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _count_payloads(monkeypatch)
    walk_in(department, PatientFactory())
    db.session.commit()
    assert built == [] and deliveries() == []


def test_an_event_with_a_subscriber_builds_its_payload_once(
    department: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe("https://receiver.example.org/hook", ("ticket.checked_in",))
    subscribe("https://other.example.org/hook", ("ticket.checked_in", "ticket.called"))
    db.session.commit()
    built = _count_payloads(monkeypatch)
    ticket = walk_in(department, PatientFactory())
    db.session.commit()
    assert built == [ticket.id]
    assert len(deliveries(type="ticket.checked_in")) == 2
