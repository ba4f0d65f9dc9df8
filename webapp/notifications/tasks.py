"""The notifications' Huey tasks (registered when create_app imports this module).

``send_sms`` and ``send_push`` each send one outbox row (the work is in
``webapp.notifications.delivery``; retries are scheduled there, with the
back-off the settings give, not by Huey's fixed-delay retries). Two periodic
tasks make sure nothing is lost: rows left pending re-queued every minute, and
the day-before appointment reminders.
"""

from __future__ import annotations

import logging

from huey import crontab

from webapp.extensions import db
from webapp.notifications.delivery import deliver
from webapp.notifications.reminders import send_due_reminders
from webapp.notifications.services import stale_pending_notifications
from webapp.tasks import huey, with_app_context

log = logging.getLogger(__name__)


@huey.task()
@with_app_context
def send_sms(notification_id: int) -> str:
    """Send one SMS row of the outbox."""
    return deliver(notification_id)


@huey.task()
@with_app_context
def send_push(notification_id: int) -> str:
    """Send one Web Push row of the outbox."""
    return deliver(notification_id)


@huey.periodic_task(crontab(minute="*"))
@with_app_context
def requeue_stale_notifications() -> int:
    """Every minute: queue again each row pending for over a minute (the broker was down when
    it was written, or a worker died holding it). Returns how many were queued."""
    from webapp.notifications.outbox import enqueue

    stale = stale_pending_notifications()
    # End this read before sending: delivery uses its own connection (and, in tests, runs
    # inline), and SQLite lets only one transaction write at a time.
    db.session.commit()
    queued = sum(enqueue(row_id, channel) for row_id, channel in stale)
    if stale:
        log.info("Re-queued %d of %d pending notification(s)", queued, len(stale))
    return queued


@huey.periodic_task(crontab(minute="*/10"))
@with_app_context
def send_appointment_reminders() -> int:
    """Every 10 minutes: the day-before reminders that are due (each goes once)."""
    written = send_due_reminders()
    if written:
        log.info("Wrote %d appointment reminder(s)", written)
    return written
