"""Writing the outbox: a row per message, in the caller's transaction, sent after its commit.

Nothing here talks to a provider. A row is flushed with the change that causes
it; once the transaction commits, its id is handed to the task queue. If the
queue (Redis) is down at that moment the row simply stays ``pending``, and the
periodic re-queue (``webapp.notifications.tasks``) picks it up a minute later.
"""

from __future__ import annotations

import logging

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.database import after_commit, utcnow
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.patients.models import Patient

log = logging.getLogger(__name__)


def can_text(patient: Patient) -> bool:
    """SMS go only to patients who said yes to them and have a phone number."""
    return bool(patient.sms_opt_in and patient.phone)


def write_notification(
    *,
    patient_id: int,
    channel: str,
    kind: str,
    body: str,
    ticket_id: int | None = None,
    appointment_id: int | None = None,
    push_subscription_id: int | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Add one pending message to the current transaction; its id, or None if a row with
    ``dedupe_key`` already exists (the database decides, so two workers cannot both add it)."""
    values = {
        "patient_id": patient_id,
        "ticket_id": ticket_id,
        "appointment_id": appointment_id,
        "push_subscription_id": push_subscription_id,
        "channel": channel,
        "template_key": kind,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
    }
    if dedupe_key is None:
        notification = Notification(**values)
        db.session.add(notification)
        db.session.flush()
        notification_id = notification.id
    else:
        insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else None
        statement = (insert or sqlite_insert)(Notification).values(**values)
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
        inserted: int | None = db.session.scalar(statement.returning(Notification.id))
        if inserted is None:
            return None
        notification_id = inserted
    _send_after_commit(notification_id, channel)
    return notification_id


def _send_after_commit(notification_id: int, channel: str) -> None:
    after_commit(lambda: enqueue(notification_id, channel))


def enqueue(notification_id: int, channel: str, *, delay: float = 0) -> bool:
    """Hand a row to the task queue; False (the row stays pending) when the broker is down."""
    from webapp.notifications.tasks import send_push, send_sms

    task = send_sms if channel == "sms" else send_push
    try:
        if delay:
            # Also in the tests' immediate mode a delayed task waits (for a test to run it).
            task.schedule(args=(notification_id,), delay=delay)
        else:
            task(notification_id)
    except Exception:  # the broker is unreachable: the periodic re-queue sends it later
        log.warning(
            "Could not queue notification %s; it stays pending and will be re-queued",
            notification_id,
            exc_info=True,
        )
        return False
    return True
