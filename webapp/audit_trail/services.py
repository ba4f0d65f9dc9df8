"""The audit trail as people read it: the audit log and the queue's moves, as one list.

Queue moves are not written to the audit log: each one already writes a
:class:`~webapp.queue.models.QueueEvent` (its actor, statuses and reason), and
that row is the record. :func:`list_audit` reads both tables as one list, so
there is one writer per fact and one place to read them all (docs/audit.md).
This package reads every domain's tables; no domain imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, select, union_all

from webapp import clock
from webapp.audit.models import AuditLog
from webapp.audit.services import SUMMARY_LENGTH
from webapp.auth.models import User
from webapp.database import MAX_ID
from webapp.departments.models import ServicePoint
from webapp.extensions import db
from webapp.queue.models import QUEUE_ACTIONS, QueueEvent, Ticket

# A queue event's action in the audit list is its QueueEvent action under this prefix
# ("queue.call", "queue.no_show"), about entity "ticket" with the ticket's id.
QUEUE_ACTION_PREFIX = "queue."
TICKET_ENTITY = "ticket"
# Ids in the merged list name their table, so they are unique across both.
AUDIT_ID_PREFIX = "audit-"
QUEUE_ID_PREFIX = "queue-"
# The outermost days whose bounds exist as UTC datetimes from any time zone; a
# filter date beyond them bounds nothing (or matches nothing), never overflows.
EARLIEST_DAY = date.min + timedelta(days=1)
LATEST_DAY = date.max - timedelta(days=1)


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit trail, from either table."""

    id: str
    at: datetime
    user_id: int | None
    username: str | None
    action: str
    entity_type: str | None
    entity_id: int | None
    summary: str
    ip: str | None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class AuditFilters:
    """What to list; every filter is optional and they combine with AND.

    Dates are whole days in HOSPITAL_TIMEZONE, both inclusive. ``entity_id``
    without ``entity_type`` matches that id of any type.
    """

    action: str | None = None
    user_id: int | None = None
    entity_type: str | None = None
    entity_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def queue_event_summary(
    number: str, from_status: str | None, to_status: str, point: str | None, reason: str | None
) -> str:
    """The audit line of a queue move: ticket number, statuses, room and reason.

    Built only from the event and its ticket's number, never from the patient.
    """
    text = f"Ticket {number}: {from_status or 'new'} → {to_status}"
    if point:
        text += f" at {point}"
    if reason:
        text += f". Reason: {reason}"
    return text[:SUMMARY_LENGTH]


class _Branch:
    """One table's side of the UNION ALL: its rows matching the filters."""

    def __init__(self, kind: str, table: Any, conditions: list[ColumnElement[bool]] | None):
        self.kind = kind
        self.table = table
        self.conditions = conditions  # None: this table cannot match the filters

    def count(self) -> int:
        if self.conditions is None:
            return 0
        query = select(func.count()).select_from(self.table).where(and_(True, *self.conditions))
        return db.session.scalar(query) or 0

    def newest(self, limit: int) -> Select[Any]:
        """(kind, row id, time) of this table's newest ``limit`` matching rows."""
        inner = (
            select(
                literal(self.kind).label("kind"),
                self.table.id.label("row_id"),
                self.table.created_at.label("at"),
            )
            .where(and_(True, *(self.conditions or [])))
            .order_by(self.table.created_at.desc(), self.table.id.desc())
            .limit(limit)
            .subquery()
        )
        return select(inner.c.kind, inner.c.row_id, inner.c.at)


Window = tuple[datetime | None, datetime | None]


def _bounds(filters: AuditFilters) -> Window | None:
    """The UTC window of the date filters; None when no moment can match them."""
    start = end = None
    if filters.date_from is not None and filters.date_from >= EARLIEST_DAY:
        if filters.date_from > LATEST_DAY:
            return None
        start = clock.day_bounds(filters.date_from)[0].astimezone(UTC)
    if filters.date_to is not None and filters.date_to <= LATEST_DAY:
        if filters.date_to < EARLIEST_DAY:
            return None
        end = clock.day_bounds(filters.date_to)[1].astimezone(UTC)
    return start, end


def _in_range(value: int | None) -> bool:
    return value is None or 1 <= value <= MAX_ID


def _branches(filters: AuditFilters) -> list[_Branch] | None:
    """Both tables' conditions, or None when nothing at all can match."""
    window = _bounds(filters)
    if window is None or not (_in_range(filters.user_id) and _in_range(filters.entity_id)):
        return None
    return [
        _Branch("audit", AuditLog, _logged(filters, window)),
        _Branch("queue", QueueEvent, _moves(filters, window)),
    ]


def _common(table: Any, filters: AuditFilters, window: Window) -> list[ColumnElement[bool]]:
    """The conditions both tables share: who, and when."""
    start, end = window
    conditions: list[ColumnElement[bool]] = []
    if filters.user_id is not None:
        conditions.append(table.user_id == filters.user_id)
    if start is not None:
        conditions.append(table.created_at >= start)
    if end is not None:
        conditions.append(table.created_at < end)
    return conditions


