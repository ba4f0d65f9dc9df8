"""Queue moves in the audit trail: read from the QueueEvents, merged with the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
import time_machine
from sqlalchemy import func, select

from tests.audit.conftest import PHI, QueueWorld
from webapp.audit.models import AuditLog
from webapp.audit.services import record_audit
from webapp.audit_trail.services import AuditFilters, AuditPage, list_audit
from webapp.extensions import db
from webapp.queue.models import QueueEvent, Ticket

T0 = datetime(2025, 1, 10, 14, 0, tzinfo=UTC)  # 09:00 on 10 January in New York


def _record_at(moment: datetime, action: str, summary: str) -> None:
    with time_machine.travel(moment, tick=False):
        record_audit(action, None, entity_type="user", entity_id=1, summary=summary)
        db.session.commit()


@pytest.fixture
def moved(queue_world: QueueWorld) -> Ticket:
    """Checked in at 09:00, a settings change at 09:05, called at 09:10, no-show at 09:20."""
    ticket = queue_world.check_in(T0)
    _record_at(T0 + timedelta(minutes=5), "department.update", "settings changed")
    queue_world.call(T0 + timedelta(minutes=10))
    return queue_world.move(T0 + timedelta(minutes=20), ticket, "no_show", "Left the building")


def _actions(page: AuditPage) -> list[str]:
    return [entry.action for entry in page.entries]


def test_it_lists_queue_moves_among_the_audit_rows_newest_first(moved: Ticket) -> None:
    page = list_audit()

    assert _actions(page) == ["queue.no_show", "queue.call", "department.update", "queue.check_in"]
    assert page.total == 4
    assert [entry.at for entry in page.entries] == sorted(
        (entry.at for entry in page.entries), reverse=True
    )


def test_it_names_the_actor_the_ticket_the_statuses_and_the_reason(
    queue_world: QueueWorld, moved: Ticket
) -> None:
    no_show, call, _, check_in = list_audit().entries

    assert (no_show.entity_type, no_show.entity_id) == ("ticket", moved.id)
    assert (no_show.user_id, no_show.username) == (queue_world.clinician.id, "colin")
    assert no_show.at == T0 + timedelta(minutes=20)
    assert no_show.summary == (
        f"Ticket {moved.number}: called → no_show at Room 1. Reason: Left the building"
    )
    assert call.summary == f"Ticket {moved.number}: waiting → called at Room 1"
    assert check_in.summary == f"Ticket {moved.number}: new → waiting"
    assert check_in.username == "rita"
    assert no_show.ip is None


def test_it_keeps_one_record_of_each_move_the_queue_event(moved: Ticket) -> None:
    queue_rows = db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action.like("queue.%"))
    )
    events = db.session.scalar(select(func.count()).select_from(QueueEvent))

    assert queue_rows == 0
    assert events == 3
    assert len([e for e in list_audit().entries if e.action.startswith("queue.")]) == events


def test_it_never_puts_a_patient_in_a_summary(moved: Ticket) -> None:
    for entry in list_audit().entries:
        for fragment in PHI:
            assert fragment not in entry.summary


def test_it_gives_every_entry_an_id_unique_across_both_tables(
    queue_world: QueueWorld, moved: Ticket
) -> None:
    # Make the two tables' own ids collide: audit row 1 and queue event 1 both exist.
    ids = [entry.id for entry in list_audit().entries]

    assert len(ids) == len(set(ids))
    assert {"audit-1", "queue-1"} <= set(ids)
    assert all(i.startswith(("audit-", "queue-")) for i in ids)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"action": "queue.no_show"}, ["queue.no_show"]),
        ({"action": "queue.call"}, ["queue.call"]),
        ({"action": "department.update"}, ["department.update"]),
        ({"action": "queue.nonsense"}, []),
        ({"action": "call"}, []),
        ({"entity_type": "ticket"}, ["queue.no_show", "queue.call", "queue.check_in"]),
        ({"entity_type": "user"}, ["department.update"]),
        ({"entity_type": "ticket", "action": "queue.check_in"}, ["queue.check_in"]),
        ({"entity_type": "user", "action": "queue.call"}, []),
        ({"date_from": date(2025, 1, 11)}, []),
        ({"date_to": date(2025, 1, 9)}, []),
        ({"date_from": date(2025, 1, 10), "date_to": date(2025, 1, 10)}, None),
    ],
)
def test_it_filters_queue_moves_and_audit_rows_alike(
    moved: Ticket, filters: dict[str, object], expected: list[str] | None
) -> None:
    everything = _actions(list_audit())

    listed = _actions(list_audit(AuditFilters(**filters)))  # type: ignore[arg-type]

    assert listed == (everything if expected is None else expected)


def test_it_filters_by_the_ticket(queue_world: QueueWorld, moved: Ticket) -> None:
    other = queue_world.check_in(T0 + timedelta(minutes=30))  # the same patient, a new ticket

    by_ticket = list_audit(AuditFilters(entity_type="ticket", entity_id=moved.id))
    other_ticket = list_audit(AuditFilters(entity_type="ticket", entity_id=other.id))

    assert _actions(by_ticket) == ["queue.no_show", "queue.call", "queue.check_in"]
    assert _actions(other_ticket) == ["queue.check_in"]


def test_it_filters_queue_moves_by_their_actor(queue_world: QueueWorld, moved: Ticket) -> None:
    by_clinician = list_audit(AuditFilters(user_id=queue_world.clinician.id))
    by_receptionist = list_audit(AuditFilters(user_id=queue_world.receptionist.id))

    assert _actions(by_clinician) == ["queue.no_show", "queue.call"]
    assert _actions(by_receptionist) == ["queue.check_in"]


def test_it_pages_the_merged_list_without_gaps_or_repeats(queue_world: QueueWorld) -> None:
    # Audit rows and queue events interleaved, some at the very same moment.
    for minute in range(0, 12, 2):
        _record_at(T0 + timedelta(minutes=minute), "user.update", f"row {minute}")
    ticket = queue_world.check_in(T0 + timedelta(minutes=2))
    for minute in (4, 5, 7):
        ticket = queue_world.call(T0 + timedelta(minutes=minute))
        ticket = queue_world.move(T0 + timedelta(minutes=minute), ticket, "waiting", "not ready")
    everything = list_audit(per_page=200).entries

    pages = [list_audit(page=number, per_page=4) for number in range(1, 5)]

    assert pages[0].total == len(everything) == 13
    assert [entry for page in pages for entry in page.entries] == everything
    assert [len(page.entries) for page in pages] == [4, 4, 4, 1]
    assert all(a.at >= b.at for a, b in pairwise(everything))
