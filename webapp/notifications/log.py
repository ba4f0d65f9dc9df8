"""The outbox as staff read it: the words for each status and channel, and one page of rows.

The admin page (/admin/notifications) and the patient's page show the same
rows in the same words. Reading only: resending is ``services.resend_notifications``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.notifications.messages import KINDS
from webapp.notifications.models import Notification
from webapp.notifications.services import notifications_query
from webapp.queue.models import Ticket

# How staff see each status named (never by colour alone).
STATUS_LABELS: dict[str, str] = {"pending": "Pending", "sent": "Sent", "failed": "Failed"}
STATUS_HELP = (
    "Pending: on its way, or waiting for a retry. "
    "Failed: given up; resend it once the cause is fixed."
)
# The colours the app's other statuses already use: blue while on its way, green sent, red failed.
STATUS_CLASSES: dict[str, str] = {
    "pending": "status-booked",
    "sent": "status-completed",
    "failed": "status-cancelled",
}
CHANNEL_LABELS: dict[str, str] = {"sms": "SMS", "push": "Web Push"}
KIND_LABELS = KINDS


@dataclass(frozen=True)
class LogFilters:
    """What to list; every filter is optional and they combine. ``day`` is in hospital time."""

    status: str | None = None
    channel: str | None = None
    kind: str | None = None
    day: date | None = None


@dataclass(frozen=True)
class LogPage:
    """One page of the log, with the ticket numbers its rows name."""

    rows: list[Notification]
    total: int
    page: int
    per_page: int
    ticket_numbers: dict[int, str]
    failed_total: int  # every failed row, whatever the filters ("Resend all failed")

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def log_page(filters: LogFilters, *, page: int = 1, per_page: int = 50) -> LogPage:
    """The rows matching the filters, newest first, one page of them.

    Raises ``ValidationFailed`` for an unknown status, channel or kind (the service's check).
    """
    query = notifications_query(
        status=filters.status, channel=filters.channel, kind=filters.kind, day=filters.day
    )
    page, per_page = max(page, 1), max(per_page, 1)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows: list[Notification] = []
    if (page - 1) * per_page < (total or 0):
        rows = list(
            db.session.scalars(
                query.options(selectinload(Notification.patient))
                .offset((page - 1) * per_page)
                .limit(per_page)
                # Resending changes rows with a bulk UPDATE: show what the database holds,
                # not a copy of a row this session loaded before it.
                .execution_options(populate_existing=True)
            )
        )
    return LogPage(
        rows=rows,
        total=total or 0,
        page=page,
        per_page=per_page,
        ticket_numbers=ticket_numbers(rows),
        failed_total=failed_count(),
    )


def ticket_numbers(rows: list[Notification]) -> dict[int, str]:
    """Ticket id → ticket number (e.g. GM-007) for the rows that name a ticket."""
    ids = {row.ticket_id for row in rows if row.ticket_id is not None}
    if not ids:
        return {}
    found = db.session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids)))
    return {ticket_id: number for ticket_id, number in found.tuples()}


def failed_count() -> int:
    """How many rows are failed, on any day."""
    query = select(func.count()).where(Notification.status == "failed")
    return db.session.scalar(query) or 0