def _logged(filters: AuditFilters, window: Window) -> list[ColumnElement[bool]]:
    conditions = _common(AuditLog, filters, window)
    if filters.action:
        conditions.append(AuditLog.action == filters.action)
    if filters.entity_type:
        conditions.append(AuditLog.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        conditions.append(AuditLog.entity_id == filters.entity_id)
    return conditions


def _moves(filters: AuditFilters, window: Window) -> list[ColumnElement[bool]] | None:
    """The queue events' conditions; None when the filters name something else."""
    queue_action = _queue_action(filters.action)
    if filters.action and queue_action is None:
        return None  # an action that is no queue move
    if filters.entity_type and filters.entity_type != TICKET_ENTITY:
        return None
    conditions = _common(QueueEvent, filters, window)
    if queue_action is not None:
        conditions.append(QueueEvent.action == queue_action)
    if filters.entity_id is not None:
        conditions.append(QueueEvent.ticket_id == filters.entity_id)
    return conditions


def _queue_action(action: str | None) -> str | None:
    """``queue.call`` → ``call``; None for anything that is not a queue move."""
    if not action or not action.startswith(QUEUE_ACTION_PREFIX):
        return None
    name = action.removeprefix(QUEUE_ACTION_PREFIX)
    return name if name in QUEUE_ACTIONS else None


def list_audit(
    filters: AuditFilters | None = None, *, page: int = 1, per_page: int = 50
) -> AuditPage:
    """The audit log and the queue's events as one list, newest first, one page of it.

    Counting and paging happen in SQL: each table gives its newest
    ``page * per_page`` matching rows, a UNION ALL of those is ordered and cut to
    the page, and only that page's rows are then loaded. A page past the end is
    empty (and never reaches the database, however large its number).
    """
    filters = filters or AuditFilters()
    page, per_page = max(page, 1), max(per_page, 1)
    branches = _branches(filters)
    if branches is None:
        return AuditPage(entries=[], total=0, page=page, per_page=per_page)
    total = sum(branch.count() for branch in branches)
    offset = (page - 1) * per_page
    if offset >= total:
        return AuditPage(entries=[], total=total, page=page, per_page=per_page)
    merged = union_all(
        *(branch.newest(offset + per_page) for branch in branches if branch.conditions is not None)
    ).subquery()
    keys = db.session.execute(
        select(merged.c.kind, merged.c.row_id)
        .order_by(merged.c.at.desc(), merged.c.kind, merged.c.row_id.desc())
        .offset(offset)
        .limit(per_page)
    ).all()
    loaded = _load_entries(
        [row_id for kind, row_id in keys if kind == "audit"],
        [row_id for kind, row_id in keys if kind == "queue"],
    )
    entries = [loaded[(kind, row_id)] for kind, row_id in keys]
    return AuditPage(entries=entries, total=total, page=page, per_page=per_page)


def _load_entries(audit_ids: list[int], event_ids: list[int]) -> dict[tuple[str, int], AuditEntry]:
    entries: dict[tuple[str, int], AuditEntry] = {}
    if audit_ids:
        for row, username in db.session.execute(
            select(AuditLog, User.username)
            .outerjoin(User, User.id == AuditLog.user_id)
            .where(AuditLog.id.in_(audit_ids))
        ):
            entries[("audit", row.id)] = AuditEntry(
                id=f"{AUDIT_ID_PREFIX}{row.id}",
                at=row.created_at,
                user_id=row.user_id,
                username=username,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                summary=row.summary,
                ip=row.ip_address,
            )
    if event_ids:
        for event, number, point, username in db.session.execute(
            select(QueueEvent, Ticket.number, ServicePoint.name, User.username)
            .join(Ticket, Ticket.id == QueueEvent.ticket_id)
            .outerjoin(ServicePoint, ServicePoint.id == QueueEvent.service_point_id)
            .outerjoin(User, User.id == QueueEvent.user_id)
            .where(QueueEvent.id.in_(event_ids))
        ):
            entries[("queue", event.id)] = AuditEntry(
                id=f"{QUEUE_ID_PREFIX}{event.id}",
                at=event.created_at,
                user_id=event.user_id,
                username=username,
                action=f"{QUEUE_ACTION_PREFIX}{event.action}",
                entity_type=TICKET_ENTITY,
                entity_id=event.ticket_id,
                summary=queue_event_summary(
                    number, event.from_status, event.to_status, point, event.reason
                ),
                ip=None,
            )
    return entries


def audit_actions() -> list[str]:
    """Every action a filter can name: those in the log, and every queue move."""
    logged = set(db.session.scalars(select(AuditLog.action).distinct()))
    return sorted(logged | {f"{QUEUE_ACTION_PREFIX}{action}" for action in QUEUE_ACTIONS})


def audit_entity_types() -> list[str]:
    """Every entity type a filter can name: those in the log, and tickets."""
    logged = {
        kind
        for kind in db.session.scalars(select(AuditLog.entity_type).distinct())
        if kind is not None
    }
    return sorted(logged | {TICKET_ENTITY})
