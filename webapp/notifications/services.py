"""Reading the outbox and resending failed messages (the admin page and the API).

Writing rows happens where the events are (``triggers``); sending happens in
``delivery``. What is here is what staff do with the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select, update

from webapp import clock
from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.database import MAX_ID, after_commit, utcnow
from webapp.domain_errors import ValidationFailed
from webapp.extensions import db
from webapp.notifications.messages import KINDS
from webapp.notifications.models import CHANNELS, NOTIFICATION_STATUSES, Notification

# A pending row older than this was not sent when written: the broker was down, or a
# worker died holding it. The periodic task queues it again.
STALE_AFTER = timedelta(minutes=1)
# How many rows one resend may name, and one re-queue pass may take.
MAX_RESEND_IDS = 500
REQUEUE_BATCH = 500


def notifications_query(
    *,
    status: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    day: date | None = None,
    patient_id: int | None = None,
) -> Select[tuple[Notification]]:
    """The log, newest first, filtered by status, channel, kind, day (hospital time) and patient."""
    errors = {}
    if status is not None and status not in NOTIFICATION_STATUSES:
        errors["status"] = f"Use one of: {', '.join(NOTIFICATION_STATUSES)}."
    if channel is not None and channel not in CHANNELS:
        errors["channel"] = f"Use one of: {', '.join(CHANNELS)}."
    if kind is not None and kind not in KINDS:
        errors["kind"] = f"Use one of: {', '.join(KINDS)}."
    if errors:
        raise ValidationFailed(errors)
    query = select(Notification)
    if status is not None:
        query = query.where(Notification.status == status)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    if kind is not None:
        query = query.where(Notification.template_key == kind)
    if day is not None:
        start, end = clock.day_bounds(day)
        query = query.where(Notification.created_at >= start, Notification.created_at < end)
    if patient_id is not None:
        query = query.where(Notification.patient_id == patient_id)
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def patient_notifications(patient_id: int, limit: int = 50) -> list[Notification]:
    """The newest messages to one patient (for the patient's page)."""
    return list(db.session.scalars(notifications_query(patient_id=patient_id).limit(limit)).all())


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    sent: int
    failed: int


def counts_today() -> OutboxCounts:
    """Rows written today (hospital time) by status, for the admin dashboard."""
    start, end = clock.day_bounds(clock.today())
    rows = db.session.execute(
        select(Notification.status, func.count(Notification.id))
        .where(Notification.created_at >= start, Notification.created_at < end)
        .group_by(Notification.status)
    ).all()
    counts = {status: count for status, count in rows}
    return OutboxCounts(
        pending=counts.get("pending", 0), sent=counts.get("sent", 0), failed=counts.get("failed", 0)
    )


def resend_notifications(
    *, actor: User, ids: list[int] | None = None, status: str | None = None
) -> int:
    """Queue failed rows again: those of ``ids``, or every failed row (``status="failed"``).

    Rows already sent are never sent twice, and pending ones are on their way:
    only failed rows are touched. Returns how many were queued. The attempts
    count starts again, so each resend gets the full round of retries.
    """
    if (ids is None) == (status is None):
        raise ValidationFailed({"ids": 'Send the ids to resend, or status "failed" for all.'})
    if status is not None and status != "failed":
        raise ValidationFailed({"status": 'Only failed messages can be resent: use "failed".'})
    if ids is not None:
        if not ids:
            raise ValidationFailed({"ids": "Name at least one message."})
        if len(ids) > MAX_RESEND_IDS:
            raise ValidationFailed({"ids": f"Resend at most {MAX_RESEND_IDS} at a time."})
    condition = Notification.status == "failed"
    if ids is not None:
        condition = condition & Notification.id.in_({i for i in ids if 1 <= i <= MAX_ID})
    rows = db.session.execute(
        select(Notification.id, Notification.channel).where(condition).with_for_update()
    ).all()
    if not rows:
        return 0
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_([row.id for row in rows]), Notification.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=None, claimed_until=None)
        # Rows this session already holds show their new status to the caller.
        .execution_options(synchronize_session="fetch")
    )
    record_audit(
        "notification.resend",
        actor,
        entity_type="notification",
        entity_id=rows[0].id if len(rows) == 1 else None,
        summary=f"Resent {len(rows)} failed message(s)",
        details={"ids": [row.id for row in rows][:50]},
    )
    queued = [(row.id, row.channel) for row in rows]

    def enqueue_all() -> None:
        from webapp.notifications.outbox import enqueue

        for row_id, channel in queued:
            enqueue(row_id, channel)

    after_commit(enqueue_all)
    return len(rows)


def stale_pending_notifications() -> list[tuple[int, str]]:
    """Pending rows nobody is sending whose (first or next) attempt is over a minute overdue."""
    now = utcnow()
    due = func.coalesce(Notification.next_attempt_at, Notification.created_at)
    rows = db.session.execute(
        select(Notification.id, Notification.channel)
        .where(
            Notification.status == "pending",
            due < now - STALE_AFTER,
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .order_by(Notification.id)
        .limit(REQUEUE_BATCH)
    ).all()
    return [(row.id, row.channel) for row in rows]
