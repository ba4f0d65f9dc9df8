"""Sending one outbox row: claim it, send it, record what happened.

Sending is idempotent per row. A worker first *claims* the row with one
conditional UPDATE (``pending``, not claimed by anyone else, its retry due) and
commits; only the worker whose UPDATE changed the row sends it. Two workers
handed the same row (a re-queue racing a retry) therefore send it once. The
claim is a lease: a worker that dies mid-send leaves a row another worker may
take once the lease has passed (at-least-once, never a duplicate while the
first worker lives).

Delivery uses its own database session, separate from any request's: it runs
after the request committed, and its commits are its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, aliased

from webapp.database import utcnow
from webapp.extensions import db
from webapp.notifications.models import Notification, PushSubscription
from webapp.notifications.providers import provider_for
from webapp.notifications.providers.base import (
    OutgoingMessage,
    PermanentSendError,
    RetryableSendError,
    SubscriptionGone,
)
from webapp.queue.models import Ticket

log = logging.getLogger(__name__)

# One patient's messages go in the order they were written: a row waits while an older one
# to the same patient on the same channel is still on its way (not in back-off), checking
# again every ORDER_RECHECK seconds, but never waits for a row older than ORDER_WAIT.
ORDER_RECHECK = 2
ORDER_WAIT = timedelta(minutes=2)
# A scheduled retry may run a moment early on a host whose clock is slightly ahead.
CLOCK_SLACK = timedelta(seconds=5)
# Error texts kept on a row are short.
MAX_ERROR_LENGTH = 500


def lease_seconds(config: Mapping[str, Any]) -> float:
    """How long a claim holds: longer than the slowest provider call can take."""
    slowest = max(float(config["SMS_GATEWAY_TIMEOUT"]), float(config["WEBPUSH_TIMEOUT"]))
    return 2 * slowest + 30


def retry_delay(
    attempts: int, config: Mapping[str, Any], retry_after: float | None = None
) -> float:
    """Exponential back-off: base × 2^(attempts−1) up to the maximum, never before Retry-After."""
    delay: float = min(
        config["NOTIFICATION_RETRY_SECONDS"] * 2 ** max(attempts - 1, 0),
        config["NOTIFICATION_RETRY_MAX_SECONDS"],
    )
    return max(delay, float(retry_after or 0))


def deliver(notification_id: int) -> str:
    """Send one row if it is due and nobody else is sending it.

    Returns what happened: ``sent``, ``retry`` (a retry is scheduled), ``failed``,
    ``waiting`` (an older message to the same patient goes first; checked again
    shortly) or ``skipped`` (already sent or failed, claimed by another worker, not
    due, gone).
    """
    config = current_app.config
    with Session(db.engine, expire_on_commit=False) as session:
        row = session.get(Notification, notification_id)
        if (
            row is not None
            and row.status == "pending"
            and _an_older_message_is_on_its_way(session, row)
        ):
            session.commit()
            from webapp.notifications.outbox import enqueue

            enqueue(notification_id, row.channel, delay=ORDER_RECHECK)
            return "waiting"
        notification = _claim(session, notification_id, lease_seconds(config))
        if notification is None:
            return "skipped"
        try:
            message = _message(session, notification)
            sent = provider_for(notification.channel, config).send(message)
        except SubscriptionGone as error:
            _forget_subscription(session, notification)
            return _fail(session, notification, str(error))
        except PermanentSendError as error:
            return _fail(session, notification, str(error))
        except RetryableSendError as error:
            return _retry_or_fail(session, notification, str(error), error.retry_after, config)
        except Exception as error:  # a bug or an unforeseen library error: retry, keep the type
            log.exception("Unexpected error sending notification %s", notification_id)
            text = f"Unexpected error: {type(error).__name__}"
            return _retry_or_fail(session, notification, text, None, config)
        _finish(
            session,
            notification,
            status="sent",
            sent_at=utcnow(),
            provider_message_id=(sent.provider_message_id or "")[:128] or None,
            last_error=None,
        )
        log.info("Sent notification %s (%s)", notification.id, notification.channel)
        return "sent"


def _an_older_message_is_on_its_way(session: Session, row: Notification) -> bool:
    """Whether an older message to the same patient, same channel, is still to be sent."""
    older = aliased(Notification)
    return (
        session.scalar(
            select(older.id)
            .where(
                older.patient_id == row.patient_id,
                older.channel == row.channel,
                older.id < row.id,
                older.status == "pending",
                older.next_attempt_at.is_(None),  # one in back-off does not hold the others
                older.created_at > utcnow() - ORDER_WAIT,
            )
            .limit(1)
        )
        is not None
    )


def _claim(session: Session, notification_id: int, lease: float) -> Notification | None:
    now = utcnow()
    claimed = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == "pending",
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
            or_(
                Notification.next_attempt_at.is_(None),
                Notification.next_attempt_at <= now + CLOCK_SLACK,
            ),
        )
        .values(
            claimed_until=now + timedelta(seconds=lease),
            attempts=Notification.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Notification, notification_id, populate_existing=True)


def _message(session: Session, notification: Notification) -> OutgoingMessage:
    """What to send, checked again at sending time (consent may have been withdrawn)."""
    if notification.channel == "sms":
        patient = notification.patient
        if not (patient.sms_opt_in and patient.phone):
            raise PermanentSendError(
                "Not sent: the patient no longer has SMS consent or a phone number."
            )
        return OutgoingMessage(
            notification_id=notification.id, channel="sms", body=notification.body, to=patient.phone
        )
    subscription = (
        session.get(PushSubscription, notification.push_subscription_id)
        if notification.push_subscription_id is not None
        else None
    )
    ticket = session.get(Ticket, notification.ticket_id) if notification.ticket_id else None
    if subscription is None or ticket is None:
        raise PermanentSendError("Not sent: the browser's push subscription was removed.")
    return OutgoingMessage(
        notification_id=notification.id,
        channel="push",
        body=notification.body,
        title=f"Ticket {ticket.number}",
        url=f"/t/{ticket.status_token}",
        subscription=subscription.as_webpush_info(),
    )


def _forget_subscription(session: Session, notification: Notification) -> None:
    session.execute(
        delete(PushSubscription).where(PushSubscription.id == notification.push_subscription_id)
    )


def _fail(session: Session, notification: Notification, error: str) -> str:
    _finish(session, notification, status="failed", last_error=error[:MAX_ERROR_LENGTH])
    log.warning("Notification %s failed: %s", notification.id, error[:MAX_ERROR_LENGTH])
    return "failed"


def _retry_or_fail(
    session: Session,
    notification: Notification,
    error: str,
    retry_after: float | None,
    config: Mapping[str, Any],
) -> str:
    if notification.attempts >= config["NOTIFICATION_MAX_ATTEMPTS"]:
        return _fail(session, notification, error)
    delay = retry_delay(notification.attempts, config, retry_after)
    due: datetime = utcnow() + timedelta(seconds=delay)
    _finish(
        session,
        notification,
        status="pending",
        next_attempt_at=due,
        last_error=error[:MAX_ERROR_LENGTH],
    )
    log.info(
        "Notification %s: attempt %d failed, retrying in %d s",
        notification.id,
        notification.attempts,
        delay,
    )
    from webapp.notifications.outbox import enqueue

    enqueue(notification.id, notification.channel, delay=delay)
    return "retry"


def _finish(session: Session, notification: Notification, **values: Any) -> None:
    """Record the outcome and release the claim."""
    session.execute(
        update(Notification)
        .where(Notification.id == notification.id)
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
