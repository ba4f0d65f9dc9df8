"""The reports' periodic task (registered when create_app imports this module)."""

from __future__ import annotations

import logging
from datetime import timedelta

from huey import crontab

from webapp import clock
from webapp.reports.services import store_day_metrics
from webapp.tasks import huey, with_app_context

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*/15"))
@with_app_context
def aggregate_metrics() -> int:
    """Every 15 minutes: store today's figures so far, and yesterday's again, so the first
    run after midnight is yesterday's final pass (visits that ended late are counted)."""
    today = clock.today()
    written = store_day_metrics(today - timedelta(days=1), today)
    log.info("Stored %d daily metric row(s)", written)
    return written
