"""Sending a subscription's deliveries: in order, signed, one worker at a time.

A task is queued per *subscription* (after the commit that wrote a delivery, on
a retry, and by the periodic re-queue). The worker takes a row lock on the
subscription (``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL: a busy
subscription is left to the worker that holds it, and writing new deliveries is
not blocked), sends the *oldest* pending delivery, records the outcome and
commits, which releases the lock; then the next one. So:

- order: a delivery is never sent while an older undelivered one of the same
  subscription exists. A failing delivery therefore holds the ones behind it
  until it goes (or an admin pauses and resumes, or deletes the subscription);
- idempotent: only a ``pending`` row is sent, under the lock; a delivered row is
  never sent again (unless an admin asks for a redelivery). A worker that dies
  mid-send rolls back, so the row is sent again later (at least once);
- retries: 30 s, 2 min, 10 min, 30 min, 2 h, then every 6 h; a subscription whose
  oldest undelivered delivery has been failing for 24 h is paused (inactive, with
  the reason): its deliveries stay pending until an admin resumes it.

A task that finds its subscription locked returns at once; the worker holding it
sends what is pending, checking again after each delivery. A delivery committed in
the instant between that worker's last check and its commit waits for the periodic
re-queue (at most a minute). On SQLite (development) there is no row lock: run one
worker there.

Delivery uses its own session, separate from any request's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.database import utcnow
from webapp.extensions import db
from webapp.webhooks.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

RETRY_SCHEDULE = (30, 120, 600, 1800, 7200, 21600)
TIMEOUT_SECONDS = 5
PAUSE_AFTER = timedelta(hours=24)
CLOCK_SLACK = timedelta(seconds=5)
MAX_ERROR_LENGTH = 500
USER_AGENT = "HospitalQueue-Webhooks/1"


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return RETRY_SCHEDULE[min(max(attempts, 1), len(RETRY_SCHEDULE)) - 1]


def signature(secret: str, timestamp: int, body: str) -> str:
    """The ``X-HQ-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def enqueue(subscription_id: int, *, delay: float = 0) -> bool:
    """Queue sending a subscription's deliveries; False (they stay pending, and the periodic
    re-queue finds them) when the broker is down."""
    from webapp.webhooks.tasks import send_webhooks

    try:
        if delay:
            send_webhooks.schedule(args=(subscription_id,), delay=delay)
        else:
            send_webhooks(subscription_id)
    except Exception:
        log.warning(
            "Could not queue webhook %s; its deliveries stay pending and will be re-queued",
            subscription_id,
            exc_info=True,
        )
        return False
    return True


def send_pending(subscription_id: int) -> int:
    """Send the subscription's due deliveries in order; how many were delivered."""
    delivered = 0
    with Session(db.engine, expire_on_commit=False) as session:
        while True:
            outcome = _send_head(session, subscription_id)
            if outcome != "delivered":
                return delivered
            delivered += 1


def _send_head(session: Session, subscription_id: int) -> str:
    """Send the oldest pending delivery: ``delivered``, ``retry``, ``paused``, ``idle``
    (nothing due) or ``busy`` (another worker holds the subscription)."""
    subscription = session.scalar(
        select(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .with_for_update(key_share=True, skip_locked=True)
    )
    if subscription is None:
        session.commit()
        return "busy"
    if not subscription.active:
        session.commit()
        return "idle"
    head = session.scalar(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == "pending",
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
    )
    now = utcnow()
    if head is None or (
        head.next_attempt_at is not None and head.next_attempt_at > now + CLOCK_SLACK
    ):
        session.commit()  # nothing due: a retry is already scheduled for the head
        return "idle"
    status, error = _post(subscription, head)
    head.attempts += 1
    head.response_status = status
    if status is not None and 200 <= status < 300:
        head.status = "delivered"
        head.delivered_at = utcnow()
        head.next_attempt_at = None
        head.last_error = None
        session.commit()
        log.info("Webhook delivery %s (%s) delivered", head.id, head.type)
        return "delivered"
    head.last_error = (error or "")[:MAX_ERROR_LENGTH]
    delay = retry_delay(head.attempts)
    head.next_attempt_at = now + timedelta(seconds=delay)
    if _failing_too_long(head.created_at, now):
        subscription.active = False
        subscription.paused_at = now
        subscription.pause_reason = (
            f"Paused: deliveries have failed for over 24 hours (last error: {head.last_error})"
        )[:300]
        session.commit()
        log.warning("Webhook %s paused: deliveries failing for over 24 h", subscription_id)
        return "paused"
    session.commit()
    log.info("Webhook delivery %s failed (%s); retrying in %d s", head.id, head.last_error, delay)
    enqueue(subscription_id, delay=delay)
    return "retry"


def _failing_too_long(created_at: datetime, now: datetime) -> bool:
    return created_at < now - PAUSE_AFTER


def _post(subscription: WebhookSubscription, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the stored body; the answer's status (None if none) and an error text."""
    timestamp = int(utcnow().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-HQ-Event": delivery.type,
        "X-HQ-Delivery": delivery.event_id,
        "X-HQ-Signature": signature(subscription.secret, timestamp, delivery.body),
    }
    timeout = float(current_app.config.get("WEBHOOK_TIMEOUT", TIMEOUT_SECONDS))
    try:
        response = requests.post(
            subscription.url,
            data=delivery.body.encode("utf-8"),
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.Timeout:
        return None, f"No answer within {timeout:g} s"
    except requests.RequestException as error:
        return None, f"{type(error).__name__}: {error}"
    except Exception as error:  # an unforeseen library error: recorded, retried like the rest
        log.exception("Unexpected error sending webhook delivery %s", delivery.id)
        return None, f"Unexpected error: {type(error).__name__}"
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    if 300 <= response.status_code < 400:
        return response.status_code, (
            f"HTTP {response.status_code}: redirects are not followed "
            f"(Location: {response.headers.get('Location', '-')})"
        )
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def pause_failing_subscriptions() -> list[int]:
    """Pause each active subscription whose oldest undelivered delivery was written over
    24 h ago and has been tried; the ids paused."""
    now = utcnow()
    paused: list[int] = []
    with Session(db.engine, expire_on_commit=False) as session:
        rows = session.execute(
            select(WebhookDelivery.subscription_id, WebhookDelivery.created_at)
            .join(WebhookSubscription)
            .where(
                WebhookSubscription.active.is_(True),
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts > 0,
            )
            .order_by(WebhookDelivery.subscription_id, WebhookDelivery.id)
        ).all()
        oldest: dict[int, datetime] = {}
        for subscription_id, created_at in rows:
            oldest.setdefault(subscription_id, created_at)
        for subscription_id, created_at in oldest.items():
            if not _failing_too_long(created_at, now):
                continue
            subscription = session.get(WebhookSubscription, subscription_id)
            if subscription is None or not subscription.active:
                continue
            subscription.active = False
            subscription.paused_at = now
            subscription.pause_reason = "Paused: deliveries have failed for over 24 hours"
            paused.append(subscription_id)
        session.commit()
    return paused


def subscriptions_with_due_deliveries() -> list[int]:
    """Active subscriptions holding a pending delivery that is due (for the re-queue)."""
    now = utcnow()
    with Session(db.engine) as session:
        return list(
            session.scalars(
                select(WebhookDelivery.subscription_id)
                .join(WebhookSubscription)
                .where(
                    WebhookSubscription.active.is_(True),
                    WebhookDelivery.status == "pending",
                    (WebhookDelivery.next_attempt_at.is_(None))
                    | (WebhookDelivery.next_attempt_at <= now + CLOCK_SLACK),
                )
                .distinct()
            )
        )
