"""The queue's periodic tasks (registered with Huey when create_app imports this module)."""

from __future__ import annotations

import logging

from huey import crontab

from webapp.database import utcnow
from webapp.queue.day_close import close_due_days
from webapp.tasks import huey, with_app_context

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*/5"))
@with_app_context
def close_finished_days() -> int:
    """Every 5 minutes: close the service day of each department whose close moment has passed
    (today's, and yesterday's if it was missed). Returns how many rows it changed."""
    closed = close_due_days(utcnow())
    if closed.changed:
        log.info(
            "End of day: %d appointment(s) no-show, %d ticket(s) cancelled, %d completed",
            closed.no_show_appointments,
            closed.cancelled_tickets,
            closed.completed_tickets,
        )
    return closed.changed
