"""A ticket's own history: its QueueEvents, oldest first, with who and where by name.

The events are the record of every queue move (the audit page reads the same
rows, see webapp.audit_trail.services.list_audit). A transferred ticket's history
ends with its ``transfer`` event; the follow-up ticket's history starts with a
``check_in`` whose reason names the ticket it came from, and the ticket itself
points back through ``transferred_from``. Each ticket reads its own events only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from webapp.auth.models import User
from webapp.database import get_by_id
from webapp.departments.models import ServicePoint
from webapp.domain_errors import NotFound
from webapp.extensions import db
from webapp.queue.models import QueueEvent, Ticket


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    user_id: int | None
    username: str | None
    service_point_id: int | None
    service_point_name: str | None
    reason: str | None


@dataclass(frozen=True)
class TicketHistory:
    ticket: Ticket
    entries: list[HistoryEntry]
    total: int


def ticket_history(ticket_id: int, *, page: int = 1, per_page: int | None = None) -> TicketHistory:
    """The ticket's events, oldest first; all of them unless ``per_page`` is given.

    Raises :class:`NotFound` for an unknown ticket (any id, however large).
    """
    ticket = get_by_id(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    own = QueueEvent.ticket_id == ticket.id
    total = db.session.scalar(select(func.count()).select_from(QueueEvent).where(own)) or 0
    query = (
        select(QueueEvent, User.username, ServicePoint.name)
        .outerjoin(User, User.id == QueueEvent.user_id)
        .outerjoin(ServicePoint, ServicePoint.id == QueueEvent.service_point_id)
        .where(own)
        .order_by(QueueEvent.created_at, QueueEvent.id)
    )
    if per_page is not None:
        offset = (max(page, 1) - 1) * per_page
        if offset >= total:
            return TicketHistory(ticket=ticket, entries=[], total=total)
        query = query.offset(offset).limit(per_page)
    entries = [
        HistoryEntry(
            id=event.id,
            at=event.created_at,
            action=event.action,
            from_status=event.from_status,
            to_status=event.to_status,
            user_id=event.user_id,
            username=username,
            service_point_id=event.service_point_id,
            service_point_name=point,
            reason=event.reason,
        )
        for event, username, point in db.session.execute(query)
    ]
    return TicketHistory(ticket=ticket, entries=entries, total=total)
