"""The webhooks' Huey tasks (registered when create_app imports this module)."""

from __future__ import annotations

import logging

from huey import crontab

from webapp.tasks import huey, with_app_context
from webapp.webhooks.delivery import (
    enqueue,
    pause_failing_subscriptions,
    send_pending,
    subscriptions_with_due_deliveries,
)

log = logging.getLogger(__name__)


@huey.task()
@with_app_context
def send_webhooks(subscription_id: int) -> int:
    """Send one subscription's due deliveries, in order."""
    return send_pending(subscription_id)


@huey.periodic_task(crontab(minute="*"))
@with_app_context
def requeue_webhooks() -> int:
    """Every minute: pause subscriptions failing for a day, then queue each subscription that
    has a due pending delivery (its enqueue was lost, e.g. Redis was down, or a worker died).
    A duplicate is harmless: the subscription's lock lets one worker send."""
    paused = pause_failing_subscriptions()
    if paused:
        log.warning("Paused webhook(s) %s: deliveries failing for over 24 h", paused)
    due = subscriptions_with_due_deliveries()
    return sum(enqueue(subscription_id) for subscription_id in due)
