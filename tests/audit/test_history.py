"""A ticket's own history (webapp.queue.history): its QueueEvents, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.audit.conftest import QueueWorld
from webapp.domain_errors import NotFound
from webapp.extensions import db
from webapp.queue import moves
from webapp.queue.history import ticket_history
from webapp.queue.models import Ticket

T0 = datetime(2025, 1, 10, 14, 0, tzinfo=UTC)


@pytest.fixture
def served(queue_world: QueueWorld) -> Ticket:
    ticket = queue_world.check_in(T0)
    queue_world.call(T0 + timedelta(minutes=10))
    return queue_world.move(T0 + timedelta(minutes=12), ticket, "in_service", None)


def test_it_lists_the_tickets_events_oldest_first_with_names(
    queue_world: QueueWorld, served: Ticket
) -> None:
    history = ticket_history(served.id)

    assert history.ticket.id == served.id and history.total == 3
    assert [(e.action, e.from_status, e.to_status) for e in history.entries] == [
        ("check_in", None, "waiting"),
        ("call", "waiting", "called"),
        ("start", "called", "in_service"),
    ]
    check_in, call, _ = history.entries
    assert (check_in.username, check_in.user_id) == ("rita", queue_world.receptionist.id)
    assert (call.username, call.service_point_id) == ("colin", queue_world.room.id)
    assert call.service_point_name == "Room 1"
    assert [e.at for e in history.entries] == [
        T0,
        T0 + timedelta(minutes=10),
        T0 + timedelta(minutes=12),
    ]


def test_it_keeps_the_reason(queue_world: QueueWorld, served: Ticket) -> None:
    queue_world.move(T0 + timedelta(minutes=15), served, "no_show", "Walked out")

    last = ticket_history(served.id).entries[-1]

    assert (last.action, last.reason) == ("no_show", "Walked out")


def test_it_pages_when_asked(served: Ticket) -> None:
    first = ticket_history(served.id, page=1, per_page=2)
    second = ticket_history(served.id, page=2, per_page=2)
    beyond = ticket_history(served.id, page=2**70, per_page=2)

    assert [e.action for e in first.entries] == ["check_in", "call"]
    assert [e.action for e in second.entries] == ["start"]
    assert beyond.entries == [] and beyond.total == 3


def test_it_gives_each_ticket_of_a_transfer_its_own_history(
    queue_world: QueueWorld, served: Ticket
) -> None:
    follow_up = moves.override_ticket(
        served.id, action="transfer", actor=queue_world.clinician, department_id=queue_world.xr.id
    )
    db.session.commit()

    before = ticket_history(served.id).entries
    after = ticket_history(follow_up.id).entries

    assert [e.action for e in before] == ["check_in", "call", "start", "transfer"]
    assert before[-1].to_status == "transferred"
    assert [(e.action, e.reason) for e in after] == [
        ("check_in", f"Transferred from {served.number}")
    ]
    assert follow_up.transferred_from_id == served.id


@pytest.mark.parametrize("ticket_id", [0, -1, 999_999, 2**31, 2**64])
def test_it_refuses_an_unknown_ticket(served: Ticket, ticket_id: int) -> None:
    with pytest.raises(NotFound):
        ticket_history(ticket_id)
